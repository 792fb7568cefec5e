"""The report's tables as Markdown (no extra dependency): results per setting, DeepThin against
each baseline beside the paper's numbers, the flagged runs."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from deepthin.report.collect import SETTING, setting_label
from deepthin.report.paper import BASELINE_NAMES, METHODS, METRIC_LABELS, metric_of
from deepthin.report.robust import DEV_LOSS, FLAG_RULE, OUTLIER, flagged_runs

#: results.json ``size`` fields that runs from before they existed lack: empty cells, or no column
#: where no run of a setting has them (:func:`size_note` says which).
SIZE_COLUMNS = {"stored_bytes": "stored bytes", "model_ratio": "model ratio"}
#: Columns of the per-setting results table in REPORT.md (seed means).
RESULT_COLUMNS = {**{m: METRIC_LABELS[m] for m in ("wer_lexicon", "cer_lexicon", "wer_greedy", "cer_greedy")},
                  "test_loss": "test loss", "stored_params": "stored params", **SIZE_COLUMNS,
                  "latency_per_audio_second": "latency s/audio s"}


def size_note(table: pd.DataFrame) -> list[str]:
    """The results section's word on :data:`SIZE_COLUMNS` that some or all runs did not record."""
    recorded = table.reindex(columns=list(SIZE_COLUMNS)).notna()
    none = [SIZE_COLUMNS[c] for c in SIZE_COLUMNS if not recorded[c].any()]
    some = [SIZE_COLUMNS[c] for c in SIZE_COLUMNS if recorded[c].any() and not recorded[c].all()]
    said = {"not recorded by these runs (columns left out)": none, "empty where the runs predate them": some}
    lines = [f"{' and '.join(names).capitalize()}: {what}." for what, names in said.items() if names]
    return [" ".join(["Model ratio: stored / dense, whole model.", *lines]), ""]


def results_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Seed means of the headline metrics per (method, ratio) of one setting, dense first; where a
    run of the setting is flagged (:mod:`deepthin.report.robust`), the flagged count per point and
    the paper metric's mean without them."""
    points = runs.reindex(columns=["method", "ratio", *RESULT_COLUMNS]).groupby(["method", "ratio"])
    stats = points[list(RESULT_COLUMNS)].mean()
    stats.insert(0, "seeds", points.size())
    if OUTLIER in runs and (flags := runs[OUTLIER].eq(True)).any():
        metric = metric_of(runs["model"].iloc[0])
        stats["flagged"] = flags.groupby([runs["method"], runs["ratio"]]).sum()
        kept = runs[~flags].groupby(["method", "ratio"])[metric].mean()
        stats[f"{METRIC_LABELS.get(metric, metric)} without flagged"] = kept.where(stats["flagged"] > 0)
    stats = stats.reset_index().rename(columns=RESULT_COLUMNS)
    stats["stored params"] = stats["stored params"].round().astype(int)
    stats["stored bytes"] = stats["stored bytes"].round().astype("Int64")
    stats = stats.drop(columns=[SIZE_COLUMNS[c] for c in SIZE_COLUMNS if stats[SIZE_COLUMNS[c]].isna().all()])
    rank = {m: i for i, m in enumerate(METHODS)}
    order = sorted(stats.index, key=lambda i: (rank.get(stats.at[i, "method"], len(rank)),
                                               stats.at[i, "ratio"]))
    return stats.loc[order]


def _cell(value: Any) -> str:
    if value is pd.NA:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _percent(value: float, digits: int = 1) -> str:
    return "" if math.isnan(value) else f"{value:+.{digits}%}"


def spread(mean: float, std: float) -> str:
    """``+12.3% +- 4.5%`` (``+- ?`` with a single seed, which has no spread)."""
    return f"{_percent(mean)} +- {'?' if math.isnan(std) else f'{std:.1%}'}"


def improvement_markdown(summary: pd.DataFrame) -> str:
    """DeepThin against each baseline: ours (and its spread over seeds, the paired test) and the paper's."""
    frame = summary.copy()
    frame["setting"] = [setting_label(tuple(k)) for k in frame[SETTING].itertuples(index=False)]
    frame["DeepThin vs"] = [BASELINE_NAMES.get(b, b) for b in frame["baseline"]]
    frame["ours"] = [_percent(v) for v in frame["relative_improvement"]]
    frame["median"] = [_percent(v) for v in frame["median_improvement"]]
    frame["geo. mean"] = [_percent(v) for v in frame["geomean_improvement"]]
    unflagged = zip(frame["relative_improvement_unflagged"], frame["flagged_pairs"], frame["n_pairs"],
                    strict=True)
    frame["ours without flagged"] = [f"{_percent(v)} ({k} of {n} pairs out)" if k else ""
                                     for v, k, n in unflagged]
    frame["per seed (mean +- std)"] = [
        spread(m, s) for m, s in zip(frame["per_seed_mean"], frame["per_seed_std"], strict=True)]
    tests = zip(frame["verdict"], frame["p_value"], frame["n_pairs"], strict=True)
    frame["paired test"] = [f"{v} (p={p:.3g}, n={n})" if not math.isnan(p) else f"{v} (n={n})"
                            for v, p, n in tests]
    frame["paper"] = [_percent(v, 0) for v in frame["paper"]]
    columns = ["setting", "metric", "DeepThin vs", "ratios", "seeds", "ours", "median", "geo. mean",
               "ours without flagged", "per seed (mean +- std)", "paired test", "paper"]
    return markdown_table(frame[columns])


def flagged_section(table: pd.DataFrame) -> list[str]:
    """The counted runs whose dev loss is an outlier among their seeds, listed, never averaged in unsaid."""
    flagged = flagged_runs(table)
    if len(flagged):
        said = f"{len(flagged)} run(s) flagged:\n\n{markdown_table(flagged)}"
    elif DEV_LOSS in table and table[DEV_LOSS].notna().any():
        said = "No run is flagged."
    else:
        said = "Dev loss not recorded by these runs: nothing could be flagged."
    return ["## Flagged runs", "", FLAG_RULE, "", said, ""]
