"""What tools outside a layer ask of a method, answered by the method so that none of them names it.

The ratio table and the benchmarks compare every method's :meth:`~MethodTraits.variants` (and
time its :meth:`~MethodTraits.inference_variants`); benchmarks and exports of untrained models
first put each matrix in the state a finished training run leaves
(:meth:`~MethodTraits.apply_final_state`); the LiteRT exporter (:mod:`deepthin.export`) asks for
the inference path whose converted graph stays compressed (:meth:`~MethodTraits.export_options`),
whether the converter's sparsity pass is needed (:attr:`~MethodTraits.export_sparse`) and whether
the file ends up holding ``W`` itself (:attr:`~MethodTraits.exports_dense_kernel`); an experiment
(:class:`~deepthin.experiment.strategies.PerMatrix`) asks for the options each layer of a run gets
(:meth:`~MethodTraits.run_options`) and for what ``results.json`` records of them
(:meth:`~MethodTraits.run_details`).
:class:`~deepthin.methods.base.WeightMethod` inherits these defaults, so a new method overrides
only what differs for it, and adding one needs no edit in those tools.
"""

from __future__ import annotations

from typing import Any, ClassVar


class MethodTraits:
    """Defaults for the questions in the module doc: one variant, nothing special at export."""

    name: ClassVar[str] = ""
    #: Whether the export needs the converter's sparsity pass (``EXPERIMENTAL_SPARSITY``) to store
    #: this method's kernel in sparse form. The pass rewrites *every* constant with enough zeros, and
    #: on a zero-padded factor inside an LSTM loop it gave wrong logits (LiteRT 2.3), so a model gets
    #: it only when one of its methods needs it.
    export_sparse: ClassVar[bool] = False

    @classmethod
    def variants(cls) -> dict[str, dict[str, Any]]:
        """Option sets compared side by side, by label: one per storage layout (default: the method)."""
        return {cls.name: {}}

    @classmethod
    def inference_variants(cls) -> dict[str, dict[str, Any]]:
        """Option sets of the inference paths ``deepthin-bench`` times, by label (default: the variants)."""
        return cls.variants()

    @classmethod
    def export_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Options overriding a layer's ``options`` at export: the inference path whose converted graph
        stays compressed, because the converter stores every tensor the graph reads (default: none)."""
        return {}

    @classmethod
    def run_options(cls, options: dict[str, Any], total_steps: int) -> dict[str, Any]:
        """The options every compressed layer of a training run of ``total_steps`` steps gets, from the
        options its ``conf/method/*.yaml`` gives: a config may state what depends on the run's length
        relative to it, so that one config fits every corpus and epoch count (default: as given)."""
        return dict(options)

    @classmethod
    def run_details(cls, options: dict[str, Any], total_steps: int) -> dict[str, Any]:
        """What ``results.json`` records of how the layers were built (``method_details``): the layer
        options, and whatever a reader of old and new results needs to tell them apart (default: the
        layer options)."""
        return cls.run_options(options, total_steps)

    @property
    def exports_dense_kernel(self) -> bool:
        """Whether the exported graph holds ``W`` materialized, for want of a compressed form a graph op
        can run (the export reports it, since the file is then as large as a dense one)."""
        return False

    def apply_final_state(self) -> None:
        """Put the matrix in the state a finished training run leaves it in (default: it already is)."""
