"""``deepthin-recipe-check``: do the recipes learn? Dense and DeepThin runs against fixed targets.

Every comparison the project makes is meaningless if the models stay on CTC's
all-blank plateau, so ``make recipe-check`` trains dense, DeepThin at 0.1 and
DeepThin at 0.02 (seeds 0-2) on each CPU setting, and this command reads those
runs from ``results/`` into ``results/recipe_check.csv`` and checks them
against the targets below (means over seeds, greedy decoding, test set).
It reads only ``results/``, like the report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from deepthin.report.collect import Setting, collect, in_setting, setting_label
from deepthin.report.tables import markdown_table

#: Setting (data, model, preset, schedule, as in conf/experiment/recipe_check_*.yaml) -> (dense CER
#: target, wall-seconds budget of one run). FSDD trains for 12 epochs, not the cpu preset's 8: at 8,
#: 63 of the 111 FSDD grid runs still lost over 2% of dev loss in their last epoch.
SETTINGS: dict[Setting, tuple[float, float]] = {
    ("fsdd", "tfkaldi", "cpu", "-12epochs"): (0.05, 300.0),
    ("synth", "tfkaldi", "cpu", ""): (0.30, 300.0),
    ("synth", "deepspeech", "cpu", ""): (0.15, 600.0),
}
#: (method, ratio) of the check; dense runs at ratio 1.0 (see conf/experiment/dense.yaml).
RUNS = (("dense", 1.0), ("deepthin", 0.1), ("deepthin", 0.02))
SEEDS = (0, 1, 2)
DEEPTHIN_01_VS_DENSE = 1.5  # DeepThin at 0.1: CER at most this many times dense's
DEEPTHIN_002_CER = 0.6  # DeepThin at 0.02: CER at most this
COLUMNS = ["setting", "method", "ratio", "seed", "cer_greedy", "wer_greedy", "test_loss",
           "train_seconds", "wall_seconds", "epochs_run", "trained"]


def check_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The recipe-check runs among all finished runs, one row each, in :data:`COLUMNS`."""
    rows = []
    for key in SETTINGS:
        ours = in_setting(runs, key)
        for method, ratio in RUNS:
            chosen = ours & (runs["method"] == method) & (runs["ratio"] == ratio) & runs["seed"].isin(SEEDS)
            for _, run in runs[chosen].iterrows():
                rows.append({"setting": setting_label(key), **{c: run.get(c) for c in COLUMNS[1:]}})
    return pd.DataFrame(rows, columns=COLUMNS)


def verdicts(table: pd.DataFrame) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) per target and setting; ``None`` when its runs are missing."""
    out: list[tuple[str, str, bool | None]] = []
    for key, (dense_target, budget) in SETTINGS.items():
        label = setting_label(key)
        mine = table[table["setting"] == label]

        def mean_cer(method: str, ratio: float, frame: pd.DataFrame = mine) -> float | None:
            rows = frame[(frame["method"] == method) & (frame["ratio"] == ratio)]
            return float(rows["cer_greedy"].mean()) if len(rows) == len(SEEDS) else None

        dense, thin01, thin002 = (mean_cer(m, r) for m, r in RUNS)
        ratio01 = None if None in (dense, thin01) else thin01 / dense
        checks = [
            (f"{label}: dense CER <= {dense_target}", dense, dense is not None and dense <= dense_target),
            (f"{label}: DeepThin 0.1 CER <= {DEEPTHIN_01_VS_DENSE} x dense (ratio to dense)", ratio01,
             ratio01 is not None and ratio01 <= DEEPTHIN_01_VS_DENSE),
            (f"{label}: DeepThin 0.02 CER <= {DEEPTHIN_002_CER}", thin002,
             thin002 is not None and thin002 <= DEEPTHIN_002_CER),
        ]
        for name, value, met in checks:
            out.append((name, "missing" if value is None else f"{value:.3f}", None if value is None else met))
        out.append((f"{label}: every run trained", f"{int(mine['trained'].sum())}/{len(mine)}",
                    bool(len(mine)) and bool(mine["trained"].all()) if len(mine) else None))
        slowest = mine["wall_seconds"].max() if len(mine) else None
        out.append((f"{label}: each run <= {budget:.0f} s wall",
                    "missing" if slowest is None else f"max {slowest:.0f} s",
                    None if slowest is None else bool(slowest <= budget)))
    return out


def main(argv: list[str] | None = None) -> None:
    """Write ``results/recipe_check.csv`` and print it with the targets; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(prog="deepthin-recipe-check", description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"), help="the results directory")
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        print(f"deepthin-recipe-check: error: {args.results} is not a directory; "
              "allowed: the results directory of finished runs", file=sys.stderr)
        sys.exit(2)
    runs, _ = collect(args.results)
    table = check_runs(runs) if not runs.empty else pd.DataFrame(columns=COLUMNS)
    table.to_csv(args.results / "recipe_check.csv", index=False)
    print(markdown_table(table))
    print()
    results = verdicts(table)
    for name, value, met in results:
        mark = {True: "met", False: "MISSED", None: "not run"}[met]
        print(f"- {name}: {value} ({mark})")
    if any(met is False for _, _, met in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
