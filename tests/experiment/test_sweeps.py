"""Sweep configs (conf/experiment/, in the package as deepthin/conf/), their launchers, and skipping the
runs a sweep already finished."""

from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

import deepthin.experiment.run  # noqa: F401  (registers the resolvers the run directory uses)
from deepthin.conf_dir import CONF_DIR as CONF
from deepthin.conf_dir import schedule_suffix
from deepthin.experiment.method_confs import per_matrix_methods
from deepthin.report.collect import setting_label
from deepthin.report.recipe_check import SETTINGS as RECIPE_CHECK

ROOT = Path(__file__).resolve().parents[2]
COMPRESSED = {"deepthin", "deepthin_aligned", "lowrank", "hashednet", "pruning", "handtuned"}
PAPER_RATIOS = {0.005, 0.01, 0.02, 0.05, 0.1, 0.2}
GRIDS = {  # experiment: (model, preset, data or None = the default, minimum seeds)
    "paper_tfkaldi": ("tfkaldi", "paper", None, 3),
    "paper_deepspeech": ("deepspeech", "paper", None, 3),
    "cpu_tfkaldi_synth": ("tfkaldi", "cpu", "synth", 3),
    "cpu_deepspeech_synth": ("deepspeech", "cpu", "synth", 1),   # seeds 1-2 cut to fit 10 h
    "cpu_tfkaldi_fsdd": ("tfkaldi", "cpu", "fsdd", 3),
}
LAUNCHERS = {
    "joblib": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
    "submitit_local": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher",
    "submitit_slurm": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher",
}


def load(overrides: list[str]):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("config", overrides=overrides, return_hydra_config=True)


def values(cfg, key: str) -> list[str]:
    return str(cfg.hydra.sweeper.params[key]).split(",")


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_grid_configs_compose_to_the_intended_grid(name):
    model, preset, data, seeds = GRIDS[name]
    cfg = load([f"+experiment={name}"])
    choices = cfg.hydra.runtime.choices
    assert (choices.model, choices.preset, choices["hydra/launcher"]) == (model, preset, "joblib")
    assert choices.data == (data or "synth")
    assert set(values(cfg, "method")) == COMPRESSED          # dense is not swept over ratios
    ratios = {float(r) for r in values(cfg, "ratio")}
    assert PAPER_RATIOS <= ratios and all(0 < r < 1 for r in ratios)
    assert len(values(cfg, "seed")) >= seeds


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_dense_runs_once_per_seed_of_its_grid(name):
    grid, dense = load([f"+experiment={name}"]), load([f"+experiment=[{name},dense]"])
    assert values(dense, "method") == ["dense"] and values(dense, "ratio") == ["1.0"]
    assert values(dense, "seed") == values(grid, "seed")
    for key in ("model", "preset", "data"):
        assert dense.hydra.runtime.choices[key] == grid.hydra.runtime.choices[key]
    assert dense.trainer.epochs == grid.trainer.epochs


def setting_of(cfg) -> tuple[str, str, str, str]:
    """The report's setting of a composed config: data, model, preset and schedule."""
    schedule = schedule_suffix(cfg.trainer.epochs, cfg.preset.epochs)
    return (cfg.hydra.runtime.choices.data, cfg.model.name, cfg.preset.name, schedule)


def test_committed_cpu_grid_fits_the_budget():
    """The three cpu grids on 2 cores at the per-epoch costs of the committed recipe check: planned at
    about 10 h; about 13 h since FSDD trains for 12 epochs (conf/experiment/cpu_tfkaldi_fsdd.yaml says
    why; its recipe-check runs shared the cores with 3-4 processes, so its share is pessimistic)."""
    # job-minutes per epoch, evaluation included (wall_seconds / epochs_run of dense and DeepThin runs,
    # 1 TensorFlow thread, 2-3 jobs at a time on 2 cores)
    check = pd.read_csv(ROOT / "results" / "recipe_check.csv")
    minutes_per_epoch = (check.wall_seconds / check.epochs_run / 60).groupby(check.setting).mean()
    total = 0.0
    for name in GRIDS:
        if name.startswith("cpu_"):
            cfg = load([f"+experiment={name}"])
            runs = len(values(cfg, "method")) * len(values(cfg, "ratio")) * len(values(cfg, "seed"))
            runs += len(values(cfg, "seed"))   # dense
            total += runs * cfg.trainer.epochs * minutes_per_epoch[setting_label(setting_of(cfg))] / 2
    assert 8 * 60 <= total <= 13.5 * 60


