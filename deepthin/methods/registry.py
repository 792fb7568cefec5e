"""Method registry: every method name and its kind, so nothing else in the package lists them.

Two kinds. A *per-matrix* method is a :class:`WeightMethod` subclass in its own module under
``deepthin/methods/``, registered by :func:`register` when ``deepthin/methods/__init__.py`` imports
that module. A *model-level* method changes the whole model instead of one matrix (hand-tuned: a
narrower network, built through the experiment's strategy interface). Its code lives in
``deepthin.experiment``, a layer above this package (which imports nothing above
``validation.py``, see the README's import table), so it is registered by name plus the object
that builds its model (:func:`register_model_method`, a dotted path, never imported here): a name
and a pointer are all that ``deepthin.METHODS`` and the error for a model-level name given where a
per-matrix one is needed use. Registering it from ``deepthin.experiment`` instead would leave it
out of ``deepthin.METHODS`` until that package happened to be imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deepthin.methods.base import WeightMethod
from deepthin.validation import check_choice


@dataclass(frozen=True)
class ModelMethod:
    """A model-level method: its name and the dotted path of what builds its model."""

    name: str
    built_by: str


_WEIGHT: dict[str, type[WeightMethod]] = {}
_MODEL: dict[str, ModelMethod] = {}


def _check_new(name: str) -> None:
    if not name or name in _WEIGHT or name in _MODEL:
        raise ValueError(f"method name {name!r} is empty or already registered")


def register(cls: type[WeightMethod]) -> type[WeightMethod]:
    """Class decorator: make the per-matrix method ``cls`` available under ``cls.name``."""
    _check_new(cls.name)
    _WEIGHT[cls.name] = cls
    return cls


def register_model_method(name: str, built_by: str) -> None:
    """Register the model-level method ``name``, whose model ``built_by`` (a dotted path) builds."""
    _check_new(name)
    _MODEL[name] = ModelMethod(name, built_by)


def weight_methods() -> tuple[str, ...]:
    """Names of the registered per-matrix methods, sorted (import order is not a contract)."""
    return tuple(sorted(_WEIGHT))


def all_methods() -> tuple[str, ...]:
    """Every registered name: the per-matrix methods, then the model-level ones, each sorted."""
    return weight_methods() + tuple(sorted(_MODEL))


def get_method(name: str) -> type[WeightMethod]:
    """The class registered as ``name``; a clear error for model-level or unknown names."""
    if name in _MODEL:
        raise ValueError(
            f"method {name!r} changes the whole model, not one weight matrix; build its model with "
            f"{_MODEL[name].built_by}; per-matrix methods: {', '.join(weight_methods())}"
        )
    return _WEIGHT[check_choice("method", name, weight_methods())]


def make_method(name: str, shape: tuple[int, int], ratio: float, **options) -> WeightMethod:
    """Instantiate method ``name`` for a matrix of ``shape`` at ``ratio``."""
    return get_method(name)(shape, ratio, **options)


def variants(paths: bool = False) -> tuple[tuple[str, str, dict[str, Any]], ...]:
    """``(label, method, options)`` for each variant of each per-matrix method, for the tools that
    compare them all; ``paths``: each inference path worth timing instead (see
    :class:`~deepthin.methods.traits.MethodTraits`)."""
    listed = {name: cls.inference_variants() if paths else cls.variants() for name, cls in _WEIGHT.items()}
    return tuple((label, name, options)
                 for name in weight_methods() for label, options in listed[name].items())
