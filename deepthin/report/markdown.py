"""``REPORT.md``: one function per section, each a list of lines, joined by :func:`write_report`."""

from __future__ import annotations

import math
import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from deepthin.report.absolute import absolute_section
from deepthin.report.collect import Setting, in_setting, setting_label, settings
from deepthin.report.context import commands, job_hours, machine
from deepthin.report.limit import limit_section
from deepthin.report.paper import (
    BASELINE_NAMES,
    BASELINES,
    METHODS,
    METRIC_LABELS,
    PAPER_GRID,
    REPORTED_WER,
    SATURATED_WER,
    SECONDARY_METRIC,
    STEP_CONVENTION,
    metric_of,
)
from deepthin.report.stats import TEST, margin_order, seed_means
from deepthin.report.tables import (
    flagged_section,
    improvement_markdown,
    markdown_table,
    results_table,
    size_note,
    spread,
)
from deepthin.report.tuning import tuning_section


def header(table: pd.DataFrame, argv: list[str]) -> list[str]:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    finished = table["finished_at"].dropna()
    commits = sorted(set(table["git_commit"].dropna()))
    span = f", finished between {finished.min()} and {finished.max()}" if len(finished) else ""
    return ["# DeepThin reproduction: sweep report", "",
            f"Generated {now} by `deepthin-report {' '.join(argv)}`. Report machine: {machine()}. "
            f"{len(table)} complete runs{span}; code at commit(s) "
            f"{', '.join(f'`{c}`' for c in commits) or 'unknown'}.", "",
            "All runs: `runs.csv`. Metric per model (lower is better): WER for TFKaldi, decoded with the "
            "corpus's lexicon (`wer_lexicon`, flashlight-text's lexicon beam search), and test (CTC) loss "
            "for DeepSpeech, as in the paper; greedy WER and CER are shown beside them. Relative "
            "improvement of DeepThin over a baseline = (M_baseline - M_deepthin) / M_baseline at each ratio "
            "(means over the seeds both ran), averaged over the ratios both methods were run at. Every "
            "method uses the same data, epochs, schedule and seeds; model selection (best epoch) uses the "
            "dev set only. "
            f"Significance: a {TEST}, p < 0.05.", ""]


def _by_setting(runs: pd.DataFrame) -> list[str]:
    return [f"- {setting_label(key)} ({len(group)}): " + ", ".join(f"`{d}`" for d in group["run_dir"])
            for key, group in (settings(runs) if len(runs) else [])]


def not_counted(untrained: pd.DataFrame, incomplete: list[str], started: pd.DataFrame) -> list[str]:
    """Runs left out of every mean and test, by name: a model that did not learn, a run not finished,
    or one that started from a trained model (not the grid's experiment)."""
    lines = ["## Runs not counted", "",
             f"{len(untrained)} run(s) finished without training (greedy output blank on most test "
             "utterances, `trained: false` in runs.csv); they are excluded from every mean, table and test.",
             *_by_setting(untrained)]
    if len(started):
        lines += ["", f"{len(started)} run(s) started from a trained model (`init=fit`) or from a "
                  "sensitivity table (`allocate=sensitivity`): they compare with each other and with "
                  "training from scratch in `scripts/fit_claims.py`, not in this grid.",
                  *_by_setting(started)]
    lines += ["", f"{len(incomplete)} run directories are incomplete (killed, in flight, or diverged)"
              + (": " + ", ".join(f"`{d}`" for d in incomplete) if incomplete else "") + ".", ""]
    return lines


def _evidence(row) -> str:
    p = "" if math.isnan(row.p_value) else f"p={row.p_value:.3g}, "
    return (f"{row.relative_improvement:+.1%} over ratios {row.ratios}; per seed "
            f"{spread(row.per_seed_mean, row.per_seed_std)}; {p}n={row.n_pairs} pairs")


def orderings(key: Setting, runs: pd.DataFrame, summary: pd.DataFrame, metric: str) -> list[str]:
    """The paper's ordering claims in one setting on one metric, each held / reversed / not separable."""
    rows = summary[in_setting(summary, key)]
    lines = [f"- **{setting_label(key)}**, {METRIC_LABELS.get(metric, metric)}:"]
    for row in rows.itertuples():
        claim = "DeepThin better than" if row.baseline in BASELINES else "DeepThin (paper policy) better than"
        lines.append(f"  - {claim} {BASELINE_NAMES.get(row.baseline, row.baseline)}: **{row.verdict}** "
                     f"({_evidence(row)})")
    for row in margin_order(runs, metric).itertuples():
        mean = "" if math.isnan(row.mean_difference) else f"mean difference {row.mean_difference:+.1%}, "
        p = "" if math.isnan(row.p_value) else f"p={row.p_value:.3g}, "
        lines.append(f"  - margin over {BASELINE_NAMES[row.larger]} larger than over "
                     f"{BASELINE_NAMES[row.smaller]}: **{row.verdict}** ({mean}{p}n={row.n_pairs} pairs)")
    return lines if len(lines) > 1 else []


