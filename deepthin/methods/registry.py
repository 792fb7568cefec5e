"""Method registry: each method module registers its class under its name."""

from __future__ import annotations

from deepthin.methods.base import WeightMethod
from deepthin.validation import check_choice

_REGISTRY: dict[str, type[WeightMethod]] = {}

#: Methods that act on a whole model rather than on one weight matrix.
MODEL_METHODS: tuple[str, ...] = ("handtuned",)


def register(cls: type[WeightMethod]) -> type[WeightMethod]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    if not cls.name or cls.name in _REGISTRY:
        raise ValueError(f"method name {cls.name!r} is empty or already registered")
    _REGISTRY[cls.name] = cls
    return cls


def weight_methods() -> tuple[str, ...]:
    """Names of the registered per-matrix methods, sorted (import order is not a contract)."""
    return tuple(sorted(_REGISTRY))


def get_method(name: str) -> type[WeightMethod]:
    """The class registered as ``name``; a clear error for model-level or unknown names."""
    if name in MODEL_METHODS:
        raise ValueError(
            f"method {name!r} changes the whole model, not one weight matrix; build the "
            "narrower model with deepthin.experiment.handtuned.solve_width; per-matrix methods: "
            f"{', '.join(weight_methods())}"
        )
    return _REGISTRY[check_choice("method", name, weight_methods())]


def make_method(name: str, shape: tuple[int, int], ratio: float, **options) -> WeightMethod:
    """Instantiate method ``name`` for a matrix of ``shape`` at ``ratio``."""
    return get_method(name)(shape, ratio, **options)
