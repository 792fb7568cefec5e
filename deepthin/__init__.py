"""deepthin: Keras 3 layers that store and train their weight matrices compressed.

Public API: :func:`compress`, :func:`size_report`, :data:`METHODS`, the layers
in :mod:`deepthin.layers`, and :mod:`deepthin.experiment.handtuned`.

Importing the package imports no TensorFlow: each public name (and each subpackage, e.g.
``deepthin.layers``) is imported on first use (PEP 562), so a tool can set TensorFlow's environment
(read once, when it loads) before anything loads it, and ``deepthin-report`` never loads it.
:mod:`deepthin._lazy` keeps what the eager import gave: a quiet TensorFlow start-up, and the layers
registered with Keras as soon as Keras loads.
"""

import importlib
import os
import sys
import types
from typing import TYPE_CHECKING, Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ log lines (notices such as oneDNN's DT_BOOL fallback, logged at ERROR level) are
# noise to a user of this package; TF_CPP_MIN_LOG_LEVEL=0 brings them back.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: Each public name and the module that defines it.
_EXPORTS = {
    "METHODS": "deepthin.methods",
    "CompressedDense": "deepthin.layers",
    "CompressedLSTM": "deepthin.layers",
    "compress": "deepthin.compress",
    "for_inference": "deepthin.inference",
    "model_stored_params": "deepthin.size",
    "size_report": "deepthin.size",
}
__all__ = [
    "METHODS",
    "CompressedDense",
    "CompressedLSTM",
    "compress",
    "for_inference",
    "model_stored_params",
    "size_report",
]
__version__ = "0.1.0"

if TYPE_CHECKING:  # what static tools see; at run time the names come from __getattr__
    from deepthin.compress import compress
    from deepthin.inference import for_inference
    from deepthin.layers import CompressedDense, CompressedLSTM
    from deepthin.methods import METHODS
    from deepthin.size import model_stored_params, size_report


def __getattr__(name: str) -> Any:
    """A public name or a subpackage, imported on first use and kept."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    else:
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise  # a submodule that exists but whose own import failed
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """This package, whose public names win over its submodules of the same name.

    Importing ``deepthin.compress`` (the module) sets the package's ``compress`` to it, hiding the
    function of that name, which the eager import used to set last; here the function is kept.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


from deepthin import _lazy  # noqa: E402  (after the environment above, which TensorFlow reads)

_lazy.install()