def ordering_section(table: pd.DataFrame, summary: pd.DataFrame, cer_summary: pd.DataFrame) -> list[str]:
    lines = ["## The paper's orderings", "",
             "The paper: DeepThin is better than rank factorization, magnitude pruning, hand-tuned and "
             "HashedNets, in that order of margin. Each claim per setting: **held** (significant in the "
             "paired test, in the paper's direction), **reversed** (significant, the other way) or **not "
             "separable** (p >= 0.05: with 3 seeds per point, a difference smaller than the seed-to-seed "
             "spread cannot be told from "
             "noise). The CER lines test the same claims on CER, which the paper does not report.", ""]
    for key, runs in settings(table):
        lines += orderings(key, runs, summary, metric_of(key[1]))
        lines += orderings(key, runs, cer_summary, SECONDARY_METRIC)
    return lines + [""]


def saturation_note(key: Setting, runs: pd.DataFrame) -> str | None:
    """A plain sentence when most compressed points have a WER near 1 (their WER says little)."""
    stats = seed_means(runs, REPORTED_WER)
    if stats.empty or (saturated := int((stats["mean"] >= SATURATED_WER).sum())) * 2 < len(stats):
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


def grid_cuts(key: Setting, runs: pd.DataFrame) -> str:
    """What one setting ran, and what it cut from the paper's grid."""
    ratios = sorted(runs.loc[runs["method"] != "dense", "ratio"].unique())
    seeds = sorted(runs["seed"].unique())
    methods = [m for m in METHODS if m in set(runs["method"])]
    epochs = sorted({int(e) for e in runs["epochs"].dropna()})
    missing = [f"{r:g}" for r in PAPER_GRID["ratios"] if not any(math.isclose(r, x) for x in ratios)]
    absent = [m for m in PAPER_GRID["methods"] if m not in methods]
    cuts = [f"preset `{key[2]}` instead of the paper's model size"] if key[2] != PAPER_GRID["preset"] else []
    cuts += [f"ratios {', '.join(missing)} not run"] if missing else []
    if len(seeds) < PAPER_GRID["seeds"]:
        cuts.append(f"{len(seeds)} seed(s) instead of {PAPER_GRID['seeds']}")
    cuts += [f"methods not run: {', '.join(absent)}"] if absent else []
    present = runs[runs["method"] != "dense"].groupby(["method", "ratio"])["seed"].agg(frozenset)
    lacking = [f"{m} lacks ratio(s) {' '.join(f'{r:g}' for r in ratios if (m, r) not in present)}"
               for m in methods if m != "dense" and any((m, r) not in present for r in ratios)]
    cuts += lacking + seed_gaps(present, ratios, seeds)
    ran = (f"methods {', '.join(methods)}; ratios {', '.join(f'{r:g}' for r in ratios) or '-'}; "
           f"seeds {', '.join(str(s) for s in seeds)}; epochs {', '.join(map(str, epochs)) or '?'}; "
           f"{len(runs)} runs, {job_hours(runs):.1f} job-hours of training and evaluation")
    return f"- **{setting_label(key)}**: {ran}. Cut: {'; '.join(cuts) if cuts else 'nothing'}."


def seed_gaps(present: pd.Series, ratios: list[float], seeds: list[int]) -> list[str]:
    """The points that lack a counted run of some seeds (``present``: the seeds run, per (method,
    ratio)), grouped by the seeds they lack.

    Grouped because a setting cut to one seed (DeepSpeech) would otherwise list thirty-odd points one
    by one; a method short at every ratio is named once.
    """
    groups: dict[tuple[int, ...], dict[str, list[float]]] = {}
    for (method, ratio), got in present.items():
        lacks = tuple(s for s in seeds if s not in got)
        if lacks:
            groups.setdefault(lacks, {}).setdefault(method, []).append(ratio)
    lines = []
    for lacks, by_method in groups.items():
        every = [m for m, rs in by_method.items() if len(rs) == len(ratios)]
        parts = [f"{m} {' '.join(f'{r:g}' for r in rs)}" for m, rs in by_method.items() if m not in every]
        parts += [f"{', '.join(every)} at every ratio"] if every else []
        seeds_word = "seeds" if len(lacks) > 1 else "seed"
        lines.append(f"no counted run of {seeds_word} {', '.join(map(str, lacks))}: {'; '.join(parts)}")
    return lines


