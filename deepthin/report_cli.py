"""``deepthin-report``: the paper's tables and figures from every finished ``deepthin-run``.

    deepthin-report                       # reads results/, writes into results/
    deepthin-report --results DIR         # another results tree (tests use a temporary one)

It collects every ``results.json`` with ``"complete": true`` under the results directory into one
table (``runs.csv``), then writes, per setting (data set x model x preset):

- ``figures/<setting>_metric_vs_ratio.png``: the model's metric (left) and CER (right) against the
  compression ratio (log x-axis), one line per method, mean over seeds with a +-1 std band; dense
  (which has no ratio) is a horizontal reference line;
- ``figures/<setting>_size_vs_metric.png``: stored parameters against the metric (Pareto view);
- ``figures/<setting>_latency_vs_ratio.png``: inference latency per audio second and the speedup
  over dense against the ratio;
- ``relative_improvement.csv`` / ``.md`` (and ``relative_improvement_by_ratio.csv``): the paper's
  table, DeepThin against each baseline; ``relative_improvement_cer.csv``: the same on CER;
- ``REPORT.md``: the above with the paper's published numbers next to ours, the seed means of every
  (method, ratio), the method ordering and where it differs from the paper's, a plain note where
  WER (or CER) is saturated, a note naming any pruning runs made before pruning followed TFMOT's step
  convention, what was cut from the paper's grid, the commands, the machine and the date.

The metric per model is a documented choice (:data:`PRIMARY_METRIC`), as in the paper: WER from a
lexicon decoder (``wer_lexicon``) for TFKaldi and test (CTC) loss for DeepSpeech; greedy WER and CER
are shown beside them. The relative improvement of DeepThin over a
baseline is ``(M_baseline - M_deepthin) / M_baseline`` with both metrics averaged over seeds at
one ratio, then averaged over the ratios that both methods were run at.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

#: The metric each model is judged by (lower is better), as in the paper.
PRIMARY_METRIC = {"tfkaldi": "wer_lexicon", "deepspeech": "test_loss"}
DEFAULT_METRIC = "wer_lexicon"
#: The WER whose saturation the report points out: the paper's (decoded with the corpus's lexicon).
REPORTED_WER = "wer_lexicon"
#: A second view for every model: character error rate of the acoustic model alone (greedy decoding).
#: WER saturates near 1 long before CER does, so CER still separates methods where WER cannot.
SECONDARY_METRIC = "cer_greedy"
#: A seed mean of WER at or above this counts as saturated (almost no word right).
SATURATED_WER = 0.95
METRIC_LABELS = {"wer_lexicon": "WER (lexicon)", "cer_lexicon": "CER (lexicon)", "wer_greedy": "WER (greedy)",
                 "cer_greedy": "CER (greedy)", "test_loss": "test loss (CTC)"}
#: Methods in plotting order; the ones after ``deepthin`` are its baselines.
METHODS = ("dense", "deepthin", "deepthin-aligned", "lowrank", "hashednet", "pruning", "handtuned")
BASELINES = ("lowrank", "pruning", "handtuned", "hashednet")
BASELINE_NAMES = {"lowrank": "rank factorization", "pruning": "magnitude pruning",
                  "handtuned": "hand-tuned", "hashednet": "HashedNets"}
#: The paper's published average relative improvement of DeepThin over each baseline.
PAPER_IMPROVEMENT = {
    "tfkaldi": {"lowrank": 0.60, "pruning": 0.57, "handtuned": 0.23, "hashednet": 0.06},
    "deepspeech": {"lowrank": 0.28, "pruning": 0.27, "handtuned": 0.20, "hashednet": 0.12},
}
#: The paper-scale grid of conf/experiment/paper_*.yaml (what the committed CPU grids cut from).
PAPER_GRID = {"preset": "paper", "ratios": (0.005, 0.01, 0.02, 0.05, 0.1, 0.2), "seeds": 3,
              "methods": METHODS}
SETTING = ["data", "model", "preset"]
#: What ``results.json``'s ``method_details.step_convention`` holds for pruning runs that follow
#: TFMOT's step convention (deepthin.methods.pruning.STEP_CONVENTION; not imported, to keep the
#: report free of TensorFlow).
STEP_CONVENTION = "tfmot"
SWEPT_KEYS = ("method", "ratio", "seed")


# ----------------------------------------------------------------------------- collecting
def _flatten(results: dict[str, Any], path: Path, root: Path) -> dict[str, Any]:
    row = {k: results[k] for k in ("data", "model", "preset", "method", "ratio", "seed")}
    row.update({k: v for k, v in results.get("metrics", {}).items() if not isinstance(v, dict | list)})
    row.update({k: v for k, v in results.get("size", {}).items() if not isinstance(v, dict | list)})
    trainer = results.get("config", {}).get("trainer", {})
    row["epochs"] = trainer.get("epochs")
    row["trained"] = results.get("trained")  # None: a run from before runs were checked for it
    row["step_convention"] = results.get("method_details", {}).get("step_convention")
    row["overrides"] = json.dumps(results.get("overrides", []))
    row["git_commit"] = results.get("git_commit")
    row["finished_at"] = results.get("finished_at")
    row["run_dir"] = str(path.parent.relative_to(root))
    return row


def run_dirs(root: Path) -> list[Path]:
    """Every run directory under ``root``: one holding a results.json, or the config a run saves
    when it starts (``checkpoint/config.json``), which is all a killed run leaves."""
    dirs = {p.parent for p in root.rglob("results.json")}
    dirs |= {p.parent.parent for p in root.rglob("checkpoint/config.json")}
    return sorted(dirs)


def collect(root: Path) -> tuple[pd.DataFrame, list[str]]:
    """All complete runs under ``root`` as one table, and the run directories still incomplete."""
    rows, incomplete = [], []
    for directory in run_dirs(root):
        path = directory / "results.json"
        try:
            results = json.loads(path.read_text())
        except (OSError, ValueError):
            results = {}
        if results.get("complete"):
            rows.append(_flatten(results, path, root))
        else:
            incomplete.append(str(directory.relative_to(root)))
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values(SETTING + ["method", "ratio", "seed"], ignore_index=True)
    return table, incomplete


def metric_of(model: str) -> str:
    return PRIMARY_METRIC.get(model, DEFAULT_METRIC)


def setting_slug(key: tuple[str, str, str]) -> str:
    data, model, preset = key
    return f"{data}_{model}-{preset}"


def setting_label(key: tuple[str, str, str]) -> str:
    data, model, preset = key
    return f"{model}-{preset} on {data}"


def settings(table: pd.DataFrame) -> list[tuple[tuple[str, str, str], pd.DataFrame]]:
    return [(tuple(key), group) for key, group in table.groupby(SETTING, sort=True)]


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


# ----------------------------------------------------------------------------- tables
def relative_improvement(table: pd.DataFrame, metric_for: Callable[[str], str] | None = None
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DeepThin against each baseline: (average over ratios, per ratio).

    ``metric_for(model)`` names the metric compared (default: the paper's, :func:`metric_of`).
    """
    metric_for = metric_for or metric_of
    summary, by_ratio = [], []
    for key, runs in settings(table):
        metric = metric_for(key[1])
        means = seed_means(runs, metric).set_index(["method", "ratio"])["mean"]
        if "deepthin" not in means.index.get_level_values(0):
            continue
        ours = means.loc["deepthin"]
        for baseline in BASELINES:
            if baseline not in means.index.get_level_values(0):
                continue
            theirs = means.loc[baseline]
            common = sorted(set(ours.index) & set(theirs.index))
            values = []
            for ratio in common:
                b, d = float(theirs.loc[ratio]), float(ours.loc[ratio])
                value = (b - d) / b if b != 0 else math.nan
                values.append(value)
                by_ratio.append({**dict(zip(SETTING, key, strict=True)), "metric": metric,
                                 "baseline": baseline, "ratio": ratio, "baseline_value": b,
                                 "deepthin_value": d, "relative_improvement": value})
            if not common:
                continue
            summary.append({**dict(zip(SETTING, key, strict=True)), "metric": metric, "baseline": baseline,
                            "ratios": " ".join(f"{r:g}" for r in common), "n_ratios": len(common),
                            "relative_improvement": float(np.nanmean(values)) if values else math.nan,
                            "paper": PAPER_IMPROVEMENT.get(key[1], {}).get(baseline, math.nan)
                            if metric == metric_of(key[1]) else math.nan})  # the paper has no CER
    columns = SETTING + ["metric", "baseline", "ratios", "n_ratios", "relative_improvement", "paper"]
    return pd.DataFrame(summary, columns=columns), pd.DataFrame(by_ratio)


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
    """A GitHub Markdown table (no extra dependency)."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def improvement_markdown(summary: pd.DataFrame) -> str:
    frame = summary.copy()
    frame["ours"] = [f"{v:+.1%}" if not math.isnan(v) else "" for v in frame["relative_improvement"]]
    frame["paper"] = [f"{v:+.0%}" if not math.isnan(v) else "" for v in frame["paper"]]
    frame["setting"] = [setting_label(tuple(k)) for k in frame[SETTING].itertuples(index=False)]
    frame["baseline"] = [BASELINE_NAMES.get(b, b) for b in frame["baseline"]]
    return markdown_table(frame[["setting", "metric", "baseline", "ratios", "ours", "paper"]])


#: Two methods whose relative improvements differ by less than this are a tie, not a different order.
TIE = 0.01


def ordering(summary: pd.DataFrame, key: tuple[str, str, str]) -> tuple[list[str], list[str], list[str]]:
    """(our ordering best first, the paper's, the pairs the two order differently).

    A pair counts as ordered differently only when we separate it by at least :data:`TIE`.
    """
    mask = (summary[SETTING] == pd.Series(key, index=SETTING)).all(axis=1)
    rows = summary[mask]
    ours = {"deepthin": 0.0} | {r.baseline: r.relative_improvement for r in rows.itertuples()}
    ours = {m: v for m, v in ours.items() if not math.isnan(v)}
    paper_values = {"deepthin": 0.0} | PAPER_IMPROVEMENT.get(key[1], {})
    paper_values = {m: v for m, v in paper_values.items() if m in ours}
    ours_order = sorted(ours, key=lambda m: ours[m])
    paper_order = sorted(paper_values, key=lambda m: paper_values[m])
    differences = []
    for i, a in enumerate(ours_order):
        for b in ours_order[i + 1:]:
            known = a in paper_values and b in paper_values
            if known and paper_values[a] > paper_values[b] and ours[b] - ours[a] >= TIE:
                differences.append(f"{a} beats {b} here; the paper has {b} ahead of {a}")
    return ours_order, paper_order, differences


# ----------------------------------------------------------------------------- figures
def _method_style(method: str) -> dict[str, Any]:
    colors = dict(zip(METHODS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    return {"color": colors.get(method), "marker": "o" if method == "deepthin" else "s",
            "linewidth": 2.2 if method == "deepthin" else 1.4}


def _methods_in(stats: pd.DataFrame) -> list[str]:
    present = set(stats["method"])
    return [m for m in METHODS if m in present] + sorted(present - set(METHODS))


def _dense_line(ax, stats: tuple[float, float, int] | None, label: str = "dense") -> None:
    if stats is None:
        return
    mean, std, n = stats
    ax.axhline(mean, color="black", linestyle="--", linewidth=1.2, label=f"{label} (n={n})")
    if std > 0:
        ax.axhspan(mean - std, mean + std, color="black", alpha=0.08)


def _lines_vs_ratio(ax, stats: pd.DataFrame) -> None:
    for method in _methods_in(stats):
        rows = stats[stats["method"] == method].sort_values("ratio")
        style = _method_style(method)
        ax.plot(rows["ratio"], rows["mean"], label=f"{method} (n={int(rows['count'].min())})", **style)
        ax.fill_between(rows["ratio"], rows["mean"] - rows["std"], rows["mean"] + rows["std"],
                        color=style["color"], alpha=0.15)
    ax.set_xscale("log")
    ax.set_xlabel("compression ratio (stored / original parameters of the compressed layers)")
    ax.grid(True, which="both", alpha=0.3)


def figure_metric_vs_ratio(key, runs: pd.DataFrame, out: Path) -> Path:
    """The paper's metric (left) and CER (right) against the ratio."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for ax, metric in zip(axes, (metric_of(key[1]), SECONDARY_METRIC), strict=True):
        _lines_vs_ratio(ax, seed_means(runs, metric))
        _dense_line(ax, dense_stats(runs, metric))
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        ax.legend(fontsize=8)
    fig.suptitle(f"{setting_label(key)}: {METRIC_LABELS.get(metric_of(key[1]))} and CER vs ratio "
                 "(mean +- std over seeds)")
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


def figure_size_vs_metric(key, runs: pd.DataFrame, out: Path) -> Path:
    metric = metric_of(key[1])
    points = runs.groupby(["method", "ratio"])[["stored_params", metric]].mean().reset_index()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for method in _methods_in(points):
        rows = points[points["method"] == method]
        style = _method_style(method)
        ax.scatter(rows["stored_params"], rows[metric], label=method, color=style["color"] or "black",
                   marker=style["marker"], s=40 if method == "deepthin" else 28)
    front = pareto_front(points, "stored_params", metric)
    ax.step(front["stored_params"], front[metric], where="post", color="gray", linewidth=1, alpha=0.7,
            label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel("stored parameters (whole model)")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(f"{setting_label(key)}: size vs {METRIC_LABELS.get(metric, metric)} (seed means)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out / f"{setting_slug(key)}_size_vs_metric.png")


def speedups(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (method, ratio): latency per audio second (seed mean) and speedup over dense's mean."""
    stats = seed_means(runs, "latency_per_audio_second")
    dense = dense_stats(runs, "latency_per_audio_second")
    stats["speedup"] = dense[0] / stats["mean"] if dense else math.nan
    return stats


def figure_latency(key, runs: pd.DataFrame, out: Path) -> Path:
    stats = speedups(runs)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    _lines_vs_ratio(left, stats)
    _dense_line(left, dense_stats(runs, "latency_per_audio_second"))
    left.set_ylabel("latency (s per audio second)")
    left.legend(fontsize=8)
    if stats["speedup"].notna().any():
        for method in _methods_in(stats):
            rows = stats[stats["method"] == method].sort_values("ratio")
            right.plot(rows["ratio"], rows["speedup"], label=method, **_method_style(method))
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


# ----------------------------------------------------------------------------- REPORT.md
def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{cpu}, {cores} usable cores{memory}; {platform.platform()}; "
            f"Python {platform.python_version()}")


def commands(table: pd.DataFrame) -> list[str]:
    """Sweep commands equivalent to the runs, rebuilt from the overrides each results.json records."""
    groups: dict[tuple[str, ...], dict[str, set]] = {}
    for row in table.itertuples():
        overrides = json.loads(row.overrides)
        if not overrides:
            continue
        fixed = tuple(o for o in overrides if o.split("=", 1)[0] not in SWEPT_KEYS)
        swept = groups.setdefault(fixed, {k: set() for k in SWEPT_KEYS})
        for k in SWEPT_KEYS:
            swept[k].add(getattr(row, k))
    lines = []
    for fixed, swept in groups.items():
        quoted = [f"'{o}'" if any(c in o for c in "[],") else o for o in fixed]
        values = [f"{k}={','.join(str(v) for v in sorted(swept[k]))}" for k in SWEPT_KEYS]
        lines.append("deepthin-run -m " + " ".join(quoted + values))
    return sorted(lines)


def saturation_note(key, runs: pd.DataFrame) -> str | None:
    """A plain sentence when most compressed points have a WER near 1 (their WER says little)."""
    stats = seed_means(runs, REPORTED_WER)
    if stats.empty:
        return None
    saturated = int((stats["mean"] >= SATURATED_WER).sum())
    if saturated * 2 < len(stats):
        return None
    cer = seed_means(runs, SECONDARY_METRIC)
    cer_saturated = int((cer["mean"] >= SATURATED_WER).sum())
    verdict = "the CER table below still does"
    if cer_saturated * 2 >= len(cer):
        verdict = (f"and neither can CER ({cer_saturated} of {len(cer)} points >= {SATURATED_WER:g}): "
                   "only the test loss separates them")
    return (f"- **{setting_label(key)}**: {saturated} of {len(stats)} compressed (method, ratio) points have "
            f"a mean WER >= {SATURATED_WER:g}: those models barely left CTC's all-blank plateau in the "
            f"epoch budget, so their WER cannot rank methods; {verdict}.")


def old_pruning_note(table: pd.DataFrame) -> str | None:
    """A plain sentence naming the pruning runs trained before pruning followed TFMOT's step convention."""
    if "step_convention" not in table:
        return None
    old = table[(table["method"] == "pruning") & (table["step_convention"] != STEP_CONVENTION)]
    if old.empty:
        return None
    return (f"**{len(old)} pruning run(s) predate TFMOT's step convention** (they record no "
            "`method_details.step_convention`): their first training batch ran at step 0, so every mask "
            "update came one batch after TFMOT's for the same schedule (see `deepthin/methods/pruning.py`). "
            "Runs: " + ", ".join(f"`{d}`" for d in old["run_dir"]) + ".")


def job_hours(runs: pd.DataFrame) -> float:
    """Compute spent on the runs: training plus evaluation, summed over jobs."""
    return float((runs["train_seconds"].fillna(0) + runs["eval_seconds"].fillna(0)).sum()) / 3600


def grid_cuts(key, runs: pd.DataFrame) -> str:
    ratios = sorted(runs.loc[runs["method"] != "dense", "ratio"].unique())
    seeds = sorted(runs["seed"].unique())
    methods = [m for m in METHODS if m in set(runs["method"])]
    epochs = sorted({int(e) for e in runs["epochs"].dropna()})
    cuts = []
    if key[2] != PAPER_GRID["preset"]:
        cuts.append(f"preset `{key[2]}` instead of the paper's model size")
    missing = [f"{r:g}" for r in PAPER_GRID["ratios"] if not any(math.isclose(r, x) for x in ratios)]
    if missing:
        cuts.append(f"ratios {', '.join(missing)} not run")
    if len(seeds) < PAPER_GRID["seeds"]:
        cuts.append(f"{len(seeds)} seed(s) instead of {PAPER_GRID['seeds']}")
    absent = [m for m in PAPER_GRID["methods"] if m not in methods]
    if absent:
        cuts.append(f"methods not run: {', '.join(absent)}")
    ran = (f"methods {', '.join(methods)}; ratios {', '.join(f'{r:g}' for r in ratios) or '-'}; "
           f"seeds {', '.join(str(s) for s in seeds)}; epochs {', '.join(map(str, epochs)) or '?'}; "
           f"{len(runs)} runs, {job_hours(runs):.1f} job-hours of training and evaluation")
    return f"- **{setting_label(key)}**: {ran}. Cut: {'; '.join(cuts) if cuts else 'nothing'}."


def write_report(root: Path, table: pd.DataFrame, incomplete: list[str], summary: pd.DataFrame,
                 cer_summary: pd.DataFrame, figures: dict[tuple, list[Path]], argv: list[str]) -> Path:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    finished = table["finished_at"].dropna()
    commits = sorted(set(table["git_commit"].dropna()))
    out = [
        "# DeepThin reproduction: sweep report",
        "",
        f"Generated {now} by `deepthin-report {' '.join(argv)}`. Report machine: {machine()}. "
        f"{len(table)} complete runs"
        + (f", finished between {finished.min()} and {finished.max()}" if len(finished) else "")
        + f"; code at commit(s) {', '.join(f'`{c}`' for c in commits) or 'unknown'}. "
        f"{len(incomplete)} run directories are incomplete (killed or in flight) or finished untrained "
        "(greedy output blank on most test utterances, `trained: false` in runs.csv) and not counted"
        + (": " + ", ".join(f"`{d}`" for d in incomplete[:10]) + (" ..." if len(incomplete) > 10 else "")
           if incomplete else "") + ".",
        "",
        "All runs: `runs.csv`. Metric per model (lower is better): WER for TFKaldi, decoded with the "
        "corpus's lexicon (`wer_lexicon`, flashlight-text's lexicon beam search), and test (CTC) loss for "
        "DeepSpeech, as in the paper; greedy WER and CER are shown beside them. Relative improvement of "
        "DeepThin over a baseline = (M_baseline - M_deepthin) / M_baseline at each ratio (seed means), "
        "averaged over the ratios both methods were run at. Every method uses the same schedule; model "
        "selection (best epoch) uses the dev set only, never the test set.",
        "",
        *([note, ""] if (note := old_pruning_note(table)) else []),
        "## Commands",
        "",
        "The sweeps (equivalent commands, rebuilt from the overrides each `results.json` records), "
        "then this report:",
        "",
        "```",
        *commands(table),
        f"deepthin-report {' '.join(argv)}".rstrip(),
        "```",
        "",
        "## DeepThin against each baseline: ours and the paper's",
        "",
        improvement_markdown(summary) if not summary.empty
        else "_No setting has both DeepThin and a baseline._",
        "",
        "The paper's averages: TFKaldi WER, DeepThin better than rank factorization by 60%, pruning 57%, "
        "hand-tuned 23%, HashedNets 6%; DeepSpeech test loss: 28%, 27%, 20%, 12%. Positive: DeepThin is "
        "better. Table as CSV: `relative_improvement.csv` (per ratio: `relative_improvement_by_ratio.csv`).",
        "",
        "## The same comparison on CER",
        "",
        "Character error rate (greedy) for every model; not in the paper, which reports WER for TFKaldi "
        "and test loss for DeepSpeech. Table as CSV: `relative_improvement_cer.csv`.",
        "",
        *[note for key, runs in settings(table) if (note := saturation_note(key, runs))],
        "",
        improvement_markdown(cer_summary) if not cer_summary.empty else "_No CER comparison._",
        "",
        "## Results per setting (means over seeds)",
        "",
        *[line for key, runs in settings(table)
          for line in (f"### {setting_label(key)}", "", markdown_table(results_table(runs)), "")],
        "## Method ordering (best first) against the paper's",
        "",
        f"Pairs we separate by less than {TIE:.0%} (relative) count as ties. The CER lines hold our "
        "CER ordering against the paper's ordering on its own metric.",
        "",
    ]
    for key, _ in settings(table):
        for frame, name in ((summary, METRIC_LABELS[metric_of(key[1])]), (cer_summary, "CER")):
            ours, paper, differences = ordering(frame, key)
            if len(ours) < 2:
                continue
            verdict = ("**Differs from the paper:** " + "; ".join(differences) + "." if differences
                       else f"No pair we separate by {TIE:.0%} or more is ordered unlike the paper.")
            out.append(f"- **{setting_label(key)}**, {name}: ours {' > '.join(ours)}; "
                       f"paper {' > '.join(paper)}. {verdict}")
    out += ["", "## What was cut from the paper's grid", "",
            f"The paper's grid (conf/experiment/paper_*.yaml): preset `paper`, ratios "
            f"{', '.join(f'{r:g}' for r in PAPER_GRID['ratios'])}, {PAPER_GRID['seeds']} seeds, methods "
            f"{', '.join(PAPER_GRID['methods'])} (dense once per seed), on the paper's corpora.", ""]
    out += [grid_cuts(key, runs) for key, runs in settings(table)]
    out += ["", "## Figures", ""]
    for key, paths in figures.items():
        out += [f"### {setting_label(key)}", ""]
        out += [f"![{p.stem}]({os.path.relpath(p, root)})" for p in paths]
        out.append("")
    path = root / "REPORT.md"
    path.write_text("\n".join(out) + "\n")
    return path


# ----------------------------------------------------------------------------- entry point
def build(root: Path, argv: list[str] | None = None) -> dict[str, Path]:
    """Write every output for the results tree ``root``; returns what was written."""
    table, incomplete = collect(root)
    if table.empty:
        raise FileNotFoundError(f"no complete results.json under {root}")
    needed = {metric_of(model) for model in table["model"]} | {REPORTED_WER, SECONDARY_METRIC}
    if missing := sorted(needed - set(table.columns)):
        raise ValueError(f"no run under {root} has {', '.join(missing)} (written before that metric "
                         "existed); allowed: results.json of this deepthin-run (re-run those runs)")
    written = {"runs": root / "runs.csv"}
    table.to_csv(written["runs"], index=False)  # every run, with its ``trained`` flag
    untrained = table.loc[table["trained"].eq(False), "run_dir"].tolist()
    table = table[~table["trained"].eq(False)]  # a model left on the plateau is never averaged in
    if table.empty:
        raise FileNotFoundError(f"no trained run under {root}: all {len(untrained)} stayed on the plateau")
    summary, by_ratio = relative_improvement(table)
    written["improvement_csv"] = root / "relative_improvement.csv"
    summary.to_csv(written["improvement_csv"], index=False)
    by_ratio.to_csv(root / "relative_improvement_by_ratio.csv", index=False)
    written["improvement_md"] = root / "relative_improvement.md"
    written["improvement_md"].write_text(improvement_markdown(summary) + "\n")
    cer_summary, _ = relative_improvement(table, lambda model: SECONDARY_METRIC)
    written["improvement_cer_csv"] = root / "relative_improvement_cer.csv"
    cer_summary.to_csv(written["improvement_cer_csv"], index=False)
    fig_dir = root / "figures"
    figures = {}
    for key, runs in settings(table):
        figures[key] = [figure_metric_vs_ratio(key, runs, fig_dir), figure_size_vs_metric(key, runs, fig_dir),
                        figure_latency(key, runs, fig_dir)]
    written["report"] = write_report(root, table, incomplete + untrained, summary, cer_summary, figures,
                                     argv or [])
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="deepthin-report", description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"),
                        help="results tree written by deepthin-run (default: results)")
    args = parser.parse_args(argv)
    raw = sys.argv[1:] if argv is None else argv
    try:
        written = build(args.results, raw)
    except (FileNotFoundError, ValueError) as error:
        print(f"deepthin-report: error: {error}", file=sys.stderr)
        sys.exit(2)
    print(written["improvement_md"].read_text(), end="")
    for name, path in written.items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