@pytest.fixture
def as_job():
    """Make a composed config the running job's, so that ``${hydra:...}`` in its run directory resolves."""
    yield HydraConfig.instance().set_config
    HydraConfig.instance().cfg = None


@pytest.mark.parametrize("setting", sorted(RECIPE_CHECK))
def test_recipe_check_reads_the_settings_its_sweeps_write(setting, as_job):
    """`deepthin-recipe-check` looks for each setting's runs where `make recipe-check` puts them."""
    data, model, preset, schedule = setting
    cfg = load([f"+experiment=recipe_check_{model}_{data}"])
    as_job(cfg)
    assert setting_of(cfg) == setting
    assert cfg.hydra.sweep.subdir.startswith(f"{data}/{model}-{preset}{schedule}/")


def test_the_run_directory_names_a_schedule_other_than_the_presets(as_job):
    for extra, setting in (([], "tfkaldi-cpu"), (["trainer.epochs=8"], "tfkaldi-cpu"),
                           (["trainer.epochs=12"], "tfkaldi-cpu-12epochs")):
        cfg = load(["method=dense", "ratio=1.0", *extra])
        as_job(cfg)
        assert cfg.hydra.run.dir == f"results/synth/{setting}/dense/ratio=1.0/seed=0"


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_each_launcher_config_loads_and_resolves(launcher, monkeypatch):
    monkeypatch.setenv("DEEPTHIN_TF_THREADS", "1")
    cfg = load(["+experiment=cpu_tfkaldi_synth", f"hydra/launcher={launcher}"])
    assert cfg.hydra.runtime.choices["hydra/launcher"] == launcher
    resolved = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert resolved["_target_"] == LAUNCHERS[launcher]
    get_class(resolved["_target_"])     # the plugin is installed and imports
    if launcher == "joblib":
        assert resolved["n_jobs"] == -1 and resolved["prefer"] == "processes"   # one process per core
    else:
        assert resolved["submitit_folder"] == "results/.submitit/%j"
    env = OmegaConf.to_container(cfg.hydra.job.env_set, resolve=True)
    assert env == {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}


def test_tf_threads_per_job_follow_the_environment(monkeypatch):
    monkeypatch.setenv("DEEPTHIN_TF_THREADS", "2")
    env = OmegaConf.to_container(load(["+experiment=cpu_tfkaldi_synth"]).hydra.job.env_set, resolve=True)
    assert env["TF_NUM_INTRAOP_THREADS"] == "2"


def dense_sweep(sweep_dir: Path, tiny: list[str], *extra: str) -> list[str]:
    return ["-m", "+experiment=[cpu_tfkaldi_synth,dense]", *tiny, "trainer.epochs=1",
            f"hydra.sweep.dir={sweep_dir}", *extra]


