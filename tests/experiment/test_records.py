"""Finished runs stay finished: every committed run is the experiment its command composes today.

A sweep run again skips a run whose ``results.json`` is complete once :func:`check_same_experiment`
accepts the recorded config; a change of the config's shape that broke this would make the next
session retrain (or refuse) hundreds of finished runs, and a change of ``hydra.sweep.subdir`` would
put them in other directories.
"""

import copy
import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

import deepthin.experiment.run  # noqa: F401  (registers the run directory's ``variant`` resolver)
from deepthin.conf_dir import CONF_DIR
from deepthin.experiment.records import ADDED_KEYS, check_same_experiment, current_shape, results_complete

RESULTS = Path(__file__).resolve().parents[2] / "results"
#: Where each corpus's ``data.root`` comes from when the command line does not give it.
ROOT_VARIABLES = {"fsdd": "FSDD_ROOT", "librispeech": "LIBRISPEECH_ROOT", "kaldi": "KALDI_DATA_ROOT"}
#: Overrides of one plain value, set on a config composed once for all runs that differ only in them:
#: composing each of hundreds of runs anew takes minutes.
PLAIN = ("ratio", "seed")
#: Experiments whose schedule changed after runs were recorded, with the epochs those runs trained for:
#: FSDD's trains for 12 epochs since its 8-epoch grid was complete; that grid is what the same command
#: with ``trainer.epochs=8`` composes today (in ``tfkaldi-cpu/``, the preset's schedule).
EARLIER_EPOCHS = {"cpu_tfkaldi_fsdd": 8, "recipe_check_tfkaldi_fsdd": 8}


def todays_command(overrides: list[str], recorded_epochs: int) -> list[str]:
    """A run's recorded overrides as they are given today: with the epochs it trained for when its
    experiment has trained for others since (:data:`EARLIER_EPOCHS`)."""
    experiments = [o for o in overrides if o.startswith("+experiment=")]
    earlier = {epochs for name, epochs in EARLIER_EPOCHS.items() if any(name in o for o in experiments)}
    if recorded_epochs in earlier and not any(o.startswith("trainer.epochs=") for o in overrides):
        return [*overrides, f"trainer.epochs={recorded_epochs}"]
    return overrides


def earlier_budget(config: dict) -> list[str]:
    """The override that gives a pruning run recorded before budgets were bytes (issue 27) its budget
    today: the ratio paid for values only, ``method.index_layout=none``."""
    method = config["method"]
    before = method["name"] == "pruning" and "index_layout" not in method
    return ["method.index_layout=none"] if before else []


def finished_runs() -> list[tuple[Path, dict]]:
    return [(path.parent, json.loads(path.read_text())) for path in sorted(RESULTS.rglob("results.json"))
            if results_complete(path)]


def composed_runs(monkeypatch) -> list[tuple[Path, dict, dict, str]]:
    """Each finished run's directory, record, and the config and run directory (relative to the sweep's)
    its recorded command-line overrides compose today (as each job of its sweep composes them)."""
    parser, bases, runs = OverridesParser.create(), {}, []
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        for run_dir, results in finished_runs():
            if (variable := ROOT_VARIABLES.get(results["data"])) is not None:
                monkeypatch.setenv(variable, results["config"]["data"]["root"])
            command = todays_command(results["overrides"], results["config"]["trainer"]["epochs"])
            command += earlier_budget(results["config"])
            overrides = parser.parse_overrides(command)
            rest = tuple(o.input_line for o in overrides if o.key_or_group not in PLAIN)
            if rest not in bases:
                bases[rest] = compose("config", overrides=list(rest), return_hydra_config=True)
            cfg = copy.deepcopy(bases[rest])
            for override in overrides:
                if override.key_or_group in PLAIN:
                    OmegaConf.update(cfg, override.key_or_group, override.value())
            HydraConfig.instance().set_config(cfg)
            subdir = OmegaConf.to_container(cfg.hydra.sweep, resolve=True)["subdir"]
            del cfg.hydra
            runs.append((run_dir, results, OmegaConf.to_container(cfg, resolve=True), subdir))
    HydraConfig.instance().cfg = None
    return runs


@pytest.mark.slow
def test_every_finished_run_is_skipped_in_its_directory_and_another_config_is_refused(monkeypatch):
    runs = composed_runs(monkeypatch)
    assert len(runs) >= 100, "the committed results/ holds the grids' finished runs"
    for run_dir, results, config, subdir in runs:
        assert RESULTS / subdir == run_dir
        check_same_experiment(results["config"], config, run_dir)
        other = {**config, "trainer": {**config["trainer"], "epochs": config["trainer"]["epochs"] + 1}}
        with pytest.raises(ValueError, match=r"differs in: trainer\.epochs\)"):
            check_same_experiment(results["config"], other, run_dir)


