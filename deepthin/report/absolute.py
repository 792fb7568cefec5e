"""DeepThin against each baseline per ratio, in the metric's own units: the paired absolute difference.

The paper's relative improvement divides by the baseline's error, so a ratio where the baseline is
near 0 or where one run is stuck dominates the average. The absolute difference per ratio (baseline
minus DeepThin, paired by seed; positive: DeepThin is better) shows where the methods differ and by
how much, with a bootstrap interval over seeds and every seed's own value beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

from deepthin.report.collect import SETTING, in_setting, setting_label, settings
from deepthin.report.paper import BASELINE_NAMES, BASELINES, METRIC_LABELS, VARIANTS, metric_of
from deepthin.report.robust import BOOTSTRAP_SEED, CONFIDENCE, RESAMPLES, bootstrap_interval
from deepthin.report.stats import paired
from deepthin.report.tables import markdown_table

COLUMNS = [*SETTING, "metric", "baseline", "ratio", "seeds", "baseline_mean", "deepthin_mean",
           "mean_difference", "ci_low", "ci_high", "median_difference", "mean_difference_unflagged",
           "flagged_pairs", "per_seed"]


def decimals(metric: str) -> int:
    """Decimals a difference is shown with: a WER or CER step on a small test set is ~0.001, a CTC
    loss is tens."""
    return 2 if "loss" in metric else 4


def _signed(value: float, digits: int) -> str:
    return "" if math.isnan(value) else f"{value:+.{digits}f}"


def _seed_values(at_ratio: pd.DataFrame, digits: int) -> str:
    """``0: +0.0011, 1: +0.0078, 2: -0.7189 (flagged)``: each seed's difference, flagged pairs named."""
    return ", ".join(f"{int(r.seed)}: {_signed(r.difference, digits)}" + (" (flagged)" if r.flagged else "")
                     for r in at_ratio.itertuples())


def _at_ratio(at_ratio: pd.DataFrame, digits: int) -> dict:
    """One ratio's pairs (with their ``difference``) summarized: see :func:`by_ratio`."""
    difference, flagged = at_ratio["difference"], at_ratio["flagged"]
    low, high = bootstrap_interval(difference)
    unflagged = difference[~flagged].mean() if flagged.any() else math.nan  # NaN: nothing to leave out
    return {"seeds": len(at_ratio), "baseline_mean": at_ratio["theirs"].mean(),
            "deepthin_mean": at_ratio["ours"].mean(), "mean_difference": difference.mean(),
            "ci_low": low, "ci_high": high, "median_difference": difference.median(),
            "mean_difference_unflagged": unflagged, "flagged_pairs": int(flagged.sum()),
            "per_seed": _seed_values(at_ratio, digits)}


def by_ratio(pairs: pd.DataFrame, digits: int = 4) -> list[dict]:
    """One row per ratio of :func:`~deepthin.report.stats.paired` rows: the seed means, the mean,
    its bootstrap interval and the median of the differences, and the mean without flagged pairs
    (NaN where no pair at that ratio is flagged; also NaN when every pair there is); ``per_seed``
    writes each seed's difference with ``digits`` decimals."""
    pairs = pairs.assign(difference=pairs["theirs"] - pairs["ours"])
    return [{"ratio": ratio, **_at_ratio(at_ratio, digits)} for ratio, at_ratio in pairs.groupby("ratio")]


def absolute_differences(table: pd.DataFrame, metric_for: Callable[[str], str] | None = None) -> pd.DataFrame:
    """Per setting, baseline (and variant) and ratio: :func:`by_ratio` on the paper's metric
    (``metric_for(model)``, default :func:`metric_of`)."""
    metric_for = metric_for or metric_of
    rows = []
    for key, runs in settings(table):
        metric = metric_for(key[1])
        for baseline in (*BASELINES, *VARIANTS):
            setting = {**dict(zip(SETTING, key, strict=True)), "metric": metric, "baseline": baseline}
            if not (pairs := paired(runs, metric, baseline)).empty:
                rows += [{**setting, **row} for row in by_ratio(pairs, decimals(metric))]
    return pd.DataFrame(rows, columns=COLUMNS)


def _setting_table(rows: pd.DataFrame) -> str:
    digits = decimals(rows["metric"].iloc[0])

    def signed(column: str) -> list[str]:
        return [_signed(v, digits) for v in rows[column]]

    mean = [f"{m} [{lo}, {hi}]" if lo else m
            for m, lo, hi in zip(signed("mean_difference"), signed("ci_low"), signed("ci_high"), strict=True)]
    frame = pd.DataFrame({"DeepThin vs": [BASELINE_NAMES.get(b, b) for b in rows["baseline"]],
                          "ratio": rows["ratio"], "seeds": rows["seeds"],
                          "baseline (mean)": rows["baseline_mean"], "DeepThin (mean)": rows["deepthin_mean"],
                          f"mean difference [{CONFIDENCE:.0%} CI]": mean,
                          "median difference": signed("median_difference"),
                          "mean without flagged": signed("mean_difference_unflagged"),
                          "per seed": rows["per_seed"]})
    return markdown_table(frame)


def absolute_section(table: pd.DataFrame, absolute: pd.DataFrame) -> list[str]:
    """REPORT.md's per-ratio absolute differences, one table per setting."""
    lines = ["## DeepThin against each baseline, per ratio: absolute differences", "",
             "Baseline minus DeepThin on the paper's metric, in its own units (WER: fraction of words; "
             "test loss: CTC loss), paired by seed: **positive: DeepThin is better**. The mean over seeds "
             f"comes with a {CONFIDENCE:.0%} percentile bootstrap interval ({RESAMPLES:,} resamples of "
             f"the seeds, RNG seed {BOOTSTRAP_SEED}, so the report is reproducible). With 3 seeds the "
             "bootstrap is coarse: each extreme resample has probability 1/27 > 2.5%, so the interval is "
             "the range of the three seeds' differences, not a calibrated 95% coverage; with 1 seed there "
             "is none. The median keeps flagged runs (one stuck run cannot move a median of 3); \"mean "
             "without flagged\" drops the pairs with a flagged run and is empty where no pair at that "
             "ratio is flagged. CSV: `absolute_difference_by_ratio.csv`.", ""]
    for key, _ in settings(table):
        rows = absolute[in_setting(absolute, key)] if not absolute.empty else absolute
        if not rows.empty:
            label = METRIC_LABELS.get(rows["metric"].iloc[0], rows["metric"].iloc[0])
            lines += [f"### {setting_label(key)}: {label}", "", _setting_table(rows), ""]
    return lines
