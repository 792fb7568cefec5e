"""Size accounting: what a model stores, matrix by matrix and in total."""

from __future__ import annotations

from collections.abc import Iterator

import keras
import numpy as np
import pandas as pd

from deepthin.layers.base import CompressedLayerMixin
from deepthin.methods.base import WeightMethod

#: Relative deviation from the target ratio beyond which a row is flagged.
RATIO_TOLERANCE = 0.02

COLUMNS = [
    "layer", "method", "shape", "original_params", "stored_params", "ratio",
    "target_ratio", "stored_params_with_index", "note",
]


def compressed_layers(model: keras.Model) -> Iterator[CompressedLayerMixin]:
    """Every compressed layer in ``model``, nested models and wrappers included."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, CompressedLayerMixin):
            yield layer


def matrix_row(layer_name: str, matrix: WeightMethod, fit_error: float | None = None) -> dict:
    """One size-report row for one compressed matrix (``fit_error``: set when it was fitted)."""
    return {
        "layer": layer_name,
        "method": matrix.name,
        "shape": f"{matrix.shape[0]}x{matrix.shape[1]}",
        "original_params": matrix.original_params,
        "stored_params": matrix.stored_params(),
        "ratio": matrix.achieved_ratio,
        "target_ratio": matrix.target_ratio,
        "stored_params_with_index": matrix.stored_params_with_index(),
        "note": matrix.ratio_note(RATIO_TOLERANCE),
        "fit_error": fit_error,
    }


def size_report(model: keras.Model) -> pd.DataFrame:
    """One row per compressed weight matrix, then a ``total`` row.

    ``ratio`` is stored / original parameters of that matrix (of all listed
    matrices in the total row); ``target_ratio`` the ratio its layer was given
    (per layer when a budget was allocated). Uncompressed layers are not
    listed; see :func:`model_stored_params` for the whole model. A model
    compressed with ``init="fit"`` has one more column, ``fit_error``: each
    matrix's relative error ``||W - W_hat||_F / ||W||_F`` when it was fitted
    to the trained kernel ``W`` (before any fine-tuning).
    """
    rows = [
        matrix_row(f"{layer.name}/{key}", matrix, layer.fit_errors.get(key))
        for layer in compressed_layers(model)
        for key, matrix in layer.matrices.items()
    ]
    fitted = any(row["fit_error"] is not None for row in rows)
    columns = COLUMNS + ["fit_error"] if fitted else COLUMNS
    frame = pd.DataFrame(rows, columns=columns)
    original = int(frame["original_params"].sum())
    stored = int(frame["stored_params"].sum())
    total = {
        "layer": "total", "method": "", "shape": "",
        "original_params": original,
        "stored_params": stored,
        "ratio": stored / original if original else float("nan"),
        "target_ratio": float("nan"),
        "stored_params_with_index": int(frame["stored_params_with_index"].sum()),
        "note": "",
        "fit_error": None,
    }
    return pd.concat([frame, pd.DataFrame([total], columns=columns)], ignore_index=True)


def model_stored_params(model: keras.Model) -> int:
    """Parameters the whole model stores: compressed matrices count what they
    store, every other weight (biases, norms, uncompressed layers) counts in
    full, and bookkeeping state of methods (masks, step counters) not at all."""
    owned: set[int] = set()
    stored = 0
    for layer in compressed_layers(model):
        for matrix in layer.matrices.values():
            owned.update(id(v) for v in matrix.variables)
            stored += matrix.stored_params()
    for variable in model.weights:
        if id(variable) not in owned:
            stored += int(np.prod(variable.shape))
    return stored
