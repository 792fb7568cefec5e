"""Outlier flags, bootstrap intervals and the geometric mean, on numbers worked out by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from deepthin.report.robust import bootstrap_interval, flag_outliers, geometric_improvement
from deepthin.report.stats import compare


def test_bootstrap_interval_contains_the_true_mean_difference():
    true, noise = 0.1, np.random.default_rng(7).normal(0.0, 0.02, size=30)
    sample = true + noise - noise.mean()               # seeds whose mean difference is the true one
    low, high = bootstrap_interval(sample)
    assert low < true < high
    standard_error = sample.std() / np.sqrt(len(sample))
    assert high - low == pytest.approx(2 * 1.96 * standard_error, rel=0.15)
    symmetric = true + np.array([-0.02, -0.01, 0.0, 0.01, 0.02])
    low, high = bootstrap_interval(symmetric)
    assert -0.02 < low - true < 0 < high - true < 0.02  # inside the sample's range, around its mean


def test_bootstrap_interval_is_reproducible_and_coarse_with_three_seeds():
    values = [0.0011, 0.0078, -0.7189]
    assert bootstrap_interval(values) == bootstrap_interval(values)
    assert bootstrap_interval(values) == pytest.approx((-0.7189, 0.0078))  # 1/27 > 2.5%: the range
    assert bootstrap_interval(values, seed=1) == pytest.approx((-0.7189, 0.0078))
    assert all(math.isnan(v) for v in bootstrap_interval([0.3]))          # one seed: no interval
    assert all(math.isnan(v) for v in bootstrap_interval([]))


def test_geometric_improvement_on_a_hand_computed_example():
    theirs, ours = [0.2, 0.4, 0.1], [0.1, 0.1, 0.2]       # ours/theirs: 0.5, 0.25, 2
    assert geometric_improvement(theirs, ours) == pytest.approx(1 - 0.25 ** (1 / 3))
    assert geometric_improvement([0.2, 0.0], [0.1, 0.3]) == pytest.approx(0.5)  # a 0: left out
    assert geometric_improvement([0.4], [0.4]) == pytest.approx(0.0)
    assert math.isnan(geometric_improvement([0.0], [0.1]))


def test_compare_gives_the_median_geometric_mean_and_the_mean_without_flagged_pairs():
    pairs = pd.DataFrame({"ratio": [0.01, 0.01, 0.01, 0.1, 0.1, 0.1], "seed": [0, 1, 2] * 2,
                          "theirs": [0.2, 0.4, 0.1, 0.5, 0.5, 0.5], "ours": [0.1, 0.1, 0.2, 0.25, 0.25, 0.5],
                          "flagged": [False, False, True, False, False, False]})
    pairs["improvement"] = (pairs["theirs"] - pairs["ours"]) / pairs["theirs"]  # .5 .75 -1 .5 .5 0
    result = compare(pairs)
    assert result["median_improvement"] == pytest.approx(0.5)
    assert result["geomean_improvement"] == pytest.approx(1 - (0.5 * 0.25 * 2 * 0.5 * 0.5 * 1) ** (1 / 6))
    at_001, at_01 = 1 - (0.4 / 3) / (0.7 / 3), 1 - (1.0 / 3) / 0.5      # the paper's formula, seed means
    assert result["relative_improvement"] == pytest.approx((at_001 + at_01) / 2)
    assert result["relative_improvement_unflagged"] == pytest.approx((1 - 0.1 / 0.3 + at_01) / 2)
    assert result["flagged_pairs"] == 1


def runs_of(dev_losses: dict[tuple[str, float], list[float]]) -> pd.DataFrame:
    rows = [{"data": "fsdd", "model": "tfkaldi", "preset": "cpu", "schedule": "", "method": method,
             "ratio": ratio, "seed": seed, "dev_loss": loss}
            for (method, ratio), losses in dev_losses.items() for seed, loss in enumerate(losses)]
    return pd.DataFrame(rows)


def test_a_planted_outlier_is_flagged_and_ordinary_spread_is_not():
    runs = runs_of({("deepthin", 0.01): [7.55, 7.49, 50.79],     # FSDD 12 epochs: the stuck seed 2
                    ("deepthin", 0.1): [2.15, 4.92, 2.49],        # 4.92 < 2 x 2.49: ordinary spread
                    ("lowrank", 0.01): [50.0, 50.0, 7.0],         # two of three high: none flagged
                    ("pruning", 0.01): [3.0, 9.0]})               # two seeds: the rule cannot fire
    flagged = runs[flag_outliers(runs)]
    assert flagged[["method", "ratio", "seed"]].values.tolist() == [["deepthin", 0.01, 2]]


def test_flags_compare_a_run_only_with_the_seeds_of_its_own_setting():
    runs = runs_of({("deepthin", 0.01): [7.5, 7.5, 40.0]})
    other = runs.assign(schedule="-12epochs", dev_loss=[40.0, 40.0, 40.0])
    flags = flag_outliers(pd.concat([runs, other], ignore_index=True))
    assert flags.tolist() == [False, False, True, False, False, False]


def test_no_dev_loss_means_no_flag():
    runs = runs_of({("deepthin", 0.01): [1.0, 1.0, 9.0]})
    assert not flag_outliers(runs.drop(columns="dev_loss")).any()
    assert not flag_outliers(runs.assign(dev_loss=math.nan)).any()
