"""Issue 15's measured claims, from the runs ``make claims-fit`` leaves under ``results/``.

    python scripts/fit_claims.py --results results --data fsdd --model tfkaldi

(a) fit + fine-tune (``METHOD+fit``) against training from scratch (``METHOD``) at equal epochs;
(b) the first epoch at which the fine-tuned run's dev loss reaches the from-scratch run's best;
(c) allocated (``deepthin+fit+alloc``) against uniform ratios (``deepthin+fit``) at the same total.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd


def runs(results: Path, data: str, model: str) -> pd.DataFrame:
    """One row per finished run of the setting (cpu preset, seed 0)."""
    rows = []
    for path in sorted((results / data / f"{model}-cpu").glob("*/ratio=*/seed=0/results.json")):
        r = json.loads(path.read_text())
        if r.get("complete"):
            m = r["metrics"]
            rows.append({"method": r["method"], "ratio": r["ratio"], "stored": r["size"]["stored_params"],
                         **{k: m[k] for k in ("dev_loss", "test_loss", "cer_greedy", "wer_lexicon")},
                         "epochs": m["epochs_run"], "dev_by_epoch": [h["dev_loss"] for h in r["history"]]})
    return pd.DataFrame(rows)


def epochs_to_reach(fitted: list[float], target: float) -> int | None:
    """First epoch (1-based) whose dev loss is at most ``target``; None if none is."""
    return next((i + 1 for i, loss in enumerate(fitted) if loss <= target), None)


def fit_against_scratch(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """(a) and (b): each ``METHOD+fit`` run beside the ``METHOD`` run of the same ratio."""
    rows = []
    for (method, ratio), fit in frame.iterrows():
        base = method.removesuffix("+fit")
        if method.endswith("+fit") and (base, ratio) in frame.index:
            scratch = frame.loc[(base, ratio)]
            rows.append({"method": base, "ratio": ratio, "epochs": scratch["epochs"],
                         f"{metric} scratch": scratch[metric], f"{metric} fit": fit[metric],
                         "cer scratch": scratch["cer_greedy"], "cer fit": fit["cer_greedy"],
                         "fit epochs to scratch dev loss": epochs_to_reach(fit["dev_by_epoch"],
                                                                           scratch["dev_loss"])})
    return pd.DataFrame(rows)


def allocated_against_uniform(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """(c): ``deepthin+fit+alloc`` beside ``deepthin+fit`` at 0.02 and 0.01."""
    rows = []
    for ratio in (0.02, 0.01):
        if ("deepthin+fit", ratio) in frame.index and ("deepthin+fit+alloc", ratio) in frame.index:
            uniform, allocated = frame.loc[("deepthin+fit", ratio)], frame.loc[("deepthin+fit+alloc", ratio)]
            rows.append({"ratio": ratio, "stored uniform": uniform["stored"],
                         "stored allocated": allocated["stored"], f"{metric} uniform": uniform[metric],
                         f"{metric} allocated": allocated[metric], "dev loss uniform": uniform["dev_loss"],
                         "dev loss allocated": allocated["dev_loss"]})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--data", default="fsdd")
    parser.add_argument("--model", default="tfkaldi")
    args = parser.parse_args()
    frame = runs(args.results, args.data, args.model).set_index(["method", "ratio"])
    metric = "wer_lexicon" if args.model == "tfkaldi" else "test_loss"  # the paper's metric per model
    print("(a), (b):\n" + fit_against_scratch(frame, metric).to_string(index=False))
    print("(c):\n" + allocated_against_uniform(frame, metric).to_string(index=False))


if __name__ == "__main__":
    main()
