"""deepthin: Keras 3 layers that store and train their weight matrices compressed.

Public API: :func:`compress`, :func:`size_report`, :data:`METHODS`, the layers
in :mod:`deepthin.layers`, and :mod:`deepthin.experiment.handtuned`.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ log lines (notices such as oneDNN's DT_BOOL fallback, logged at ERROR level) are
# noise to a user of this package; TF_CPP_MIN_LOG_LEVEL=0 brings them back.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from deepthin._quiet import startup_notices_dropped  # noqa: E402

with startup_notices_dropped():
    import tensorflow  # noqa: E402, F401  (imported first, here, for its notices to be dropped)

from deepthin.compress import compress  # noqa: E402
from deepthin.inference import for_inference  # noqa: E402
from deepthin.layers import CompressedDense, CompressedLSTM  # noqa: E402
from deepthin.methods import METHODS  # noqa: E402
from deepthin.size import model_stored_params, size_report  # noqa: E402

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
