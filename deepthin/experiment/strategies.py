"""How an experiment turns a recipe's model builder into the model to train.

One small interface, :class:`Strategy`, mirrored by one Hydra file per method
in ``conf/method/``. Every strategy receives the same context (builder,
ratio, layers to compress, total training steps), so method-specific needs,
such as pruning's schedule, are met here and never by branches in the trainer.
It returns the model with the size it must store (:class:`Built`): both come
from the one uncompressed model it builds, which at the paper's sizes is not cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import keras

from deepthin.compress import compress
from deepthin.experiment.handtuned import compressed_budget, solve_width
from deepthin.methods.pruning import STEP_CONVENTION

#: ``builder(width=None) -> keras.Model``: the recipe's uncompressed model.
Builder = Callable[..., keras.Model]


class Built(NamedTuple):
    """A strategy's model and its budget."""

    model: keras.Model
    #: Total parameters the model should store at ``ratio``: the fairness check's target.
    target_params: int


class Strategy(Protocol):
    name: str

    def build(self, builder: Builder, ratio: float, layers: str, total_steps: int, init: str = "random",
              layer_ratios: dict[str, float] | None = None) -> Built:
        """The model this method trains for a ``ratio`` compression of ``layers``, and its budget.

        ``init``: how the compressed layers start (see :func:`deepthin.compress`); ``layer_ratios``: an
        allocated budget, one ratio per layer that together store ``ratio`` (the budget stays ``ratio``'s).
        """

    def details(self, total_steps: int) -> dict[str, Any]:
        """What ``results.json`` records of how the model was built (``method_details``)."""


class Uncompressed:
    """The dense baseline: the recipe's model as it is (plain Keras layers)."""

    def __init__(self, name: str = "dense") -> None:
        self.name = name

    def build(self, builder: Builder, ratio: float, layers: str, total_steps: int, init: str = "random",
              layer_ratios: dict[str, float] | None = None) -> Built:
        model = builder()  # with from_run, the trained model: "fitting" dense is the identity
        return Built(model, model.count_params())

    def details(self, total_steps: int) -> dict[str, Any]:
        return {}


class PerMatrix:
    """A per-matrix method (``deepthin``, ``lowrank``, ``hashednet``) on the selected layers.

    ``name`` is what results, run directories and the report call the method; ``method`` is the
    registry's method it compresses with (default: ``name``). They differ for a variant that is a
    method with fixed options, such as ``deepthin-aligned`` (``deepthin`` with ``policy: aligned``),
    which must never share a run directory or a report line with the method it varies.
    """

    def __init__(self, name: str, method: str | None = None, **options: Any) -> None:
        self.name = name
        self.method = method or name
        self.options = options

    def method_options(self, total_steps: int) -> dict[str, Any]:
        return dict(self.options)

    def build(self, builder: Builder, ratio: float, layers: str, total_steps: int, init: str = "random",
              layer_ratios: dict[str, float] | None = None) -> Built:
        base = builder()
        model = compress(base, self.method, layer_ratios or ratio, layers, init=init,
                         **self.method_options(total_steps))
        return Built(model, compressed_budget(base, ratio, layers))

    def details(self, total_steps: int) -> dict[str, Any]:
        """The options every compressed layer got."""
        return self.method_options(total_steps)


class Pruning(PerMatrix):
    """Gradual magnitude pruning whose schedule is a fraction of the training run.

    ``begin_fraction``/``end_fraction`` place Zhu & Gupta's ramp within the
    run, so the same config prunes correctly whatever the corpus size. Steps
    follow TFMOT's convention (:mod:`deepthin.methods.pruning`): a run of
    ``total_steps`` batches runs steps ``1..total_steps``. The ramp begins at
    ``begin_step = int(begin_fraction * total_steps)``; with
    ``span = int(end_fraction * total_steps) - begin_step`` (at least 1) and
    ``frequency = span // updates`` (at least 1), it ends at the last update
    step within the span, ``end_step = begin_step + (span // frequency) *
    frequency``: at least ``updates`` updates, the last at ``end_step <=
    total_steps``. So the final sparsity is reached within the run by TFMOT's
    own rule (``end_step`` lies on the ``frequency`` grid and
    ``prune_at_end_step`` changes nothing), at most ``frequency - 1`` steps
    before ``end_fraction`` of the run.

    ``fit_mode`` (``init=fit``): ``oneshot`` prunes the fitted kernel at once, ``gradual`` lets the
    schedule prune it during fine-tuning (:mod:`deepthin.methods.pruning`); set it with
    ``+method.fit_mode=gradual``.
    """

    def __init__(self, name: str = "pruning", begin_fraction: float = 0.0, end_fraction: float = 0.7,
                 updates: int = 20, fit_mode: str = "oneshot") -> None:
        super().__init__(name)
        if not 0.0 <= begin_fraction < end_fraction <= 1.0 or updates < 1:
            raise ValueError(
                f"pruning begin_fraction={begin_fraction}, end_fraction={end_fraction}, updates={updates} "
                "is invalid; allowed: 0 <= begin_fraction < end_fraction <= 1, updates >= 1"
            )
        self.begin_fraction, self.end_fraction, self.updates = begin_fraction, end_fraction, updates
        self.fit_mode = fit_mode

    def method_options(self, total_steps: int) -> dict[str, Any]:
        begin = int(self.begin_fraction * total_steps)
        span = max(1, int(self.end_fraction * total_steps) - begin)
        frequency = max(1, span // self.updates)
        end = begin + span // frequency * frequency
        schedule = {"begin_step": begin, "end_step": end, "frequency": frequency}
        # the method's default is oneshot: recorded only when it differs, as runs before fitting had none
        return schedule if self.fit_mode == "oneshot" else {**schedule, "fit_mode": self.fit_mode}

    def details(self, total_steps: int) -> dict[str, Any]:
        """The schedule in steps and its step convention (runs without it predate TFMOT's)."""
        return {**self.method_options(total_steps), "step_convention": STEP_CONVENTION}


class HandTuned:
    """The same architecture, narrowed until it stores what the compressed models store."""

    def __init__(self, name: str = "handtuned") -> None:
        self.name = name

    def build(self, builder: Builder, ratio: float, layers: str, total_steps: int, init: str = "random",
              layer_ratios: dict[str, float] | None = None) -> Built:
        if init != "random" or layer_ratios is not None:
            raise ValueError(f"method {self.name} trains a narrower network from scratch; allowed: "
                             "init=random and allocate=uniform")
        target = compressed_budget(builder(), ratio, layers)
        return Built(builder(width=solve_width(lambda w: builder(width=w), target)), target)

    def details(self, total_steps: int) -> dict[str, Any]:
        return {}
