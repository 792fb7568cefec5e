"""The report's tables as Markdown (no extra dependency): results per setting, DeepThin against
each baseline beside the paper's numbers."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from deepthin.report.collect import SETTING, setting_label
from deepthin.report.paper import BASELINE_NAMES, METHODS, METRIC_LABELS

#: Columns of the per-setting results table in REPORT.md (seed means).
RESULT_COLUMNS = {**{m: METRIC_LABELS[m] for m in ("wer_lexicon", "cer_lexicon", "wer_greedy", "cer_greedy")},
                  "test_loss": "test loss", "stored_params": "stored params",
                  "latency_per_audio_second": "latency s/audio s"}


def results_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Seed means of the headline metrics per (method, ratio) of one setting, dense first."""
    stats = runs.groupby(["method", "ratio"])[list(RESULT_COLUMNS)].mean()
    stats.insert(0, "seeds", runs.groupby(["method", "ratio"]).size())
    stats = stats.reset_index().rename(columns=RESULT_COLUMNS)
    stats["stored params"] = stats["stored params"].round().astype(int)
    rank = {m: i for i, m in enumerate(METHODS)}
    order = sorted(stats.index, key=lambda i: (rank.get(stats.at[i, "method"], len(rank)),
                                               stats.at[i, "ratio"]))
    return stats.loc[order]


def _cell(value: Any) -> str:
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
    frame["per seed (mean +- std)"] = [
        spread(m, s) for m, s in zip(frame["per_seed_mean"], frame["per_seed_std"], strict=True)]
    tests = zip(frame["verdict"], frame["p_value"], frame["n_pairs"], strict=True)
    frame["paired test"] = [f"{v} (p={p:.3g}, n={n})" if not math.isnan(p) else f"{v} (n={n})"
                            for v, p, n in tests]
    frame["paper"] = [_percent(v, 0) for v in frame["paper"]]
    columns = ["setting", "metric", "DeepThin vs", "ratios", "seeds", "ours", "per seed (mean +- std)",
               "paired test", "paper"]
    return markdown_table(frame[columns])
