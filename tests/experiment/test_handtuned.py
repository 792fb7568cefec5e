import keras
import pytest

from deepthin.experiment.handtuned import compressed_budget, solve_width


def mlp(width: int) -> keras.Model:
    return keras.Sequential([
        keras.Input((40,)),
        keras.layers.Dense(width, activation="relu", name="h1"),
        keras.layers.Dense(width, activation="relu", name="h2"),
        keras.layers.Dense(10, name="out"),
    ])


def test_budget_counts_only_selected_matrices():
    full = mlp(100)
    budget = compressed_budget(full, 0.1, layers=["h2"])
    assert budget == full.count_params() - round(0.9 * 100 * 100)


def test_solve_width_hits_the_budget_within_two_percent():
    full = mlp(256)
    target = compressed_budget(full, 0.05, layers=["h1", "h2"])
    width = solve_width(mlp, target)
    assert width < 256
    assert mlp(width).count_params() == pytest.approx(target, rel=0.02)
    # the neighbours are no closer
    for other in (width - 1, width + 1):
        assert abs(mlp(other).count_params() - target) >= abs(mlp(width).count_params() - target)


def test_bad_target_is_rejected():
    with pytest.raises(ValueError, match="target_params=0 is not positive"):
        solve_width(mlp, 0)
