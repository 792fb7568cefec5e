"""Experiments: train, evaluate and record one (model, method, ratio) on speech.

Data flows one way: :mod:`deepthin.experiment.run` composes the Hydra config,
builds the corpus, the recipe's model and the method's variant of it, hands
the model to :class:`~deepthin.experiment.trainer.Trainer`, then to
:func:`~deepthin.experiment.evaluate.evaluate`, and writes ``results.json``.
"""
