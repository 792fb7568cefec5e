"""deepthin: Keras 3 layers that store and train their weight matrices compressed.

Public API: :func:`compress`, :func:`size_report`, :data:`METHODS`, the layers
in :mod:`deepthin.layers`, and :mod:`deepthin.handtuned`.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # keep TensorFlow's start-up info off the console

from deepthin.compress import compress  # noqa: E402
from deepthin.inference import for_inference  # noqa: E402
from deepthin.layers import CompressedDense, CompressedLSTM  # noqa: E402
from deepthin.methods import METHODS  # noqa: E402
from deepthin.report import model_stored_params, size_report  # noqa: E402

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
