"""The limit study's table (issue 27, point 6): what fitting alone, and the best hand-designed net, reach.

The paper's abstract compares DeepThin with "empirical limit study approaches". Two limits per setting
and ratio, from the runs under ``results/limit/`` (``conf/experiment/limit_*.yaml``, ``study=limit``),
which the grid's tables never count (:data:`deepthin.report.collect.STUDIES`):

- **fit-only**: each per-matrix method fitted to the setting's trained dense model (``init=fit``;
  pruning one-shot) and not trained at all (``trainer.epochs=0``): what its stored form keeps of a
  trained model before any fine-tuning. Beside it, the trained metric (from scratch, mean over seeds)
  of the setting's fair grid, else its first grid (:data:`GRID_STUDIES`), where it ran that point.
- **best hand-designed net**: the hand-tuned baseline at each depth (``method=handtuned_depth``), each
  at the width that stores the recipe's own budget at the ratio, trained like the grid and picked on
  dev loss (never on test); its test metric is the upper bound of a hand-designed net at that budget.

A fit-only run's own directory says 0 epochs; it belongs to the setting of the dense run it was fitted
to (its ``from_run``, found among this results tree's runs). Reads only ``results/`` files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from deepthin.report.collect import SETTING, Setting, collect, in_setting, setting_label
from deepthin.report.paper import METHODS, METRIC_LABELS, metric_of
from deepthin.report.stats import seed_means
from deepthin.report.tables import markdown_table

#: The limit study's subtree of a results tree (``study=limit``).
LIMIT = "limit"
#: What a fitted run's method name adds to its method's (``deepthin.experiment.start``).
FIT_SUFFIX = "+fit"
#: The grid a limit table stands beside, in order of preference: the fair grid of its setting (issue 27:
#: equal bytes, tuned methods), else the first grid (the study suffix ``collect`` gives each).
GRID_STUDIES = ("-fair", "")


def _details(root: Path, run_dir: str) -> dict[str, Any]:
    """A limit run's source run, and (a hand-designed net) its depth and width."""
    results = json.loads((root / run_dir / "results.json").read_text())
    details = results.get("method_details", {})
    arch = results.get("config", {}).get("model", {}).get("arch", {})
    depth = details.get("hidden_layers") or arch.get("hidden_layers")  # the recipe's, where not set
    return {"from_run": results.get("from_run"), "hidden_layers": depth, "width": details.get("width")}


def limit_runs(root: Path) -> pd.DataFrame:
    """The complete runs under ``root/limit`` (``run_dir`` relative to ``root``), with ``from_run``,
    ``hidden_layers`` and ``width``; empty when there are none."""
    runs = collect(root / LIMIT)[0] if (root / LIMIT).is_dir() else pd.DataFrame()
    if runs.empty:
        return runs
    runs["run_dir"] = [f"{LIMIT}/{d}" for d in runs["run_dir"]]
    runs["schedule"] = runs["schedule"].str.removesuffix(f"-{LIMIT}")  # the setting it measures limits of
    return runs.join(pd.DataFrame([_details(root, d) for d in runs["run_dir"]], index=runs.index))


def source_run(from_run: str | None, sources: pd.DataFrame) -> pd.Series | None:
    """The run ``from_run`` names: the one of ``sources`` (``run_dir`` relative to the results tree)
    whose directory ``from_run`` ends with, the longest if several; ``None``: not there."""
    parts = Path(from_run).parts if from_run else ()
    found = [row for _, row in sources.iterrows() if parts[-len(Path(row["run_dir"]).parts):] ==
             Path(row["run_dir"]).parts]
    return max(found, key=lambda row: len(Path(row["run_dir"]).parts), default=None)