@pytest.mark.slow
def test_rerunning_a_sweep_reruns_only_incomplete_runs(deepthin_run, tiny, cache_dir, tmp_path):
    args = dense_sweep(tmp_path, tiny)
    first = deepthin_run(args, cache_dir, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    # trainer.epochs=1 is not the tiny preset's 2: the runs' directories say so
    done, killed = (tmp_path / f"synth/tfkaldi-tiny-1epochs/dense/ratio=1.0/seed={s}/results.json"
                    for s in (0, 1))
    before = done.read_bytes(), done.stat().st_mtime_ns
    killed.unlink()            # as if the sweep was killed while this run was in flight
    second = deepthin_run(args, cache_dir, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert (done.read_bytes(), done.stat().st_mtime_ns) == before        # finished run: skipped
    assert '"complete": true' in killed.read_text()                         # in-flight run: redone
    log = second.stdout + second.stderr
    assert f"{done} is complete; skipping" in log
    skipped = second.stdout.splitlines()
    after_skip = skipped[skipped.index(f"deepthin-run: {done} is complete; skipping") + 1]
    assert after_skip.startswith("tfkaldi/dense ratio=1.0: WER")   # the skipped run's own summary line
    assert f"{killed} is complete; skipping" not in log


@pytest.mark.slow
def test_submitit_local_launcher_runs_a_sweep(deepthin_run, tiny, cache_dir, tmp_path):
    args = dense_sweep(tmp_path, tiny, "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=8",
                       "seed=0")
    done = deepthin_run(args, cache_dir, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = tmp_path / "synth/tfkaldi-tiny-1epochs/dense/ratio=1.0/seed=0/results.json"
    assert '"complete": true' in results.read_text()
    assert list((tmp_path / ".submitit").glob("*/*_result.pkl"))     # it went through submitit's executor


def test_paper_cpu_grid_is_the_paper_size_on_fsdd_with_every_method_and_the_fsdd_picks(as_job):
    """Issue 29, point 2: every method at the paper's low ratios, 3 seeds, in the fair study (its own
    setting in the report, beside the cpu preset's)."""
    cfg = load(["+experiment=paper_cpu"])
    choices = cfg.hydra.runtime.choices
    assert (choices.model, choices.preset, choices.data, cfg.study) == ("tfkaldi", "paper", "fsdd", "fair")
    assert set(values(cfg, "method")) == COMPRESSED
    assert {float(r) for r in values(cfg, "ratio")} == {0.005, 0.01, 0.02, 0.05}
    assert values(cfg, "seed") == ["0", "1", "2"]
    aligned = load(["+experiment=paper_cpu", "method=deepthin_aligned"])
    assert (aligned.method.name, aligned.method.method, aligned.method.policy) == (
        "deepthin-aligned", "deepthin", "aligned")
    fair = load(["+experiment=fair_tfkaldi_fsdd", "method=deepthin_aligned"])
    assert (aligned.trainer.learning_rate, aligned.model.arch.dropout) == (
        fair.trainer.learning_rate, fair.model.arch.dropout)
    dense = load(["+experiment=[paper_cpu,dense]"])
    assert values(dense, "method") == ["dense"] and dense.hydra.runtime.choices.preset == "paper"
    assert values(dense, "seed") == values(cfg, "seed")
    one = load(["+experiment=paper_cpu", "method=lowrank", "ratio=0.01", "seed=1"])
    as_job(one)
    assert one.hydra.run.dir == "results/fair/fsdd/tfkaldi-paper/lowrank/ratio=0.01/seed=1"


@pytest.mark.parametrize("setting, schedule", [("limit_tfkaldi_fsdd", "-12epochs"),
                                               ("limit_tfkaldi_synth", "")])
def test_the_limit_study_runs_under_results_limit_from_its_own_dense_run(setting, schedule, as_job):
    """conf/experiment/limit_*.yaml (issue 27, point 6): each part's runs land under results/limit/, at the
    grid's schedule, and `make limit-*` fits to the dense run its first sweep writes."""
    where = f"results/limit/{setting.rsplit('_', 1)[1]}/tfkaldi-cpu"
    dense = load([f"+experiment=[{setting},dense]", "method=dense", "ratio=1.0", "seed=0"])
    assert values(dense, "method") == ["dense"] and values(dense, "seed") == ["0"]
    as_job(dense)
    assert dense.hydra.run.dir == f"{where}{schedule}/dense/ratio=1.0/seed=0"
    assert f"$(call limit,{setting},{dense.hydra.run.dir})" in (ROOT / "Makefile").read_text()
    fit = load([f"+experiment=[{setting},_limit_fit]", f"from_run='{dense.hydra.run.dir}'", "method=pruning"])
    assert set(values(fit, "method")) == set(per_matrix_methods())
    assert {float(r) for r in values(fit, "ratio")} == PAPER_RATIOS and values(fit, "seed") == ["0"]
    assert (fit.init, fit.trainer.epochs, fit.study) == ("fit", 0, "limit")
    as_job(fit)
    assert fit.hydra.run.dir == f"{where}-0epochs/pruning+fit/ratio=0.01/seed=0"
    depth = load([f"+experiment=[{setting},_limit_depth]", "method=handtuned_depth",
                  "method.hidden_layers=2"])
    assert values(depth, "method") == ["handtuned_depth"]
    assert values(depth, "method.hidden_layers") == ["1", "2", "3", "4"]
    assert {float(r) for r in values(depth, "ratio")} == PAPER_RATIOS
    assert depth.trainer.epochs == load([f"+experiment=cpu_{setting.split('_', 1)[1]}"]).trainer.epochs
    as_job(depth)
    assert depth.hydra.run.dir == f"{where}{schedule}/handtuned-d2/ratio=0.01/seed=0"
    assert instantiate(depth.method).name == "handtuned-d2"
