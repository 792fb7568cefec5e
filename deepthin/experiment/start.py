"""Where a run's model starts: from scratch, or from a finished dense run, fitted and fine-tuned.

``deepthin-run method=deepthin ratio=0.02 init=fit from_run=PATH`` loads the dense model of the
finished run in ``PATH`` (its ``model.keras``), fits each compressed matrix to the trained kernel it
replaces (``deepthin.compress(..., init="fit")``), records the fitted model's metrics before any
fine-tuning (``metrics_at_fit``) and fine-tunes it with the shared trainer. ``allocate=sensitivity``
replaces the one ratio by per-layer ratios chosen from a ``deepthin-sensitivity`` table
(``sensitivity_table=PATH``) so that all compressed matrices together store ``ratio`` of their
size (:mod:`deepthin.allocate`). The source run is only read: a fine-tuning run writes its own
directory (the method's name there and in ``results.json`` gains ``+fit``, and ``+alloc`` when
allocated, so it never shares a directory or a report line with a run trained from scratch).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import keras
from omegaconf import DictConfig

import recipes.layers  # noqa: F401  (registers the recipes' layers, which a saved model names)
from deepthin.allocate import allocate_model
from deepthin.compress import INITS
from deepthin.experiment.layer_set import compressed_layer_pattern, output_suffix
from deepthin.experiment.method_confs import per_matrix_methods
from deepthin.experiment.records import results_complete
from deepthin.experiment.strategies import Builder, PerMatrix, Strategy
from deepthin.validation import check_choice

#: How the ratio is spread over the compressed layers: ``uniform`` (each gets ``ratio``) or
#: ``sensitivity`` (allocated from a sensitivity table, the total ``ratio``).
ALLOCATIONS = ("uniform", "sensitivity")
#: What the run directory and the results' method name add for each start (see the module doc).
SUFFIXES = {"random": "", "fit": "+fit", "uniform": "", "sensitivity": "+alloc"}


def variant_suffix(init: str, allocate: str, compress_output: bool = False) -> str:
    """``""``, ``"+fit"``, ``"+alloc"`` or ``"+fit+alloc"``, then ``"+out"`` with ``compress_output``
    (:mod:`deepthin.experiment.layer_set`): the run's name beside its method's."""
    init, allocate = check_choice("init", init, INITS), check_choice("allocate", allocate, ALLOCATIONS)
    return SUFFIXES[init] + SUFFIXES[allocate] + output_suffix(compress_output)


def check_start(init: str, from_run: str | None, allocate: str, table: str | None) -> None:
    """One-line errors for start options that do not go together."""
    variant_suffix(init, allocate)
    if (init == "fit") != (from_run is not None):
        raise ValueError(f"init={init} with from_run={from_run}; allowed: init=fit with from_run=PATH "
                         "(a finished dense run), or init=random without from_run")
    if (allocate == "sensitivity") != (table is not None):
        raise ValueError(f"allocate={allocate} with sensitivity_table={table}; allowed: "
                         "allocate=sensitivity with sensitivity_table=PATH, or allocate=uniform without it")


def load_source(from_run: str | Path, recipe: dict[str, str]) -> tuple[dict[str, Any], keras.Model]:
    """``results.json`` and the trained model of the finished dense run in ``from_run``, checked to be
    of ``recipe`` (``data``, ``model``, ``preset``). Nothing in ``from_run`` is written."""
    run_dir = Path(from_run)
    if not run_dir.is_dir():
        raise ValueError(f"from_run={from_run} is not a directory; allowed: the directory of a finished "
                         "dense run")
    if not results_complete(run_dir / "results.json"):
        raise ValueError(f"from_run={from_run} holds no finished run (no complete results.json); allowed: "
                         "the directory of a finished dense run")
    if not (run_dir / "model.keras").is_file():  # git keeps a run's record, never its *.keras
        raise ValueError(f"from_run={from_run} holds a finished run's record but not its model.keras (a "
                         "clone has only the record); allowed: a run directory with its model, e.g. that "
                         "run's command again with hydra.run.dir=ANOTHER_DIR, then from_run=ANOTHER_DIR")
    results = json.loads((run_dir / "results.json").read_text())
    theirs = {key: results.get(key) for key in recipe}
    if theirs != recipe:
        raise ValueError(f"from_run={from_run} is a run of {'/'.join(map(str, theirs.values()))}, not of "
                         f"{'/'.join(recipe.values())} (data/model/preset); allowed: a run of that recipe")
    if results.get("method") != "dense":
        raise ValueError(f"from_run={from_run} is a {results.get('method')} run; allowed: a dense run")
    return results, keras.models.load_model(run_dir / "model.keras")


def source_builder(cfg: DictConfig, builder: Builder, recipe: dict[str, str]) -> Builder:
    """``builder``, or with ``from_run`` one that returns the source run's trained model (checked to
    be of ``recipe``); the start options were checked with the run's config (:func:`check_start`)."""
    if cfg.from_run is None:
        return builder
    _, source = load_source(cfg.from_run, recipe)

    def trained(width: int | None = None) -> keras.Model:
        return source  # compress clones it: the source model itself is never changed

    return trained


def layer_ratios(cfg: DictConfig, strategy: Strategy, builder: Builder, ratio: float,
                 total_steps: int) -> tuple[dict[str, float] | None, dict[str, Any]]:
    """The per-layer ratios to build with (``None``: every layer gets ``ratio``, the run's checked
    ratio) and what ``results.json`` records of the start (``init``, ``from_run``, ``allocation``)."""
    record: dict[str, Any] = {"init": cfg.init, "from_run": cfg.from_run}
    if cfg.allocate == "uniform":
        return None, record
    if not isinstance(strategy, PerMatrix):
        raise ValueError(f"allocate=sensitivity needs a per-matrix method, not {strategy.name}; allowed: "
                         f"{', '.join(per_matrix_methods())}")
    allocation = allocate_model(builder(), strategy.method, ratio, compressed_layer_pattern(cfg),
                                cfg.sensitivity_table, **strategy.method_options(total_steps))
    record["allocation"] = asdict(allocation)
    return allocation.ratios, record
