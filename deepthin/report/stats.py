"""Seed statistics and paired comparisons: what a difference between two methods is worth.

The paper reports one number per comparison; with three seeds per point, the report also says
whether a difference is larger than the seed-to-seed spread. Runs of two methods that share a
(ratio, seed) share their data order, initialization of uncompressed layers and schedule, so they
are compared as pairs, and the paired relative improvements over all shared (ratio, seed) points
go into a two-sided Wilcoxon signed-rank test (no normality assumed; with 3 seeds and 6 ratios,
18 pairs). Fewer than six pairs can never reach p < 0.05 in that test, and the report says
"not separable" then, as for any p >= 0.05. Beside the paper's mean, :func:`robust_summary` gives
statistics one stuck run cannot swing (:mod:`deepthin.report.robust`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from deepthin.report.collect import SETTING, settings
from deepthin.report.paper import BASELINES, PAPER_IMPROVEMENT, VARIANTS, metric_of
from deepthin.report.robust import OUTLIER, geometric_improvement

ALPHA = 0.05
TEST = "two-sided Wilcoxon signed-rank test over paired (ratio, seed) runs"


def seed_means(runs: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean, std and count of ``column`` over seeds, per (method, ratio) of one setting."""
    compressed = runs[runs["method"] != "dense"]
    stats = compressed.groupby(["method", "ratio"])[column].agg(["mean", "std", "count"]).reset_index()
    stats["std"] = stats["std"].fillna(0.0)
    return stats


def dense_stats(runs: pd.DataFrame, column: str) -> tuple[float, float, int] | None:
    """Dense's mean, std and count of ``column`` over its runs (its ratio is ignored)."""
    values = runs.loc[runs["method"] == "dense", column].dropna()
    if values.empty:
        return None
    return float(values.mean()), float(values.std()) if len(values) > 1 else 0.0, len(values)


def paired(runs: pd.DataFrame, metric: str, theirs: str, ours: str = "deepthin") -> pd.DataFrame:
    """One row per (ratio, seed) both methods ran: their metric, ours, our relative improvement
    ``(theirs - ours) / theirs`` (positive: ours is better; undefined where theirs is 0), and
    ``flagged``: either run is a dev-loss outlier (:mod:`deepthin.report.robust`)."""
    def values(method: str, column: str) -> pd.Series:
        return runs[runs["method"] == method].set_index(["ratio", "seed"])[column]

    pairs = pd.concat({"theirs": values(theirs, metric), "ours": values(ours, metric)}, axis=1,
                      join="inner").dropna()
    pairs["improvement"] = (pairs["theirs"] - pairs["ours"]) / pairs["theirs"].where(pairs["theirs"] != 0)
    pairs = pairs.dropna()
    flags = (pd.concat([values(theirs, OUTLIER), values(ours, OUTLIER)], axis=1).eq(True).any(axis=1)
             if OUTLIER in runs else pd.Series(False, index=pairs.index))
    pairs["flagged"] = flags.reindex(pairs.index, fill_value=False).astype(bool)
    return pairs.reset_index()


def separability(values: Sequence[float]) -> tuple[float, str]:
    """(p, verdict) for paired differences: "held" (median above 0), "reversed", or "not separable"."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if np.count_nonzero(values) == 0:
        return math.nan, "not separable"
    p = float(wilcoxon(values).pvalue)
    if p >= ALPHA:
        return p, "not separable"
    return p, "held" if np.median(values) > 0 else "reversed"


def per_ratio(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per ratio of :func:`paired` rows: both methods' seed means, the seed count, and the paper's
    relative improvement on those means."""
    at_ratio = pairs.groupby("ratio").agg(theirs=("theirs", "mean"), ours=("ours", "mean"),
                                          seeds=("seed", "size"))
    at_ratio["improvement"] = 1 - at_ratio["ours"] / at_ratio["theirs"]
    return at_ratio


