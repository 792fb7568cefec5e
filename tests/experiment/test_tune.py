"""Issue 27's fair comparison: the searches of learning rate and dropout (conf/experiment/tune_*.yaml),
deepthin-tune-pick's files, the fair grids (conf/experiment/fair_*.yaml) that load them, and evaluation
on dev that never reads the test set."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

import deepthin.experiment.run  # noqa: F401  (registers the resolvers the run directory uses)
from deepthin.conf_dir import CONF_DIR, schedule_suffix
from deepthin.data import VOCAB, Example, FeatureConfig
from deepthin.experiment.datamodule import SpeechData
from deepthin.experiment.evaluate import evaluate
from deepthin.experiment.tune import with_takers, write_picks
from deepthin.report.collect import setting_slug
from deepthin.report.tuning import DROPOUTS, LEARNING_RATES, RATIOS
from recipes.presets import build

SEARCHED = {"deepthin", "pruning", "lowrank", "hashednet"}
GRID = {"deepthin", "deepthin_aligned", "lowrank", "hashednet", "pruning", "handtuned"}
#: search -> the fair grid that trains with its picks (None: DeepSpeech's, which has no search)
FAIR = {"tune_tfkaldi_fsdd": "fair_tfkaldi_fsdd", "tune_tfkaldi_synth": "fair_tfkaldi_synth",
        None: "fair_deepspeech_synth"}


@pytest.fixture
def load():
    """``load(overrides)``: the composed config as the running job's (its run directory resolves)."""
    def compose_job(overrides: list[str], conf_dir: Path = CONF_DIR):
        with initialize_config_dir(str(conf_dir), version_base="1.3"):
            cfg = compose("config", overrides=overrides, return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        return cfg

    yield compose_job
    HydraConfig.instance().cfg = None


def swept(cfg, key: str) -> list[str]:
    return str(cfg.hydra.sweeper.params[key]).split(",")


def tuned_setting(cfg) -> str:
    """The conf/tuned/ directory a fair grid's config selects, for its method."""
    return cfg.hydra.runtime.choices["tuned@_global_"].rsplit("/", 1)[0]


@pytest.mark.parametrize("search", ["tune_tfkaldi_fsdd", "tune_tfkaldi_synth"])
def test_a_search_sweeps_the_reports_points_on_dev_in_its_own_directory(search, load):
    cfg = load([f"+experiment={search}", "method=lowrank", "trainer.learning_rate=0.001",
                "model.arch.dropout=0.0"])
    assert set(swept(cfg, "method")) == SEARCHED and swept(cfg, "seed") == ["0"]
    assert tuple(map(float, swept(cfg, "trainer.learning_rate"))) == LEARNING_RATES
    assert tuple(map(float, swept(cfg, "model.arch.dropout"))) == DROPOUTS
    assert tuple(map(float, swept(cfg, "ratio"))) == RATIOS
    assert cfg.eval.split == "dev"
    schedule = schedule_suffix(cfg.trainer.epochs, cfg.preset.epochs, cfg.trainer.lr_schedule)
    data = cfg.hydra.runtime.choices.data
    assert cfg.hydra.run.dir == (f"results/tuning/{data}/tfkaldi-cpu{schedule}/lowrank/lr=0.001,dropout=0.0/"
                                 "ratio=0.01/seed=0")
    # the fair grid of this setting loads the picks of this search
    fair = load([f"+experiment={FAIR[search]}", "method=lowrank"])
    assert tuned_setting(fair) == setting_slug((data, "tfkaldi", "cpu", schedule))
    assert (fair.trainer.epochs, fair.trainer.lr_schedule, data) == (
        cfg.trainer.epochs, cfg.trainer.lr_schedule, fair.hydra.runtime.choices.data)


@pytest.mark.parametrize("search, grid", FAIR.items())
def test_a_fair_grid_is_the_paper_grid_in_its_own_directory(search, grid, load):
    cfg = load([f"+experiment={grid}"])
    assert set(swept(cfg, "method")) == GRID and cfg.study == "fair" and cfg.eval.split == "test"
    assert {0.01, 0.05, 0.1} <= set(map(float, swept(cfg, "ratio")))
    assert cfg.hydra.run.dir.startswith(f"results/fair/{cfg.hydra.runtime.choices.data}/")
    dense = load([f"+experiment=[{grid},dense]"])
    assert swept(dense, "method") == ["dense"] and swept(dense, "seed") == swept(cfg, "seed")


def test_the_synth_grid_trains_until_the_dev_loss_stops_improving_and_plans_for_the_presets_epochs(load):
    cfg = load(["+experiment=fair_tfkaldi_synth"])
    trainer = cfg.trainer
    assert (trainer.lr_schedule, trainer.epochs, trainer.planned_epochs, trainer.patience) == (
        "plateau", 30, cfg.preset.epochs, 3)


@pytest.fixture
def picked(tmp_path):
    """The package's conf/ with a conf/tuned/ tree as deepthin-tune-pick writes it, in place of the
    committed picks: lowrank and deepthin picked on FSDD."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf, ignore=shutil.ignore_patterns("tuned"))
    chosen = pd.DataFrame([("fsdd_tfkaldi-cpu-12epochs", "lowrank", 0.01, 0.0, 1.5),
                           ("fsdd_tfkaldi-cpu-12epochs", "deepthin", 0.001, 0.2, 2.5)],
                          columns=["setting", "method", "learning_rate", "dropout", "dev_loss"])
    write_picks(with_takers(chosen), ["fsdd_tfkaldi-cpu-12epochs"], tmp_path / "results", conf / "tuned")
    return conf


@pytest.mark.parametrize("method, lr, dropout", [
    ("lowrank", 0.01, 0.0), ("deepthin", 0.001, 0.2), ("deepthin_aligned", 0.001, 0.2),  # DeepThin's pick
    ("hashednet", 3e-3, 0.2), ("handtuned", 3e-3, 0.2),   # no pick: conf/config.yaml's values
])
def test_a_fair_grid_trains_each_method_with_its_pick(method, lr, dropout, picked, load):
    cfg = load(["+experiment=fair_tfkaldi_fsdd", f"method={method}"], picked)
    assert (cfg.trainer.learning_rate, cfg.model.arch.dropout) == (lr, dropout)
    # the command line still wins, and settings without picks never load them
    assert load(["+experiment=fair_tfkaldi_fsdd", f"method={method}",
                 "trainer.learning_rate=0.5"], picked).trainer.learning_rate == 0.5
    grid = load(["data=fsdd", "trainer.epochs=12", f"method={method}"], picked)
    assert grid.trainer.learning_rate == 3e-3


@pytest.mark.parametrize("pick", sorted((CONF_DIR / "tuned" / "fsdd_tfkaldi-cpu-12epochs").glob("*.yaml")),
                         ids=lambda path: path.stem)
def test_the_fsdd_fair_grid_trains_with_the_committed_picks(pick, load):
    saved = OmegaConf.load(pick)
    cfg = load(["+experiment=fair_tfkaldi_fsdd", f"method={pick.stem}"])
    assert (cfg.trainer.learning_rate, cfg.model.arch.dropout) == (
        saved.trainer.learning_rate, saved.model.arch.dropout)


def test_tune_pick_without_a_search_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "deepthin.experiment.tune", "--results", str(tmp_path),
                           "--conf", str(tmp_path / "tuned")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"deepthin-tune-pick: error: no complete run under {tmp_path / 'tuning'}; allowed: a results tree "
        "after a search (make tune-tfkaldi-fsdd, tune-tfkaldi-synth)"]
    assert not (tmp_path / "tuned").exists()


class Untouchable(list):
    """A split that fails the test when anything reads it."""

    def __getitem__(self, index):
        raise AssertionError("the test split was read")

    __iter__ = __len__ = __getitem__


def test_evaluation_on_dev_never_reads_the_test_split(tmp_path):
    rng = np.random.default_rng(0)
    dev = [Example(f"u{i}", "s", "ab", rng.normal(size=(30, 40)).astype("float32"), np.array([1, 2], "int32"))
           for i in range(3)]
    data = SpeechData({"train": dev, "dev": dev, "test": Untouchable()}, FeatureConfig(num_features=40), 2, 0,
                      0, eval_split="dev")
    model = build("tfkaldi", "tiny", VOCAB.size)
    params = model.count_params()
    evaluation = evaluate(model, data, None, params, tmp_path / "model.keras", 1, params)
    assert evaluation.metrics["test_loss"] > 0 and "latency_per_audio_second" in evaluation.metrics


def test_a_fair_sweep_over_methods_trains_each_with_its_pick_and_prunes_within_the_planned_epochs(
        picked, deepthin_run, tiny, cache_dir, tmp_path):
    """The synth fair grid as one tiny multirun: lowrank with its pick, pruning without one; the plateau
    schedule runs at most 4 epochs while pruning's ramp spans the tiny preset's 2."""
    pick = picked / "tuned" / "synth_tfkaldi-cpu-30epochs-plateau"
    pick.mkdir(parents=True)
    (pick / "lowrank.yaml").write_text("# @package _global_\ntrainer:\n  learning_rate: 0.002\n"
                                       "model:\n  arch:\n    dropout: 0.1\n")
    sweep = tmp_path / "sweep"
    # --config-path: the copy replaces the package's conf/, so its committed picks stay out
    proc = deepthin_run([f"--config-path={picked}", "-m", "+experiment=fair_tfkaldi_synth", *tiny,
                         "method=lowrank,pruning", "ratio=0.3", "seed=0", "trainer.epochs=4",
                         f"hydra.sweep.dir={sweep}"], cache_dir, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    setting = sweep / "fair/synth/tfkaldi-tiny-4epochs-plateau"
    runs = {m: json.loads((setting / m / "ratio=0.3/seed=0/results.json").read_text())
            for m in ("lowrank", "pruning")}
    used = {m: (r["config"]["trainer"]["learning_rate"], r["config"]["model"]["arch"]["dropout"])
            for m, r in runs.items()}
    assert used == {"lowrank": (0.002, 0.1), "pruning": (3e-3, 0.0)}   # pruning: defaults (tiny: no dropout)
    pruning = runs["pruning"]
    steps_per_epoch = pruning["metrics"]["train_steps"] // pruning["metrics"]["epochs_run"]
    assert pruning["method_details"]["end_step"] <= 2 * steps_per_epoch   # planned_epochs: the preset's
    assert pruning["size"]["stored_vs_target"] <= 1.02                   # the model returned: in budget
    # before its ramp ends (2 epochs) a pruning run is above budget: its rate is never lowered then
    assert [h["learning_rate"] for h in pruning["history"][:2]] == pytest.approx([3e-3, 3e-3])


def test_a_run_that_diverges_in_a_sweep_is_recorded_and_the_others_finish(deepthin_run, tiny, cache_dir,
                                                                          tmp_path):
    """A search tries large learning rates: one that diverges is a point that lost, not the sweep's end."""
    proc = deepthin_run(["-m", "+experiment=tune_tfkaldi_synth", *tiny, "method=dense", "ratio=1.0",
                         "trainer.epochs=2", "trainer.learning_rate=nan,0.003", "model.arch.dropout=0.0",
                         f"hydra.sweep.dir={tmp_path}"], cache_dir, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "deepthin-run: error: training diverged: loss nan at epoch 1" in proc.stderr
    setting = tmp_path / "tuning/synth/tfkaldi-tiny-plateau/dense"
    lost = setting / "lr=nan,dropout=0.0/ratio=1.0/seed=0"
    assert not (lost / "results.json").exists()   # not a finished run
    diverged = json.loads((lost / "diverged.json").read_text())
    assert diverged["diverged"].startswith("training diverged: loss nan")
    assert (diverged["method"], diverged["config"]["eval"]["split"]) == ("dense", "dev")
    finished = json.loads((setting / "lr=0.003,dropout=0.0/ratio=1.0/seed=0/results.json").read_text())
    assert finished["complete"] is True