OLD_MODEL = {  # the model config as runs recorded it before it was composed per preset
    "name": "tfkaldi", "builder": "recipes.tfkaldi.model.build_model",
    "features": {"kind": "fbank", "num_features": 40, "dither": 0.0}, "compressed_layers": "hidden_\\d+",
    "width_key": "hidden_units",
    "presets": {"cpu": {"context": 15, "hidden_units": 512}, "tiny": {"context": 2, "hidden_units": 32}},
}


def test_an_old_record_becomes_the_composed_builder_of_its_preset():
    old = {"model": OLD_MODEL, "preset": {"name": "tiny"}, "ratio": 0.1}
    assert current_shape(old) == {
        "model": {"name": "tfkaldi", "features": OLD_MODEL["features"], "compressed_layers": "hidden_\\d+",
                  "arch": {"_target_": "recipes.tfkaldi.model.build_model", "_partial_": True,
                           "num_features": 40, "context": 2, "hidden_units": 32}},
        "preset": {"name": "tiny"}, "ratio": 0.1,
    }
    assert current_shape(current_shape(old)) == current_shape(old)


def test_a_run_of_another_architecture_is_refused(tmp_path):
    old = {"model": OLD_MODEL, "preset": {"name": "cpu"}}
    new = {**current_shape(old), **ADDED_KEYS}
    check_same_experiment(old, new, tmp_path)
    wider = copy.deepcopy(new)
    wider["model"]["arch"]["context"] = 5
    with pytest.raises(ValueError, match=r"differs in: model\.arch\.context\)"):
        check_same_experiment(old, wider, tmp_path)


def test_a_run_recorded_before_frame_packing_is_the_same_experiment_but_not_one_without_its_masks(tmp_path):
    """Frame packing computes the masked model's function (issue 29), so the grids' masked runs stay
    finished; batch norm over padded frames too (``batch_norm_mask=false``) is another experiment."""
    old = {"model": OLD_MODEL, "preset": {"name": "cpu"}}
    masked = {**current_shape(old), **ADDED_KEYS}
    masked["model"]["arch"]["batch_norm_mask"] = True
    packed = copy.deepcopy(masked)
    packed["model"]["arch"]["frame_packing"] = True
    check_same_experiment(masked, packed, tmp_path)
    unmasked = copy.deepcopy(packed)
    unmasked["model"]["arch"]["batch_norm_mask"] = False
    with pytest.raises(ValueError, match=r"differs in: model\.arch\.batch_norm_mask\)"):
        check_same_experiment(masked, unmasked, tmp_path)


def test_a_record_of_a_strategy_since_folded_into_another_names_todays():
    """Pruning runs recorded ``strategies.Pruning``; today ``conf/method/pruning.yaml`` builds the same
    model with the generic ``PerMatrix`` from the same options (issue 17)."""
    options = {"name": "pruning", "begin_fraction": 0.0, "end_fraction": 0.7, "updates": 20}
    old = {"model": {"name": "tfkaldi"}, "method": {"_target_": "deepthin.experiment.strategies.Pruning",
                                                    **options}}
    new = {"model": {"name": "tfkaldi"}, "method": {"_target_": "deepthin.experiment.strategies.PerMatrix",
                                                    **options, "index_layout": "none"}}
    assert current_shape(old) == new and current_shape(new) == new
    assert old["method"]["_target_"].endswith(".Pruning")  # the record itself is never rewritten
    check_same_experiment(old, {**new, **ADDED_KEYS}, Path("run"))
    fewer_updates = {**new, **ADDED_KEYS, "method": {**new["method"], "updates": 10}}
    with pytest.raises(ValueError, match=r"differs in: method\.updates\)"):
        check_same_experiment(old, fewer_updates, Path("run"))
    assert new["method"]["_target_"] == OmegaConf.load(CONF_DIR / "method" / "pruning.yaml")._target_


def test_a_pruning_run_from_before_byte_budgets_is_todays_values_only_budget():
    """Recorded without ``index_layout``, its ratio paid for values only: today's ``none``, not the
    grid's ``relative16``, so a sweep refuses to skip it as the grid's run (issue 27)."""
    options = {"_target_": "deepthin.experiment.strategies.PerMatrix", "name": "pruning",
               "begin_fraction": 0.0, "end_fraction": 0.7, "updates": 20}
    old = {"model": {"name": "tfkaldi"}, "method": options}
    values_only = {**old, **ADDED_KEYS, "method": {**options, "index_layout": "none"}}
    check_same_experiment(old, values_only, Path("run"))
    grid = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "method" / "pruning.yaml"))
    assert grid["index_layout"] == "relative16"
    with pytest.raises(ValueError, match=r"differs in: method\.index_layout\)"):
        check_same_experiment(old, {**values_only, "method": grid}, Path("run"))
