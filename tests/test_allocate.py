"""The per-layer budget allocator on toy sensitivity tables with known optima."""

import itertools
import re

import keras
import pandas as pd
import pytest

from deepthin.allocate import allocate, allocate_model

RATIOS = [0.1, 0.2, 0.4]
#: Layer A suffers much from compression, B little; each stores ratio x 1000 parameters.
LOSSES = {"a": [5.0, 2.0, 1.5], "b": [3.0, 2.8, 2.7]}


def toy_table(losses=LOSSES, method="lowrank"):
    rows = [{"method": method, "layer": layer, "ratio": r, "dev_loss": loss, "dense_dev_loss": 1.0}
            for layer, curve in losses.items() for r, loss in zip(RATIOS, curve, strict=True)]
    return pd.DataFrame(rows)


def stored(layer, ratio):
    return max(1, round(1000 * ratio))  # at least one parameter: the smallest form


def brute_force(budget):
    """The best table point per layer whose total stays within the budget."""
    feasible = [combo for combo in itertools.product(range(3), repeat=2)
                if sum(1000 * RATIOS[i] for i in combo) <= budget]
    best = min(feasible, key=lambda c: LOSSES["a"][c[0]] + LOSSES["b"][c[1]])
    return {"a": RATIOS[best[0]], "b": RATIOS[best[1]]}


def test_allocator_finds_the_known_optimum_and_meets_the_budget():
    result = allocate(toy_table(), stored, 600)
    assert result.ratios == pytest.approx(brute_force(600)) == {"a": 0.4, "b": 0.2}
    assert result.stored_params == 600
    assert result.predicted_loss_increase == pytest.approx(1.5 + 2.8 - 2.0)


def test_allocator_interpolates_the_last_segment_to_meet_the_budget_within_2_percent():
    result = allocate(toy_table(), stored, 550)
    assert result.ratios == pytest.approx({"a": 0.4, "b": 0.15})
    assert abs(result.stored_params / 550 - 1) <= 0.02


def test_a_non_convex_curve_is_replaced_by_its_hull():
    # A's middle point is worse than the chord: buying A goes straight from 0.1 to 0.4
    result = allocate(toy_table({"a": [5.0, 4.9, 1.0], "b": [3.0, 2.8, 2.7]}), stored, 500)
    assert result.ratios == pytest.approx({"a": 0.4, "b": 0.1})


@pytest.mark.parametrize("budget, message", [
    (1, "below the 2 that rank 1 (the smallest form) in every layer stores"),
    (150, "outside the 200-800 that the sensitivity table's smallest and largest ratios store"),
    (900, "outside the 200-800"),
])
def test_budgets_no_allocation_can_meet_are_refused(budget, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        allocate(toy_table(), stored, budget)


def test_allocate_model_plans_each_layer_with_the_method_and_checks_the_table(tmp_path):
    model = keras.Sequential([keras.Input((40,)), keras.layers.Dense(60, name="a"),
                              keras.layers.Dense(60, name="b")])
    path = tmp_path / "sensitivity.csv"
    toy_table().to_csv(path, index=False)
    result = allocate_model(model, "lowrank", 0.25, None, path)
    assert abs(result.stored_params / (0.25 * (40 * 60 + 60 * 60)) - 1) <= 0.02
    assert result.ratios["a"] > result.ratios["b"]
    with pytest.raises(ValueError, match="measured lowrank, not deepthin"):
        allocate_model(model, "deepthin", 0.25, None, path)
    with pytest.raises(ValueError, match="allowed: a table of exactly the compressed layers a"):
        allocate_model(model, "lowrank", 0.25, ["a"], path)
    with pytest.raises(ValueError, match="does not exist"):
        allocate_model(model, "lowrank", 0.25, None, tmp_path / "none.csv")
