"""Weight-compression methods, one module each, registered by name (:mod:`deepthin.methods.registry`).

The registry lines: importing a per-matrix method's module registers it; a model-level method is
registered by name and builder.
"""

from deepthin.methods import deepthin, dense, hashednet, lowrank, pruning  # noqa: F401  (register)
from deepthin.methods.base import WeightMethod
from deepthin.methods.registry import (
    all_methods,
    get_method,
    make_method,
    register_model_method,
    variants,
    weight_methods,
)

register_model_method("handtuned", built_by="deepthin.experiment.handtuned.solve_width")

#: Every method name: the per-matrix ones, then the model-level ones.
METHODS: tuple[str, ...] = all_methods()

__all__ = ["METHODS", "WeightMethod", "get_method", "make_method", "variants", "weight_methods"]
