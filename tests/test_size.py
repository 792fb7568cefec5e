"""Size accounting in bytes: every method counts what rebuilding its weights needs (issue 27)."""

import keras
import numpy as np
import pytest

from deepthin.compress import compress
from deepthin.size import compressed_layers, model_stored_bytes, model_stored_params, size_report


def two_layer_model() -> keras.Model:
    return keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, name="h"),
                             keras.layers.Dense(4, name="o")])


def finished(model: keras.Model) -> keras.Model:
    """``model`` as a finished run leaves it (pruning: its final mask)."""
    for layer in compressed_layers(model):
        for matrix in layer.matrices.values():
            matrix.apply_final_state()
    return model


def test_pruning_rows_count_values_and_indices_in_each_layout():
    model = finished(compress(two_layer_model(), "pruning", 0.1, layers=["h"]))
    report = size_report(model)
    row, total = report.iloc[0], report.iloc[-1]
    kept = int(np.count_nonzero(model.get_layer("h").kernel_matrix.mask.numpy()))
    assert row["stored_params"] == kept == round(0.1 * 64 * 256 * 4 / 6)  # what 6 bytes each buy
    assert row["stored_bytes"] == row["stored_bytes_relative_int16"] == 6 * kept  # gaps < 65536: no filler
    assert row["stored_bytes_flat_int32"] == 8 * kept
    assert row["ratio"] == pytest.approx(0.1, rel=0.02) and row["ratio"] == 6 * kept / (4 * 64 * 256)
    for column in ("original_params", "stored_params", "stored_bytes", "stored_bytes_flat_int32"):
        assert total[column] == row[column]
    others = 256 + 256 * 4 + 4  # h's bias and the uncompressed layer, float32
    assert model_stored_params(model) == kept + others
    assert model_stored_bytes(model) == 6 * kept + 4 * others
    assert model_stored_bytes(model, "flat32") == 8 * kept + 4 * others
    assert model_stored_bytes(model, "none") == 4 * model_stored_params(model)


@pytest.mark.parametrize("method", ["deepthin", "lowrank", "hashednet", "dense"])
def test_float32_methods_store_four_bytes_a_parameter_in_every_layout(method):
    model = compress(two_layer_model(), method, 0.1)
    report = size_report(model)
    for column in ("stored_bytes", "stored_bytes_flat_int32", "stored_bytes_relative_int16"):
        assert (report[column] == 4 * report["stored_params"]).all(), column
    assert (report["ratio"] == report["stored_params"] / report["original_params"]).all()
    assert model_stored_bytes(model) == 4 * model_stored_params(model)
