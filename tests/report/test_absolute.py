"""Per-ratio absolute differences: DeepThin against a baseline in the metric's own units."""

import math

import pandas as pd
import pytest

from deepthin.report.absolute import absolute_differences, absolute_section
from deepthin.report.collect import collect
from deepthin.report.robust import OUTLIER, flag_outliers

from .conftest import BASE_WER, write_run


def counted(root) -> pd.DataFrame:
    table, _ = collect(root)
    return table.assign(**{OUTLIER: flag_outliers(table)})


def test_differences_are_baseline_minus_deepthin_paired_by_seed(grid):
    absolute = absolute_differences(counted(grid)).set_index(["baseline", "ratio"])
    row = absolute.loc[("lowrank", 0.05)]
    gap = BASE_WER["lowrank"] - BASE_WER["deepthin"]                   # the same at every seed
    assert row["mean_difference"] == pytest.approx(gap) and row["median_difference"] == pytest.approx(gap)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((gap, gap))
    assert row["per_seed"] == "0: +0.2000, 1: +0.2000, 2: +0.2000" and row["flagged_pairs"] == 0
    assert math.isnan(row["mean_difference_unflagged"])                 # nothing flagged: nothing to drop
    assert absolute.loc[("handtuned", 0.05), "mean_difference"] == pytest.approx(-0.05)  # DeepThin worse
    assert 0.2 not in absolute.loc["hashednet"].index                   # hashednet never ran 0.2


def test_a_stuck_run_is_flagged_in_its_pairs_and_dropped_only_from_the_unflagged_mean(grid):
    write_run(grid, "deepthin", 0.01, 2, 0.9)                           # seed 2 stuck on the plateau
    absolute = absolute_differences(counted(grid)).set_index(["baseline", "ratio"])
    row = absolute.loc[("pruning", 0.01)]
    differences = [0.1, 0.1, 0.32 - 0.9]                                # seeds 0, 1; 2 against the stuck run
    assert row["mean_difference"] == pytest.approx(sum(differences) / 3)
    assert row["median_difference"] == pytest.approx(0.1)
    assert row["mean_difference_unflagged"] == pytest.approx(0.1)
    assert row["ci_low"] == pytest.approx(-0.58) and row["ci_high"] == pytest.approx(0.1)
    assert row["flagged_pairs"] == 1 and row["per_seed"].endswith("2: -0.5800 (flagged)")
    assert absolute.loc[("pruning", 0.02), "flagged_pairs"] == 0


def test_the_section_has_one_table_per_setting_and_says_the_bootstrap_is_coarse(grid):
    table = counted(grid)
    text = "\n".join(absolute_section(table, absolute_differences(table)))
    assert "### tfkaldi-cpu on fsdd: WER (lexicon)" in text
    assert "the interval is the range of the three seeds' differences" in text and "RNG seed 0" in text
    row = next(line for line in text.splitlines() if line.startswith("| magnitude pruning | 0.1 |"))
    assert "| +0.1000 [+0.1000, +0.1000] | +0.1000 |" in row