def compare(pairs: pd.DataFrame) -> dict[str, Any]:
    """DeepThin against a baseline in one setting, from their :func:`paired` runs (not empty).

    ``relative_improvement`` is the paper's statistic on paired seed means: the improvement at each
    ratio, averaged over ratios; ``per_seed_mean`` +- ``per_seed_std`` is its spread over seeds.
    """
    at_ratio = per_ratio(pairs)
    per_seed = pairs.groupby("seed")["improvement"].mean()
    p, verdict = separability(pairs["improvement"])
    kept = pairs[~pairs["flagged"]]
    return {"ratios": " ".join(f"{r:g}" for r in at_ratio.index), "n_ratios": len(at_ratio),
            "seeds": len(per_seed), "n_pairs": len(pairs),
            "relative_improvement": float(at_ratio["improvement"].mean()),
            "per_seed_mean": float(per_seed.mean()),
            "per_seed_std": float(per_seed.std()) if len(per_seed) > 1 else math.nan,
            "p_value": p, "verdict": verdict, **robust_summary(pairs, kept)}


def robust_summary(pairs: pd.DataFrame, kept: pd.DataFrame) -> dict[str, Any]:
    """Beside the paper's mean: the median and the geometric mean of the paired relative
    improvements (over every (ratio, seed) pair, the units of the paired test), and the paper's
    statistic again on the pairs ``kept`` (no flagged run), with how many pairs were flagged."""
    return {"median_improvement": float(pairs["improvement"].median()),
            "geomean_improvement": geometric_improvement(pairs["theirs"], pairs["ours"]),
            "relative_improvement_unflagged":
                float(per_ratio(kept)["improvement"].mean()) if len(kept) else math.nan,
            "flagged_pairs": len(pairs) - len(kept)}


def relative_improvement(table: pd.DataFrame, metric_for: Callable[[str], str] | None = None
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DeepThin against each baseline and variant, per setting: (summary, per ratio).

    ``metric_for(model)`` names the metric compared (default: the paper's, :func:`metric_of`).
    """
    metric_for = metric_for or metric_of
    summary, by_ratio = [], []
    for key, runs in settings(table):
        metric = metric_for(key[1])
        setting = {**dict(zip(SETTING, key, strict=True)), "metric": metric}
        for baseline in (*BASELINES, *VARIANTS):
            if (pairs := paired(runs, metric, baseline)).empty:
                continue
            paper = PAPER_IMPROVEMENT.get(key[1], {}).get(baseline, math.nan)
            paper = paper if metric == metric_of(key[1]) else math.nan  # the paper has no CER
            summary.append({**setting, "baseline": baseline, **compare(pairs), "paper": paper})
            for ratio, row in per_ratio(pairs).iterrows():
                by_ratio.append({**setting, "baseline": baseline, "ratio": ratio, "seeds": int(row["seeds"]),
                                 "baseline_value": row["theirs"], "deepthin_value": row["ours"],
                                 "relative_improvement": row["improvement"]})
    columns = [*SETTING, "metric", "baseline", "ratios", "n_ratios", "seeds", "n_pairs",
               "relative_improvement", "per_seed_mean", "per_seed_std", "p_value", "verdict", "paper",
               "median_improvement", "geomean_improvement", "relative_improvement_unflagged", "flagged_pairs"]
    return pd.DataFrame(summary, columns=columns), pd.DataFrame(by_ratio)


def margin_order(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The paper's order of margin, tested pair by pair: for consecutive baselines (a, b) in
    :data:`BASELINES`, is DeepThin's improvement over ``a`` larger than over ``b``? Paired per
    (ratio, seed), tested like :func:`separability`."""
    improvements = {b: paired(runs, metric, b).set_index(["ratio", "seed"])["improvement"] for b in BASELINES}
    present = [b for b in BASELINES if not improvements[b].empty]
    rows = []
    for larger, smaller in zip(present, present[1:], strict=False):
        difference = (improvements[larger] - improvements[smaller]).dropna()
        p, verdict = separability(difference)
        rows.append({"larger": larger, "smaller": smaller, "n_pairs": len(difference),
                     "mean_difference": float(difference.mean()) if len(difference) else math.nan,
                     "p_value": p, "verdict": verdict})
    columns = ["larger", "smaller", "n_pairs", "mean_difference", "p_value", "verdict"]
    return pd.DataFrame(rows, columns=columns)
