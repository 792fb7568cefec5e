"""The report's figures, one set per setting: metric against ratio, the Pareto view (accuracy
against latency and against stored bytes), and latency against ratio."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

from deepthin.report.collect import Setting, setting_label, setting_slug  # noqa: E402
from deepthin.report.paper import METHODS, METRIC_LABELS, SECONDARY_METRIC, metric_of  # noqa: E402
from deepthin.report.stats import dense_stats, seed_means  # noqa: E402

LATENCY = "latency_per_audio_second"
#: The Pareto view's x axes: batch-1 latency and the size of the deployed model file.
PARETO_AXES = {LATENCY: "latency at batch 1 (s per audio second)",
               "model_file_bytes": "stored bytes (deployed .keras file)"}


def _style(method: str) -> dict[str, Any]:
    colors = dict(zip(METHODS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    return {"color": colors.get(method), "marker": "o" if method == "deepthin" else "s",
            "linewidth": 2.2 if method == "deepthin" else 1.4}


def _methods_in(stats: pd.DataFrame) -> list[str]:
    present = set(stats["method"])
    return [m for m in METHODS if m in present] + sorted(present - set(METHODS))


def _dense_line(ax, stats: tuple[float, float, int] | None) -> None:
    if stats is None:
        return
    mean, std, n = stats
    ax.axhline(mean, color="black", linestyle="--", linewidth=1.2, label=f"dense (n={n})")
    if std > 0:
        ax.axhspan(mean - std, mean + std, color="black", alpha=0.08)


def _lines_vs_ratio(ax, stats: pd.DataFrame, runs: pd.DataFrame, metric: str) -> None:
    """Each method's mean and +-std band over seeds, and every seed's own point: with three seeds one
    run that trained slowly moves the mean a long way, and the points show which one it was."""
    for method in _methods_in(stats):
        rows = stats[stats["method"] == method].sort_values("ratio")
        style = _style(method)
        ax.plot(rows["ratio"], rows["mean"], label=f"{method} (n={int(rows['count'].min())})", **style)
        # every metric here is an error rate or a loss: the band stops at 0
        ax.fill_between(rows["ratio"], (rows["mean"] - rows["std"]).clip(lower=0), rows["mean"] + rows["std"],
                        color=style["color"], alpha=0.15)
        seeds = runs[runs["method"] == method]
        ax.scatter(seeds["ratio"], seeds[metric], color=style["color"], s=9, alpha=0.5, linewidths=0)
    ax.set_xscale("log")
    ax.set_xlabel("compression ratio (stored / original parameters of the compressed layers)")
    ax.grid(True, which="both", alpha=0.3)


def figure_metric_vs_ratio(key: Setting, runs: pd.DataFrame, out: Path) -> Path:
    """The paper's metric (left) and CER (right) against the ratio: mean +- std over seeds."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for ax, metric in zip(axes, (metric_of(key[1]), SECONDARY_METRIC), strict=True):
        _lines_vs_ratio(ax, seed_means(runs, metric), runs, metric)
        _dense_line(ax, dense_stats(runs, metric))
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        ax.legend(fontsize=8)
    fig.suptitle(f"{setting_label(key)}: {METRIC_LABELS.get(metric_of(key[1]))} and CER vs ratio "
                 "(mean +- std over seeds; dots: single runs)")
    return _save(fig, out / f"{setting_slug(key)}_metric_vs_ratio.png")


def pareto_front(points: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """The points no other point beats on both ``x`` and ``y`` (both lower-is-better)."""
    ordered = points.sort_values([x, y])
    best, keep = math.inf, []
    for index, value in zip(ordered.index, ordered[y], strict=True):
        if value < best:
            best = value
            keep.append(index)
    return ordered.loc[keep]


def figure_pareto(key: Setting, runs: pd.DataFrame, out: Path) -> Path:
    """The paper's metric against batch-1 latency (left) and stored bytes (right), seed means per
    (method, ratio), dense included: which method is best at a latency or size budget."""
    metric = metric_of(key[1])
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for ax, (x, label) in zip(axes, PARETO_AXES.items(), strict=True):
        points = runs.groupby(["method", "ratio"])[[x, metric]].mean().reset_index().dropna()
        for method in _methods_in(points):
            rows = points[points["method"] == method]
            style = _style(method)
            ax.scatter(rows[x], rows[metric], label=method, color=style["color"] or "black",
                       marker="*" if method == "dense" else style["marker"], s=40)
        if not points.empty:
            front = pareto_front(points, x, metric)
            ax.step(front[x], front[metric], where="post", color="gray", alpha=0.7, label="Pareto front")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())   # a narrow log range labels every minor tick
        ax.set_xlabel(label)
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{setting_label(key)}: {METRIC_LABELS.get(metric, metric)} against latency and size "
                 "(seed means)")
    return _save(fig, out / f"{setting_slug(key)}_pareto.png")


def speedups(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (method, ratio): latency per audio second (seed mean) and speedup over dense's mean."""
    stats = seed_means(runs, LATENCY)
    dense = dense_stats(runs, LATENCY)
    stats["speedup"] = dense[0] / stats["mean"] if dense else math.nan
    return stats


def figure_latency(key: Setting, runs: pd.DataFrame, out: Path) -> Path:
    """Inference latency (left) and the speedup over dense (right) against the ratio."""
    stats = speedups(runs)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    _lines_vs_ratio(left, stats, runs, LATENCY)
    _dense_line(left, dense_stats(runs, LATENCY))
    left.set_ylabel("latency (s per audio second)")
    left.legend(fontsize=8)
    if stats["speedup"].notna().any():
        for method in _methods_in(stats):
            rows = stats[stats["method"] == method].sort_values("ratio")
            right.plot(rows["ratio"], rows["speedup"], label=method, **_style(method))
        right.axhline(1.0, color="black", linestyle="--", linewidth=1.2, label="dense")
        right.set_xscale("log")
        right.legend(fontsize=8)
    else:
        right.text(0.5, 0.5, "no dense run to compare with", ha="center", transform=right.transAxes)
    right.set_xlabel("compression ratio")
    right.set_ylabel("speedup over dense (x)")
    right.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"{setting_label(key)}: inference latency and speedup vs ratio")
    return _save(fig, out / f"{setting_slug(key)}_latency_vs_ratio.png")


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def figures(key: Setting, runs: pd.DataFrame, out: Path) -> list[Path]:
    """Every figure of one setting."""
    return [draw(key, runs, out) for draw in (figure_metric_vs_ratio, figure_pareto, figure_latency)]
