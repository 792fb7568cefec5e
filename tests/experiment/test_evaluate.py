"""How the evaluator tells a model that learned from one left on CTC's all-blank plateau, and what it
records of a model's size."""

import keras
import pytest

from deepthin.compress import compress
from deepthin.experiment.evaluate import blank_fraction, is_trained, size_metrics
from deepthin.experiment.handtuned import compressed_budget
from deepthin.size import model_stored_bytes, model_stored_params, size_report


@pytest.mark.parametrize("hyps, fraction, trained", [
    (["one two", "three", "", "four"], 0.25, True),
    (["", " ", "x", ""], 0.75, False),
    (["", "a"], 0.5, False),  # a run must be non-blank on *most* utterances
])
def test_blank_fraction_and_trained(hyps, fraction, trained):
    assert blank_fraction(hyps) == fraction
    assert is_trained({"blank_fraction": blank_fraction(hyps)}) is trained


def test_size_metrics_compare_stored_bytes_with_the_budget(tmp_path):
    """results.json's ``size``: the budget is the target's weights as float32; pruning's indices count."""
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, name="h"), keras.layers.Dense(4)])
    target = compressed_budget(model, 0.1, ["h"])
    small = compress(model, "pruning", 0.1, layers=["h"])
    small.get_layer("h").kernel_matrix.apply_final_state()
    size = size_metrics(small, target, tmp_path / "model.keras", model.count_params())
    report = size_report(small).iloc[-1]
    assert size["target_bytes"] == 4 * target and size["stored_bytes"] == model_stored_bytes(small)
    assert size["stored_vs_target"] == size["stored_bytes"] / size["target_bytes"]
    assert size["stored_vs_target"] == pytest.approx(1, abs=0.02)
    assert size["compressed_matrix_bytes"] == report["stored_bytes"] == 6 * size["compressed_matrix_params"]
    assert size["achieved_ratio"] == report["stored_bytes"] / (4 * size["compressed_matrix_original_params"])
    others = size["stored_bytes"] - size["compressed_matrix_bytes"]
    assert size["stored_bytes_flat_int32"] == others + report["stored_bytes_flat_int32"]
    assert size["stored_bytes_relative_int16"] == size["stored_bytes"]  # the grid's layout
    assert size["stored_params"] == model_stored_params(small) < target  # fewer weights, same bytes
    # the whole model's share: its stored bytes over the dense model's (which stores 1.0 of itself)
    assert size["model_ratio"] == size["stored_bytes"] / (4 * model.count_params()) < 0.2
    assert size_metrics(model, model.count_params(), tmp_path / "dense.keras",
                        model.count_params())["model_ratio"] == 1.0
