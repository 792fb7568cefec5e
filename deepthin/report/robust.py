"""Statistics that one stuck run cannot swing: outlier flags, bootstrap intervals, the geometric mean.

With three seeds per point, one run that stayed near CTC's plateau (FSDD 12 epochs, DeepThin at
ratio 0.01, seed 2: WER 0.769 where the other seeds have 0.060 and 0.042) moves a mean of relative
improvements from -14% to -77%. The report therefore flags such runs by a rule that looks only at
the dev set (never at the metric being compared), keeps them in every median and test, and shows
every mean with and without them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from deepthin.report.collect import SETTING
from deepthin.report.paper import METRIC_LABELS, SECONDARY_METRIC, metric_of

#: A run is flagged when its dev loss exceeds this multiple of the median dev loss of its point's seeds.
FLAG_FACTOR = 2.0
#: runs.csv's column: True for a flagged run, False for one that is not, empty for a run not counted.
OUTLIER = "dev_loss_outlier"
DEV_LOSS = "dev_loss"
#: The percentile bootstrap: resamples per interval and a fixed RNG seed, so the report is reproducible.
RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
#: The flag rule in the report's words.
FLAG_RULE = (
    f"A run is **flagged** when its dev loss (the loss model selection uses; the test set plays no part) "
    f"is more than {FLAG_FACTOR:g}x the median dev loss of the seeds of its (setting, method, ratio). "
    "Why this rule: it is scale-free (CTC losses differ by an order of magnitude between settings and "
    "ratios), and a rule on the median absolute deviation is fragile with 3 seeds (their MAD is the "
    "smaller gap to the middle seed, which can be near 0 and flag ordinary spread). It needs the other "
    "seeds to agree that the point trains far better: with 2 seeds it can never fire, and with 3 it "
    "flags at most one. Flagged runs stay in runs.csv (`dev_loss_outlier`), in every median and in "
    "the paired test; every mean below is also given without them.")


def point_labels(runs: pd.DataFrame) -> pd.Series:
    """One label per run: its (setting, method, ratio), the group whose seeds it is compared with."""
    keys = runs[[*SETTING, "method", "ratio"]].fillna("").astype(str)
    return keys.agg("|".join, axis=1)


def flag_outliers(runs: pd.DataFrame) -> pd.Series:
    """Per run of ``runs`` (counted runs): is its dev loss an outlier among its point's seeds
    (:data:`FLAG_RULE`)? All False where ``dev_loss`` was not recorded."""
    if runs.empty or DEV_LOSS not in runs:
        return pd.Series(False, index=runs.index, dtype=bool)
    median = runs[DEV_LOSS].groupby(point_labels(runs)).transform("median")
    return (runs[DEV_LOSS] > FLAG_FACTOR * median).fillna(False).astype(bool)


def flagged_runs(table: pd.DataFrame) -> pd.DataFrame:
    """The flagged runs among ``table`` (counted runs, with :data:`OUTLIER`), one row each: its dev
    loss beside its seeds' median, its paper metric beside its other seeds' values."""
    flagged = table[table[OUTLIER].eq(True)] if OUTLIER in table else table.iloc[:0]
    points, rows = point_labels(table), []
    for index, run in flagged.iterrows():
        metric, same = metric_of(run["model"]), table[points == points[index]]
        rows.append({"run": f"`{run['run_dir']}`", "dev loss": run[DEV_LOSS],
                     "median dev loss of its seeds": same[DEV_LOSS].median(),
                     "metric": METRIC_LABELS.get(metric, metric), "value": run[metric],
                     "other seeds' values": ", ".join(f"{v:.4g}" for v in same.drop(index)[metric]),
                     "CER (greedy)": run[SECONDARY_METRIC]})
    return pd.DataFrame(rows)


def bootstrap_interval(values: Sequence[float], resamples: int = RESAMPLES,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap :data:`CONFIDENCE` interval of the mean of ``values`` (NaN for fewer
    than two values: one seed has no spread to resample).

    A fresh generator per call, seeded by ``seed``: the same values give the same interval in any
    order of calls. With 3 values each extreme resample (all three the same seed) has probability
    1/27 > 2.5%, so the 95% interval is the range of the three: coarse, a description of these
    seeds' spread rather than a calibrated coverage.
    """
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) < 2:
        return float("nan"), float("nan")
    draws = np.random.default_rng(seed).integers(len(values), size=(resamples, len(values)))
    means = values[draws].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def geometric_improvement(theirs: Sequence[float], ours: Sequence[float]) -> float:
    """``1 - exp(mean(log(ours / theirs)))``: the relative improvement of the geometric mean of the
    ratio ours/theirs.

    Symmetric where the paper's ``(theirs - ours) / theirs`` is not: a run of ours 10x worse costs
    what one 10x better gains, where the paper's formula counts -900% against at most +100%. Pairs
    with a 0 on either side (log undefined) are left out; NaN if none is left.
    """
    theirs, ours = np.asarray(theirs, dtype=float), np.asarray(ours, dtype=float)
    usable = (theirs > 0) & (ours > 0)
    if not usable.any():
        return float("nan")
    return float(1 - np.exp(np.mean(np.log(ours[usable] / theirs[usable]))))
