"""Seed statistics and paired tests on runs whose numbers are known."""

import math

import numpy as np
import pandas as pd
import pytest

from deepthin.report.collect import collect
from deepthin.report.stats import (
    compare,
    margin_order,
    paired,
    relative_improvement,
    seed_means,
    separability,
)


def test_seed_means_give_mean_std_and_count_per_point(grid):
    table, _ = collect(grid)
    stats = seed_means(table, "wer_lexicon").set_index(["method", "ratio"])
    row = stats.loc[("lowrank", 0.05)]
    assert row["mean"] == pytest.approx(0.41) and row["std"] == pytest.approx(0.01) and row["count"] == 3
    assert "dense" not in stats.index.get_level_values(0)


def test_paired_keeps_only_the_points_both_methods_ran(grid):
    table, _ = collect(grid)
    pairs = paired(table, "wer_lexicon", "hashednet")
    assert len(pairs) == 15 and 0.2 not in set(pairs["ratio"])       # hashednet lacks ratio 0.2
    lowrank = paired(table, "wer_lexicon", "lowrank")
    expected = [(0.4 + 0.01 * s - 0.2 - 0.01 * s) / (0.4 + 0.01 * s) for s in lowrank["seed"]]
    assert lowrank["improvement"].to_numpy() == pytest.approx(expected)


@pytest.mark.parametrize(("values", "verdict"), [
    ([0.1] * 6, "held"), ([-0.2, -0.1, -0.3, -0.1, -0.2, -0.4], "reversed"),
    ([0.5, 0.4, 0.6, 0.5, 0.3], "not separable"),          # 5 pairs can never reach p < 0.05
    ([0.1, -0.1, 0.2, -0.2, 0.1, -0.1, 0.05, -0.05], "not separable"), ([0.0, 0.0], "not separable")])
def test_separability_needs_a_consistent_sign_over_enough_pairs(values, verdict):
    p, said = separability(values)
    assert said == verdict
    assert math.isnan(p) if not np.any(values) else (p < 0.05) == (verdict != "not separable")


def test_compare_gives_the_papers_statistic_and_its_spread_over_seeds(grid):
    table, _ = collect(grid)
    result = compare(paired(table, "wer_lexicon", "lowrank"))
    per_seed = [0.2 / (0.4 + 0.01 * s) for s in (0, 1, 2)]
    assert result["relative_improvement"] == pytest.approx(0.2 / 0.41)      # seed means at each ratio
    assert result["per_seed_mean"] == pytest.approx(np.mean(per_seed))
    assert result["per_seed_std"] == pytest.approx(np.std(per_seed, ddof=1))
    assert (result["n_pairs"], result["n_ratios"], result["seeds"]) == (18, 6, 3)
    assert result["verdict"] == "held" and result["p_value"] < 1e-3
    assert compare(paired(table, "wer_lexicon", "handtuned"))["verdict"] == "reversed"
    assert compare(paired(table, "wer_lexicon", "hashednet"))["verdict"] == "not separable"
    assert paired(table, "wer_lexicon", "deepthin-aligned").empty            # never ran


def test_relative_improvement_lists_each_baseline_with_the_papers_number(grid):
    table, _ = collect(grid)
    summary, by_ratio = relative_improvement(table)
    assert summary["baseline"].tolist() == ["lowrank", "pruning", "handtuned", "hashednet"]
    assert summary.set_index("baseline")["paper"].to_dict() == {
        "lowrank": 0.60, "pruning": 0.57, "handtuned": 0.23, "hashednet": 0.06}
    assert summary.set_index("baseline").at["hashednet", "ratios"] == "0.005 0.01 0.02 0.05 0.1"
    at = by_ratio[(by_ratio["baseline"] == "pruning") & (by_ratio["ratio"] == 0.1)].iloc[0]
    assert (at["baseline_value"], at["deepthin_value"], at["seeds"]) == pytest.approx((0.31, 0.21, 3))
    on_cer, _ = relative_improvement(table, lambda model: "cer_greedy")
    assert on_cer["paper"].isna().all()                                        # the paper has no CER


def test_margin_order_tests_consecutive_baselines_in_the_papers_order(grid):
    table, _ = collect(grid)
    order = margin_order(table, "wer_lexicon")
    assert list(zip(order["larger"], order["smaller"], strict=True)) == [
        ("lowrank", "pruning"), ("pruning", "handtuned"), ("handtuned", "hashednet")]
    assert order["verdict"].tolist() == ["held", "held", "reversed"]          # hashednet ties, handtuned wins
    assert order["n_pairs"].tolist() == [18, 18, 15]


def test_a_baseline_of_zero_error_gives_no_relative_improvement():
    runs = pd.DataFrame({"method": ["deepthin", "lowrank"], "ratio": [0.1, 0.1], "seed": [0, 0],
                         "wer_lexicon": [0.1, 0.0]})
    assert paired(runs, "wer_lexicon", "lowrank").empty
