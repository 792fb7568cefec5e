"""``deepthin-report``: the paper's tables and figures from every finished ``deepthin-run``.

    deepthin-report                       # reads results/, writes into results/
    deepthin-report --results DIR         # another results tree (tests use a temporary one)

Collects every ``results.json`` with ``"complete": true`` into ``runs.csv`` (untrained runs
included, marked; ``dev_loss_outlier`` marks the counted runs whose dev loss is an outlier among their
seeds), then, from the trained runs only: ``relative_improvement.csv`` / ``.md`` (DeepThin
against each baseline, with the spread over seeds and a paired test; per ratio:
``relative_improvement_by_ratio.csv``; on CER: ``relative_improvement_cer.csv``; per ratio in the
metric's own units, with bootstrap intervals: ``absolute_difference_by_ratio.csv``), three figures per
setting under ``figures/`` (metric and CER against ratio, the Pareto view against latency and stored
bytes, latency against ratio) and ``REPORT.md``, which holds them all beside the paper's numbers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from deepthin.report.absolute import absolute_differences
from deepthin.report.collect import collect, from_trained, settings, untrained
from deepthin.report.figures import figures
from deepthin.report.markdown import write_report
from deepthin.report.paper import REPORTED_WER, SECONDARY_METRIC, metric_of
from deepthin.report.robust import OUTLIER, flag_outliers
from deepthin.report.stats import relative_improvement
from deepthin.report.tables import improvement_markdown


def build(root: Path, argv: list[str] | None = None) -> dict[str, Path]:
    """Write every output for the results tree ``root``; returns what was written."""
    table, incomplete = collect(root)
    if table.empty:
        raise FileNotFoundError(f"no complete results.json under {root}")
    needed = {metric_of(model) for model in table["model"]} | {REPORTED_WER, SECONDARY_METRIC}
    if missing := sorted(needed - set(table.columns)):
        raise ValueError(f"no run under {root} has {', '.join(missing)} (written before that metric "
                         "existed); allowed: results.json of this deepthin-run (re-run those runs)")
    blank, started = untrained(table), from_trained(table)
    counted = table.index.difference(blank.index.union(started.index))
    table[OUTLIER] = flag_outliers(table.loc[counted]).reindex(table.index)  # empty: not counted
    written = {"runs": root / "runs.csv"}
    table.to_csv(written["runs"], index=False)  # every run, with its ``trained`` flag
    table = table.loc[counted]  # a model left on the plateau is never averaged in
    if table.empty:
        raise FileNotFoundError(f"no trained run under {root}: all {len(blank)} stayed on the plateau")
    summaries, comparisons = comparisons_of(root, table)
    drawn = {key: figures(key, runs, root / "figures") for key, runs in settings(table)}
    written |= comparisons
    written["report"] = write_report(root, table, (blank, started.drop(blank.index, errors="ignore")),
                                     incomplete, summaries, drawn, argv or [])
    return written


def comparisons_of(root: Path, table: pd.DataFrame) -> tuple[tuple[pd.DataFrame, ...], dict[str, Path]]:
    """DeepThin against each baseline in the counted runs ``table``, written as CSV and Markdown:
    (the paper metric's summary, CER's summary, the per-ratio absolute differences), and the paths."""
    summary, by_ratio = relative_improvement(table)
    cer_summary, _ = relative_improvement(table, lambda model: SECONDARY_METRIC)
    absolute = absolute_differences(table)
    written = {"improvement_csv": root / "relative_improvement.csv",
               "improvement_md": root / "relative_improvement.md",
               "improvement_cer_csv": root / "relative_improvement_cer.csv",
               "absolute_csv": root / "absolute_difference_by_ratio.csv"}
    summary.to_csv(written["improvement_csv"], index=False)
    by_ratio.to_csv(root / "relative_improvement_by_ratio.csv", index=False)
    written["improvement_md"].write_text(improvement_markdown(summary) + "\n")
    cer_summary.to_csv(written["improvement_cer_csv"], index=False)
    absolute.to_csv(written["absolute_csv"], index=False)
    return (summary, cer_summary, absolute), written


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