def commands_section(table: pd.DataFrame, argv: list[str]) -> list[str]:
    return ["## Commands", "", "The sweeps (rebuilt from the overrides each `results.json` records), then "
            "this report:", "", "```", *commands(table), f"deepthin-report {' '.join(argv)}".rstrip(),
            "```", ""]


def improvement_section(summary: pd.DataFrame) -> list[str]:
    table = improvement_markdown(summary) if not summary.empty else "_No DeepThin and baseline in a setting._"
    return ["## DeepThin against each baseline: ours and the paper's", "", table,
            "", "Positive: DeepThin is better. The paper's averages: TFKaldi WER, DeepThin better than rank "
            "factorization by 60%, pruning 57%, hand-tuned 23%, HashedNets 6%; DeepSpeech test loss: 28%, "
            "27%, 20%, 12%. Beside the paper's formula (\"ours\"), two statistics one stuck run cannot "
            "swing, over the same (ratio, seed) pairs as the paired test: the **median** of the pairs' "
            "relative improvements, and the **geometric mean**, 1 - exp(mean(log(M_deepthin / "
            "M_baseline))): the ratio theirs/ours averaged on a log scale, so a run 10x worse costs what "
            "one 10x better gains (the paper's formula counts -900% against at most +100%; pairs with a "
            "0 are left out of it). \"Ours without flagged\": the paper's formula without the pairs that "
            "hold a flagged run (empty: none flagged). CSV: `relative_improvement.csv` (per ratio: "
            "`relative_improvement_by_ratio.csv`).", ""]


def cer_section(table: pd.DataFrame, cer_summary: pd.DataFrame) -> list[str]:
    notes = [note for key, runs in settings(table) if (note := saturation_note(key, runs))]
    return ["## The same comparison on CER", "",
            "Greedy CER of every model; not in the paper. CSV: `relative_improvement_cer.csv`.", "",
            *notes, "", improvement_markdown(cer_summary) if not cer_summary.empty else "_None._", ""]


def results_section(table: pd.DataFrame) -> list[str]:
    lines = ["## Results per setting (means over seeds)", "", *size_note(table)]
    for key, runs in settings(table):
        lines += [f"### {setting_label(key)}", "", markdown_table(results_table(runs)), ""]
    return lines


def cuts_section(table: pd.DataFrame) -> list[str]:
    return ["## What was cut from the paper's grid", "",
            f"The paper's grid (conf/experiment/paper_*.yaml): preset `paper`, ratios "
            f"{', '.join(f'{r:g}' for r in PAPER_GRID['ratios'])}, {PAPER_GRID['seeds']} seeds, methods "
            f"{', '.join(PAPER_GRID['methods'])} (dense once per seed), on the paper's corpora.", "",
            *[grid_cuts(key, runs) for key, runs in settings(table)], ""]


def figures_section(root: Path, figures: dict[Setting, list[Path]]) -> list[str]:
    lines = ["## Figures", ""]
    for key, paths in figures.items():
        embedded = [f"![{p.stem}]({os.path.relpath(p, root)})" for p in paths]
        lines += [f"### {setting_label(key)}", "", *embedded, ""]
    return lines


def write_report(root: Path, table: pd.DataFrame, left_out: tuple[pd.DataFrame, pd.DataFrame],
                 incomplete: list[str], summaries: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
                 figures: dict[Setting, list[Path]], argv: list[str]) -> Path:
    """REPORT.md for the trained runs in ``table``; ``summaries``: DeepThin vs baselines on the
    paper's metric and on CER (:func:`deepthin.report.stats.relative_improvement`) and per ratio
    (:func:`deepthin.report.absolute.absolute_differences`); ``left_out``: the
    untrained runs and those started from a trained model, named but not counted."""
    (untrained, started), (summary, cer_summary, absolute) = left_out, summaries
    pruning = [note, ""] if (note := old_pruning_note(table)) else []
    lines = [*header(table, argv), *pruning, *not_counted(untrained, incomplete, started),
             *flagged_section(table), *commands_section(pd.concat([table, untrained, started]), argv),
             *improvement_section(summary), *absolute_section(table, absolute),
             *ordering_section(table, summary, cer_summary), *cer_section(table, cer_summary),
             *results_section(table), *cuts_section(table), *limit_section(root, table),
             *tuning_section(root), *figures_section(root, figures)]
    path = root / "REPORT.md"
    path.write_text("\n".join(lines) + "\n")
    return path
