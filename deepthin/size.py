"""Size accounting: what a model stores, matrix by matrix and in total.

Sizes are bytes: everything needed to rebuild the weights (:meth:`WeightMethod.stored_bytes`), so
that a method storing indices (pruning) pays for them. A ratio is a ratio of stored bytes; for a
method storing float32 values only it is the ratio of parameters. Pruning's bytes depend on how its
indices are laid out (:mod:`deepthin.methods.pruning_index`): ``stored_bytes`` counts each matrix's
own layout, ``stored_bytes_flat_int32`` and ``stored_bytes_relative_int16`` both standard ones
(equal to ``stored_bytes`` for a method without indices).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import keras
import numpy as np
import pandas as pd

from deepthin.layers.base import CompressedLayerMixin
from deepthin.methods.base import RATIO_TOLERANCE, VALUE_BYTES, WeightMethod

#: The columns of stored bytes in each standard index layout, with the layout they count.
LAYOUT_COLUMNS = {"stored_bytes_flat_int32": "flat32", "stored_bytes_relative_int16": "relative16"}

COLUMNS = [
    "layer", "method", "shape", "original_params", "stored_params", "stored_bytes",
    *LAYOUT_COLUMNS, "ratio", "target_ratio", "note",
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
        "stored_bytes": matrix.stored_bytes(),
        **{column: matrix.stored_bytes(layout) for column, layout in LAYOUT_COLUMNS.items()},
        "ratio": matrix.achieved_ratio,
        "target_ratio": matrix.target_ratio,
        "note": matrix.ratio_note(RATIO_TOLERANCE),
        "fit_error": fit_error,
    }


def size_report(model: keras.Model) -> pd.DataFrame:
    """One row per compressed weight matrix, then a ``total`` row.

    ``ratio`` is stored bytes over the dense float32 matrix's (of all listed
    matrices in the total row); ``target_ratio`` the ratio its layer was given
    (per layer when a budget was allocated). Uncompressed layers are not
    listed; see :func:`model_stored_bytes` for the whole model. A model
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
    summed = ["original_params", "stored_params", "stored_bytes", *LAYOUT_COLUMNS]
    total = {
        "layer": "total", "method": "", "shape": "",
        **{column: int(frame[column].sum()) for column in summed},
        "target_ratio": float("nan"),
        "note": "",
        "fit_error": None,
    }
    original_bytes = VALUE_BYTES * total["original_params"]
    total["ratio"] = total["stored_bytes"] / original_bytes if original_bytes else float("nan")
    return pd.concat([frame, pd.DataFrame([total], columns=columns)], ignore_index=True)


def model_stored_params(model: keras.Model) -> int:
    """Parameters the whole model stores: compressed matrices count what they
    store, every other weight (biases, norms, uncompressed layers) counts in
    full, and bookkeeping state of methods (masks, step counters) not at all."""
    return _model_stored(model, lambda matrix: matrix.stored_params(), 1)


def model_stored_bytes(model: keras.Model, index_layout: str | None = None) -> int:
    """Bytes the whole model stores: as :func:`model_stored_params`, with each compressed matrix's
    :meth:`~WeightMethod.stored_bytes` (indices in ``index_layout``, default each matrix's own) and
    every other weight as float32. The budget of a run at ``ratio`` is this many bytes."""
    return _model_stored(model, lambda matrix: matrix.stored_bytes(index_layout), VALUE_BYTES)


def _model_stored(model: keras.Model, matrix_size: Callable[[WeightMethod], int], per_weight: int) -> int:
    """``matrix_size`` of every compressed matrix plus ``per_weight`` for each entry of every other
    weight; the variables of compressed matrices (masks, step counters included) count only there."""
    owned: set[int] = set()
    stored = 0
    for layer in compressed_layers(model):
        for matrix in layer.matrices.values():
            owned.update(id(v) for v in matrix.variables)
            stored += matrix_size(matrix)
    for variable in model.weights:
        if id(variable) not in owned:
            stored += per_weight * int(np.prod(variable.shape))
    return stored
