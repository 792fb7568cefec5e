"""Keras 3 layers whose weight matrices are stored and trained in compressed form."""

from deepthin.layers.dense import CompressedDense
from deepthin.layers.lstm import CompressedLSTM

__all__ = ["CompressedDense", "CompressedLSTM"]
