"""Issue 27's search of each method's learning rate and dropout (``results/tuning/``): its runs, the
mean dev loss of each point, each method's pick, and the report's table of them.

Why here, beside the report: the rule that picks is the one the report shows, so ``deepthin-tune-pick``
(:mod:`deepthin.experiment.tune`), which turns the picks into the fair grids' configs, takes them from
:func:`picks` rather than restating it. Like the rest of the report, this reads only ``results/``.

The rule: per setting and method, each (learning rate, dropout) of the search scores the mean dev loss
of its runs over the ratios :data:`RATIOS` (seed 0; more seeds would be averaged in), the dev loss of a
run being that of the model it returned (its best eligible epoch's, ``metrics.dev_loss``); the pick is
the lowest score. Exact ties go to the smaller learning rate, then the smaller dropout. A run whose
training diverged (its ``diverged.json``: a search tries large learning rates) is finished with an
infinite dev loss: its point loses. A method gets a pick only when every point of the search
(:data:`LEARNING_RATES` x :data:`DROPOUTS` x :data:`RATIOS`, 12 runs) has a finished run: a pick among
part of the points could be a point that merely ran. Runs outside the search (another learning rate,
say) are in no score.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pandas as pd

from deepthin.conf_dir import DIVERGED_RECORD, TUNING_STUDY, schedule_suffix
from deepthin.report.collect import setting_label, setting_slug

#: The search (``conf/experiment/tune_*.yaml`` sweep the same values; a test checks that they do).
LEARNING_RATES = (0.001, 0.003, 0.01)
DROPOUTS = (0.0, 0.2)
RATIOS = (0.01, 0.05)
#: A point of the search: (learning rate, dropout).
POINT = ["learning_rate", "dropout"]
#: What identifies a method's search: its setting's slug (``fsdd_tfkaldi-cpu-12epochs``) and its method.
SEARCH = ["setting", "method"]


def _row(results: dict) -> dict:
    """One tuning run's place in the search and its dev loss."""
    config = results["config"]
    trainer = config["trainer"]
    schedule = schedule_suffix(trainer["epochs"], config["preset"]["epochs"],
                               trainer.get("lr_schedule", "cosine"))
    key = (results["data"], results["model"], results["preset"], schedule)
    return {"setting": setting_slug(key), "label": setting_label(key), "method": results["method"],
            "learning_rate": float(trainer["learning_rate"]),
            "dropout": float(config["model"]["arch"]["dropout"]), "ratio": float(results["ratio"]),
            "seed": int(results["seed"]),
            "dev_loss": math.inf if results.get("diverged") else float(results["metrics"]["dev_loss"])}


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def tuning_runs(root: Path) -> pd.DataFrame:
    """Every finished run under ``root/tuning/`` (a results tree's searches), complete or diverged, one
    row each."""
    search = root / TUNING_STUDY
    found = {path.parent for name in ("results.json", DIVERGED_RECORD) for path in search.rglob(name)}
    rows = []
    for directory in sorted(found):
        record = _read(directory / "results.json")
        if not record.get("complete"):
            record = _read(directory / DIVERGED_RECORD)
        if record.get("complete") or record.get("diverged"):
            rows.append(_row(record))
    return pd.DataFrame(rows, columns=["setting", "label", "method", *POINT, "ratio", "seed", "dev_loss"])


