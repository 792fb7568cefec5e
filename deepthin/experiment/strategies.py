"""How an experiment turns a recipe's model builder into the model to train.

One small interface, :class:`Strategy`, mirrored by one Hydra file per method
in ``conf/method/``. Every strategy receives the same context (builder,
ratio, layers to compress, total training steps), so method-specific needs,
such as options that depend on the run's length, are met here and never by
branches in the trainer; a per-matrix method meets them in its own module
(:meth:`~deepthin.methods.traits.MethodTraits.run_options`), so adding one
needs no edit here.
It returns the model with the size it must store (:class:`Built`): both come
from the one uncompressed model it builds, which at the paper's sizes is not cheap.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import keras

from deepthin.compress import compress
from deepthin.experiment.handtuned import compressed_budget, solve_width
from deepthin.methods.registry import get_method

#: ``builder(width=None) -> keras.Model``: the recipe's uncompressed model.
Builder = Callable[..., keras.Model]


class Built(NamedTuple):
    """A strategy's model and its budget."""

    model: keras.Model
    #: Total parameters the model should store at ``ratio``: the fairness check's target.
    target_params: int
    #: Parameters of the recipe's uncompressed model: what ``model_ratio`` divides by.
    dense_params: int


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
        return Built(model, model.count_params(), model.count_params())

    def details(self, total_steps: int) -> dict[str, Any]:
        return {}


class PerMatrix:
    """A registered per-matrix method on the selected layers.

    ``name`` is what results, run directories and the report call the method; ``method`` is the
    registry's method it compresses with (default: ``name``). They differ for a variant that is a
    method with fixed options, such as ``deepthin-aligned`` (``deepthin`` with ``policy: aligned``),
    which must never share a run directory or a report line with the method it varies. ``options``
    are the config's; the method turns them into each layer's for the run's length
    (:meth:`~deepthin.methods.traits.MethodTraits.run_options`).
    """

    def __init__(self, name: str, method: str | None = None, **options: Any) -> None:
        self.name = name
        self.method = method or name
        self.options = options

    def method_options(self, total_steps: int) -> dict[str, Any]:
        """The options every compressed layer gets in a run of ``total_steps`` training steps."""
        return get_method(self.method).run_options(self.options, total_steps)

    def build(self, builder: Builder, ratio: float, layers: str, total_steps: int, init: str = "random",
              layer_ratios: dict[str, float] | None = None) -> Built:
        base = builder()
        model = compress(base, self.method, layer_ratios or ratio, layers, init=init,
                         **self.method_options(total_steps))
        return Built(model, compressed_budget(base, ratio, layers), base.count_params())

    def details(self, total_steps: int) -> dict[str, Any]:
        """The options every compressed layer got, as the method records them."""
        return get_method(self.method).run_details(self.options, total_steps)


class HandTuned:
    """The same architecture, narrowed until it stores what the compressed models store.

    ``hidden_layers`` (default ``None``: the recipe's depth) builds the narrower network at another
    depth, for the limit study's search over depth and width (``conf/method/handtuned_depth.yaml``).
    The budget is still the recipe's own model at ``ratio``: a shallower net must meet the same
    stored size as every compressed model of the recipe, not a smaller one of its own.
    """

    def __init__(self, name: str = "handtuned", hidden_layers: int | None = None) -> None:
        self.name = name
        self.hidden_layers = hidden_layers
        self.width: int | None = None  # set by build: the width that meets the budget

    def build(self, builder: Builder, ratio: float, layers: str, total_steps: int, init: str = "random",
              layer_ratios: dict[str, float] | None = None) -> Built:
        if init != "random" or layer_ratios is not None:
            raise ValueError(f"method {self.name} trains a narrower network from scratch; allowed: "
                             "init=random and allocate=uniform")
        base = builder()
        target = compressed_budget(base, ratio, layers)
        narrowed = self._narrowed(builder)
        self.width = solve_width(narrowed, target)
        return Built(narrowed(self.width), target, base.count_params())

    def _narrowed(self, builder: Builder) -> Builder:
        """``width -> model``: the recipe's model at ``width``, at depth ``hidden_layers`` when given."""
        depth = self.hidden_layers
        if depth is None:
            return lambda width: builder(width=width)
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"method.hidden_layers={depth!r} is not a depth; allowed: a whole number >= 1")
        parameters = inspect.signature(builder).parameters
        if "hidden_layers" not in parameters and not any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            raise ValueError(f"method.hidden_layers={depth}: this recipe's model has no hidden_layers; "
                             "allowed: a recipe whose builder takes hidden_layers (model=tfkaldi)")
        return lambda width: builder(width=width, hidden_layers=depth)

    def details(self, total_steps: int) -> dict[str, Any]:
        """The width the budget allowed, and the depth where it is not the recipe's."""
        depth = {} if self.hidden_layers is None else {"hidden_layers": self.hidden_layers}
        return {**depth, "width": self.width}
