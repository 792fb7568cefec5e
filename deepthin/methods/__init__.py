"""Weight-compression methods, one module each, registered by name."""

from deepthin.methods import deepthin, dense, hashednet, lowrank, pruning  # noqa: F401  (register)
from deepthin.methods.base import WeightMethod
from deepthin.methods.registry import MODEL_METHODS, get_method, make_method, weight_methods

#: Every method name: the per-matrix ones, then the model-level ``handtuned``.
METHODS: tuple[str, ...] = weight_methods() + MODEL_METHODS

__all__ = ["METHODS", "WeightMethod", "get_method", "make_method", "weight_methods"]