def fit_only(runs: pd.DataFrame, sources: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The fit-only runs (fitted, 0 epochs) in their source's setting under their method's own name,
    with their source's metrics (``source_<metric>``), and the run directories of those whose source
    is not among ``sources``."""
    fits = runs[runs["from_scratch"].eq(False) & runs["epochs"].eq(0)].copy()
    found = [source_run(f, sources) for f in fits["from_run"]]
    lost = [d for d, s in zip(fits["run_dir"], found, strict=True) if s is None]
    fits = fits.loc[[s is not None for s in found]]
    origin = pd.DataFrame([s for s in found if s is not None], index=fits.index, columns=sources.columns)
    fits[SETTING] = origin[SETTING]
    fits = fits.join(origin.reindex(columns=list(METRIC_LABELS)).add_prefix("source_"))
    fits["method"] = fits["method"].str.removesuffix(FIT_SUFFIX)
    return fits, lost


def best_handdesigned(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per setting and ratio, the hand-designed net (depth, width) of the lowest mean dev loss over its
    seeds, with its dev loss and test ``metric``."""
    nets = runs[runs["from_scratch"].eq(True) & runs["width"].notna()]
    if nets.empty:
        return pd.DataFrame(columns=[*SETTING, "ratio", "hidden_layers", "width", "dev_loss", metric])
    means = nets.groupby([*SETTING, "ratio", "hidden_layers", "width"])[["dev_loss", metric]].mean()
    means = means.reset_index()
    return means.loc[means.groupby([*SETTING, "ratio"])["dev_loss"].idxmin()].reset_index(drop=True)


def _pair(fit: float | None, trained: float | None) -> str:
    """``fit-only / trained``, a dash for a value not run."""
    def text(value: float | None) -> str:
        return "-" if value is None or math.isnan(value) else f"{value:.3g}"
    return f"{text(fit)} / {text(trained)}"


def _net_cells(net: pd.Series | None, metric: str) -> dict[str, Any]:
    """The best hand-designed net's columns (``None``: none ran at that ratio)."""
    return {"best hand-designed (layers x width)":
            "-" if net is None else f"{int(net['hidden_layers'])} x {int(net['width'])}",
            "its dev loss": math.nan if net is None else net["dev_loss"],
            f"its {METRIC_LABELS.get(metric, metric)}": math.nan if net is None else net[metric]}


def setting_table(fits: pd.DataFrame, best: pd.DataFrame, grid: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One setting's limit table, one row per ratio (``fits``, ``best``, ``grid``: that setting's)."""
    trained = pd.Series(dtype=float)
    if len(grid):
        trained = seed_means(grid, metric).set_index(["method", "ratio"])["mean"]
    fitted = fits.groupby(["method", "ratio"])[metric].mean()
    best = best.set_index("ratio")
    methods = [m for m in METHODS if m in set(fits["method"])]
    rows = []
    for ratio in sorted(set(fits["ratio"]) | set(best.index)):
        row: dict[str, Any] = {"ratio": f"{ratio:g}"}
        row |= {f"{m}: fit-only / trained": _pair(fitted.get((m, ratio)), trained.get((m, ratio)))
                for m in methods}
        row |= _net_cells(best.loc[ratio] if ratio in best.index else None, metric)
        row["hand-tuned (grid)"] = trained.get(("handtuned", ratio), math.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def _in(frame: pd.DataFrame, key: Setting) -> pd.DataFrame:
    """The rows of ``frame`` in the setting ``key`` (``frame`` itself when empty)."""
    return frame[in_setting(frame, key)] if len(frame) else frame


def comparison_grid(key: Setting, grid: pd.DataFrame) -> tuple[Setting | None, pd.DataFrame]:
    """The grid setting whose trained runs stand beside the limits of ``key`` (:data:`GRID_STUDIES`), and
    its runs; ``(None, empty)`` where no grid of that setting ran."""
    for study in GRID_STUDIES:
        candidate = (*key[:3], key[3] + study)
        if len(runs := _in(grid, candidate)):
            return candidate, runs
    return None, grid.iloc[:0]


def _setting_lines(key: Setting, fits: pd.DataFrame, runs: pd.DataFrame, grid: pd.DataFrame) -> list[str]:
    """One setting's heading, source line and table (nothing where it has only the fits' dense run)."""
    metric = metric_of(key[1])
    fits, best = _in(fits, key), _in(best_handdesigned(runs, metric), key)
    if fits.empty and best.empty:
        return []
    beside, grid = comparison_grid(key, grid)
    label = METRIC_LABELS.get(metric, metric)
    origin = ", ".join(f"`{f}` ({label} {m:.3g})" for f, m in
                       sorted(set(zip(fits["from_run"], fits[f"source_{metric}"], strict=True))))
    trained = f"trained: the grid `{setting_label(beside)}`" if beside else "no grid of this setting ran"
    return [f"### {setting_label(key)}", "", f"{label}; fit-only runs fitted to {origin or '-'}; {trained}.",
            "", markdown_table(setting_table(fits, best, grid, metric)), ""]


def limit_section(root: Path, grid: pd.DataFrame) -> list[str]:
    """REPORT.md's limit-study section (empty without runs under ``root/limit``); ``grid``: the grid's
    counted runs, whose trained metrics stand beside the limits and whose dense runs may be a source."""
    runs = limit_runs(root)
    if runs.empty:
        return []
    sources = pd.concat([runs, grid])
    fits, lost = fit_only(runs, sources[sources["method"] == "dense"])
    keys = sorted({tuple(k) for k in pd.concat([fits, runs])[SETTING].itertuples(index=False)})
    tables = [line for key in keys for line in _setting_lines(key, fits, runs, grid)]
    if lost:
        tables += [f"Fit-only runs whose source run is not in this results tree (not shown): "
                   f"{', '.join(f'`{d}`' for d in lost)}.", ""]
    return ["## Limit study: fit-only models and the best hand-designed net", "",
            "Under `limit/` (`conf/experiment/limit_*.yaml`), never counted in the tables above. Per ratio: "
            "each per-matrix method fitted to the setting's trained dense model and not trained at all "
            "(fit-only; pruning one-shot), beside the trained mean over seeds of the setting's fair grid "
            "where it ran, else of its first grid (`-`: not run); then "
            "the hand-designed net of 1 to the recipe's hidden layers, each at the width that stores the "
            "recipe's budget, trained like the grid, the best on dev loss, and its test metric: the upper "
            "bound of a hand-designed net at that budget; last, the grid's hand-tuned net (the recipe's "
            "depth).", "", *tables] if tables else []
