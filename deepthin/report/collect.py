"""Finished runs as one table: every ``results.json`` under a results tree, one row each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from deepthin.conf_dir import DIVERGED_RECORD, TUNING_STUDY, schedule_suffix

#: A setting is one (data set, model, preset, schedule): the unit every comparison is made within.
#: The schedule is ``""`` for the preset's epochs, else ``"-<N>epochs"``, then ``-plateau`` for that
#: learning-rate schedule (as in the run directory), then ``-<study>`` for a study counted as its own
#: setting (``study=fair``, issue 27's grid with tuned hyperparameters: ``results/fair/``).
SETTING = ["data", "model", "preset", "schedule"]
#: What a sweep varies within a setting.
SWEPT_KEYS = ("method", "ratio", "seed")
Setting = tuple[str, str, str, str]


def _flatten(results: dict[str, Any], path: Path, root: Path) -> dict[str, Any]:
    row = {k: results[k] for k in ("data", "model", "preset", "method", "ratio", "seed")}
    row.update({k: v for k, v in results.get("metrics", {}).items() if not isinstance(v, dict | list)})
    row.update({k: v for k, v in results.get("size", {}).items() if not isinstance(v, dict | list)})
    trainer = results.get("config", {}).get("trainer", {})
    row["epochs"] = trainer.get("epochs")
    preset_epochs = results.get("config", {}).get("preset", {}).get("epochs", row["epochs"])
    row["schedule"] = (schedule_suffix(row["epochs"], preset_epochs, trainer.get("lr_schedule", "cosine"))
                       if row["epochs"] is not None else "")
    if study := results.get("config", {}).get("study"):
        row["schedule"] += f"-{study}"
    row["trained"] = results.get("trained")  # None: a run from before runs were checked for it
    row["from_scratch"] = results.get("init", "random") == "random" and "allocation" not in results
    row["step_convention"] = results.get("method_details", {}).get("step_convention")
    row["overrides"] = json.dumps(results.get("overrides", []))
    row["git_commit"] = results.get("git_commit")
    row["finished_at"] = results.get("finished_at")
    row["run_dir"] = str(path.parent.relative_to(root))
    return row


#: Subtrees of a results tree that hold studies beside the grid (``study=limit``: ``results/limit/``), never
#: the grid's runs: the grid's report skips them (the limit study has its own table, ``limit.py``; the
#: searches of learning rate and dropout theirs, ``tuning.py``).
STUDIES = ("limit", TUNING_STUDY)


def run_dirs(root: Path) -> list[Path]:
    """Every run directory under ``root``, but those of a study's subtree (:data:`STUDIES`): one holding
    a results.json, the config a run saves when it starts (``checkpoint/config.json``), which is all
    a killed run leaves, or the record of a run whose training diverged (the one file of it in git)."""
    dirs = {p.parent for p in root.rglob("results.json")} | {p.parent for p in root.rglob(DIVERGED_RECORD)}
    dirs |= {p.parent.parent for p in root.rglob("checkpoint/config.json")}
    return sorted(d for d in dirs if d.relative_to(root).parts[:1] not in {(study,) for study in STUDIES})


def collect(root: Path) -> tuple[pd.DataFrame, list[str]]:
    """All complete runs under ``root`` as one table, and the run directories still incomplete, those
    whose training diverged marked so: a diverged run is an outcome a reader must see, not a gap."""
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
            diverged = " (diverged)" if (directory / DIVERGED_RECORD).exists() else ""
            incomplete.append(f"{directory.relative_to(root)}{diverged}")
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values(SETTING + ["method", "ratio", "seed"], ignore_index=True)
    return table, incomplete


def untrained(table: pd.DataFrame) -> pd.DataFrame:
    """The runs that finished on CTC's all-blank plateau (``trained: false``): counted and named by
    the report, never averaged in (a model that did not learn says nothing about its method)."""
    return table[table["trained"].eq(False)]


def from_trained(table: pd.DataFrame) -> pd.DataFrame:
    """The runs that started from a trained model (``init=fit``) or spread their budget by a
    sensitivity table (``allocate=sensitivity``): they had more training or other ratios than the grid's
    runs, so they are compared among themselves (``scripts/fit_claims.py``), never in the grid's means."""
    return table[table["from_scratch"].eq(False)]


def setting_slug(key: Setting) -> str:
    data, model, preset, schedule = key
    return f"{data}_{model}-{preset}{schedule}"


def setting_label(key: Setting) -> str:
    data, model, preset, schedule = key
    return f"{model}-{preset}{schedule} on {data}"


def in_setting(table: pd.DataFrame, key: Setting) -> pd.Series:
    """Which rows of ``table`` belong to the setting ``key``."""
    return (table[SETTING] == pd.Series(key, index=SETTING)).all(axis=1)


def settings(table: pd.DataFrame) -> list[tuple[Setting, pd.DataFrame]]:
    """The table split by setting, in a fixed order."""
    return [(tuple(key), group) for key, group in table.groupby(SETTING, sort=True)]
