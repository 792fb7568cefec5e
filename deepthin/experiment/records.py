"""What a run directory records, and when a re-run may skip or resume it.

Run directories are named by data, model, preset, method, ratio and seed only, so a re-run with,
say, other epochs would otherwise be skipped as "complete" or resumed from the wrong checkpoint
without a word. Every run records its resolved config (``results.json``, and
``checkpoint/config.json`` while it trains); a re-run goes on only where that record is the same
experiment as its own config. Records outlive changes of the config's shape (a sweep is continued
over months of commits), so a record is first brought into today's shape: the keys added since,
with the value those runs had implicitly, the model in its composed form, and the method's strategy
under today's name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Settings that change how a run looks, not what it computes: ignored when comparing configs.
#: Also ignored, ``study`` and ``hparams_dir`` only choose the run directory: a record made before they
#: existed, or with ``hydra.run.dir`` (issue 27's first tuning runs), is the same experiment.
DISPLAY_KEYS = ("trainer.progress", "trainer.tensorboard", "data.progress", "data.num_workers",
                "data.cache_dir", "cache_dir", "study", "hparams_dir")
#: Settings that change how a run computes the same function, also ignored: frame packing gives the
#: masked model's logits and batch-norm statistics over the same valid frames (issue 29; its test in
#: tests/recipes/test_layers.py), so a run recorded before it, or resumed across it, is the same
#: experiment; only summation order and dropout's draws differ.
EQUIVALENT_KEYS = ("model.arch.frame_packing",)
#: Keys added to the config after runs were recorded, with the value those runs had implicitly.
ADDED_KEYS = {"init": "random", "from_run": None, "allocate": "uniform", "sensitivity_table": None,
              "compress_output": False, "trainer.plateau_factor": 0.5, "trainer.plateau_threshold": 0.01,
              "trainer.planned_epochs": None}
#: Keys of the model config before it was composed per preset: the builder's dotted path, every
#: preset's architecture, and the never-read name of the width the hand-tuned baseline narrows.
UNCOMPOSED_MODEL_KEYS = ("builder", "presets", "width_key")
#: Strategies since folded into another, by the ``method._target_`` runs recorded, with the one that
#: builds the same model from the same options today.
RENAMED_STRATEGIES = {
    # issue 17: a method's run options moved into its own module, so its strategy is the generic one
    "deepthin.experiment.strategies.Pruning": "deepthin.experiment.strategies.PerMatrix",
}
#: Options added to a method's config after runs were recorded, by the method the config compresses
#: with, with the value those runs had implicitly: pruning's ratio paid for values only before the
#: budget counted the bytes of their indices too (issue 27).
ADDED_METHOD_KEYS = {"pruning": {"index_layout": "none"}}
#: Where a training run records its config (``results.json`` holds it once the run is complete).
CONFIG_RECORD = Path("checkpoint") / "config.json"


def current_shape(config: dict[str, Any]) -> dict[str, Any]:
    """A recorded config in today's shape (the record itself is never rewritten): its model composed
    (:func:`_composed_model`), its method's options added since (:data:`ADDED_METHOD_KEYS`) and its
    strategy under today's name (:data:`RENAMED_STRATEGIES`)."""
    config = _composed_model(config)
    method = config.get("method", {})
    if added := ADDED_METHOD_KEYS.get(method.get("method", method.get("name")), {}):
        method = {**added, **method}
        config = {**config, "method": method}
    if method.get("_target_") not in RENAMED_STRATEGIES:
        return config
    return {**config, "method": {**method, "_target_": RENAMED_STRATEGIES[method["_target_"]]}}


def _composed_model(config: dict[str, Any]) -> dict[str, Any]:
    """A recorded config with its model config composed.

    The model config once held ``builder`` and all ``presets``; today ``model.arch`` is the
    composed builder of the run's preset: Hydra's ``_target_``/``_partial_``, the feature count, then
    that preset's architecture. Nothing else changed, so the translation is exact.
    """
    model = config["model"]
    if "presets" not in model:
        return config
    arch = {"_target_": model["builder"], "_partial_": True,
            "num_features": model["features"]["num_features"], **model["presets"][config["preset"]["name"]]}
    kept = {key: value for key, value in model.items() if key not in UNCOMPOSED_MODEL_KEYS}
    return {**config, "model": {**kept, "arch": arch}}


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}} -> {"a.b": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def differing_keys(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The settings (dotted keys) in which a recorded config and ``current`` differ, display and
    equivalent computations aside."""
    old, new = {**ADDED_KEYS, **_flatten(current_shape(saved))}, _flatten(current)
    ignored = DISPLAY_KEYS + EQUIVALENT_KEYS
    return sorted(k for k in old.keys() | new.keys() if k not in ignored and old.get(k) != new.get(k))


def check_same_experiment(saved: dict[str, Any], current: dict[str, Any], where: Path) -> None:
    """Refuse to skip or resume a run directory that holds a different experiment."""
    if differ := differing_keys(saved, current):
        raise ValueError(
            f"{where} holds a run with a different config (differs in: {', '.join(differ)}); "
            "allowed: the same config, or another hydra.run.dir (or delete that directory)"
        )


def results_complete(path: Path) -> bool:
    """Whether ``path`` holds a finished run's results (what a re-run may skip)."""
    try:
        return bool(json.loads(path.read_text()).get("complete"))
    except (OSError, ValueError):
        return False


def finished_run(run_dir: str | Path) -> dict[str, Any]:
    """The ``results.json`` of the finished run in ``run_dir``, its config in today's shape: where the
    tools that reuse a trained model (``deepthin-transcribe``, ``deepthin-eval``) read its features,
    data and decoding settings from."""
    path = Path(run_dir) / "results.json"
    if not results_complete(path):
        raise ValueError(f"{run_dir}: no finished run (no complete results.json); allowed: a run "
                         "directory of deepthin-run")
    results = json.loads(path.read_text())
    return {**results, "config": current_shape(results["config"])}


def finished_results(out_dir: Path, config: dict[str, Any]) -> dict[str, Any] | None:
    """The results of the finished run in ``out_dir`` (``None``: none finished there), after checking
    that ``out_dir`` holds the experiment of ``config``, finished or in training."""
    results_path = out_dir / "results.json"
    if results_complete(results_path):
        results = json.loads(results_path.read_text())
        check_same_experiment(results["config"], config, out_dir)
        return results
    if (out_dir / CONFIG_RECORD).exists():
        check_same_experiment(json.loads((out_dir / CONFIG_RECORD).read_text()), config, out_dir)
    return None


def record_config(out_dir: Path, config: dict[str, Any]) -> None:
    """Record the config a run trains with, once, as training starts (a resumed run keeps its record).

    Not before: a run that stops on bad input (a wrong ``data.root``, say) would leave a record that
    makes the corrected command refuse this directory as holding "a different config".
    """
    path = out_dir / CONFIG_RECORD
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(config, indent=1))


def write_results(out_dir: Path, results: dict[str, Any]) -> None:
    """``results.json``: the record that marks the run finished (``complete``)."""
    (out_dir / "results.json").write_text(json.dumps(results, indent=1, default=float))