def _in_search(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs at a point of the search, their values snapped to the search's (a float read back from
    JSON may differ in its last bit)."""
    for column, grid in (("learning_rate", LEARNING_RATES), ("dropout", DROPOUTS), ("ratio", RATIOS)):
        snapped = runs[column].map(lambda x, grid=grid: next((g for g in grid if math.isclose(x, g)), None))
        runs = runs[snapped.notna()].assign(**{column: snapped[snapped.notna()]})
    return runs


def point_scores(runs: pd.DataFrame) -> pd.DataFrame:
    """Per setting, method and point of the search: the mean dev loss over the ratios (``dev_loss``)
    and whether every ratio has a run (``complete``)."""
    found = _in_search(runs)
    grouped = found.groupby([*SEARCH, *POINT])
    scores = grouped["dev_loss"].mean().to_frame()
    scores["complete"] = grouped["ratio"].nunique() == len(RATIOS)
    return scores.reset_index()


def picks(runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Each searched method's pick (setting, method, learning rate, dropout, mean dev loss), and one
    line per method that has none, naming the points it lacks (module doc: the rule)."""
    scores = point_scores(runs)
    chosen, lacking = [], []
    for (setting, method), search in scores.groupby(SEARCH, sort=True):
        done = {(row.learning_rate, row.dropout) for row in search.itertuples() if row.complete}
        missing = [point for point in itertools.product(LEARNING_RATES, DROPOUTS) if point not in done]
        if missing:
            lacking.append(f"{setting} {method}: no complete run at ratios {_values(RATIOS)} for "
                           + "; ".join(_point(*point) for point in missing))
            continue
        best = search.sort_values(["dev_loss", *POINT], kind="stable").iloc[0]
        chosen.append(best[[*SEARCH, *POINT, "dev_loss"]])
    return pd.DataFrame(chosen, columns=[*SEARCH, *POINT, "dev_loss"]).reset_index(drop=True), lacking


def _values(values: tuple[float, ...]) -> str:
    return " and ".join(f"{v:g}" for v in values)


def _loss(dev_loss: float) -> str:
    return "diverged" if math.isinf(dev_loss) else f"{dev_loss:.3f}"


def _point(learning_rate: float, dropout: float) -> str:
    return f"lr {learning_rate:g}, dropout {dropout:g}"


def _table(scores: pd.DataFrame, chosen: pd.DataFrame) -> str:
    """One setting's scores as Markdown: a row per method, a column per point, the pick in bold."""
    columns = [_point(*point) for point in itertools.product(LEARNING_RATES, DROPOUTS)]
    lines = ["| method | " + " | ".join(columns) + " | pick |", "|" + "---|" * (len(columns) + 2)]
    for method, search in scores.groupby("method", sort=True):
        pick = chosen[chosen["method"] == method]
        cells = []
        for lr, d in itertools.product(LEARNING_RATES, DROPOUTS):
            point = search[(search.learning_rate == lr) & (search.dropout == d) & search.complete]
            text = "-" if point.empty else _loss(point.dev_loss.iloc[0])
            picked = not pick.empty and (pick.learning_rate.iloc[0], pick.dropout.iloc[0]) == (lr, d)
            cells.append(f"**{text}**" if picked else text)
        verdict = "none (defaults)" if pick.empty else _point(*pick[POINT].iloc[0])
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {verdict} |")
    return "\n".join(lines)


def tuning_section(root: Path) -> list[str]:
    """REPORT.md's section on the searches under ``root/tuning/`` (nothing when there are none)."""
    runs = tuning_runs(root)
    if runs.empty:
        return []
    scores, (chosen, lacking) = point_scores(runs), picks(runs)
    lines = ["## Learning rate and dropout per method (searched on dev)", "",
             "Issue 27's search (`conf/experiment/tune_*.yaml`, runs under `tuning/`, evaluated on dev only "
             "and counted nowhere else): the mean dev loss over ratios " + _values(RATIOS) + " of each "
             "(learning rate, dropout); in bold the method's pick, with which its fair grid (the settings "
             "marked `-fair`) trains. A dash: a point without a finished run at every ratio; diverged: a "
             "run's training diverged. A method without a pick (its search incomplete) trains with the "
             "defaults. Picks: `tuning/picks.csv` (`deepthin-tune-pick`).", ""]
    for setting, group in scores.groupby("setting", sort=True):
        label = runs.loc[runs.setting == setting, "label"].iloc[0]
        lines += [f"### {label}", "", _table(group, chosen[chosen.setting == setting]), ""]
    return lines + ([f"No pick yet: {'; '.join(lacking)}.", ""] if lacking else [])
