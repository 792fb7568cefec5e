"""deepthin-report, built from a real tiny sweep that these tests run (not from hand-written numbers)."""

import json
import math
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from deepthin.report import cli
from deepthin.report.markdown import old_pruning_note, saturation_note
from deepthin.report.paper import STEP_CONVENTION as REPORT_STEP_CONVENTION
from deepthin.report.tables import results_table

REPO = Path(__file__).resolve().parents[2]
TINY = ["preset=tiny", "data.hours=0.02", "data.dev_voices=2", "data.test_voices=2", "data.progress=false",
        "eval.latency_repeats=2", "eval.beam_width=4", "trainer.progress=false", "trainer.epochs=1"]
#: The tiny sweep: the committed TFKaldi grid's config, cut down to 2 methods x 2 ratios x 2 seeds + dense.
GRID = ["+experiment=cpu_tfkaldi_synth", "method=deepthin,lowrank", "ratio=0.05,0.2", "seed=0,1"]
DENSE = ["+experiment=[cpu_tfkaldi_synth,dense]", "seed=0,1"]


def sweep(args: list[str], results: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEEPTHIN_CACHE": str(cache), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "deepthin.experiment.run", "-m", *args, *TINY,
               f"hydra.sweep.dir={results}"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory) -> Path:
    """A real sweep through the joblib launcher: 8 compressed runs and dense once per seed."""
    results = tmp_path_factory.mktemp("sweep") / "results"
    cache = tmp_path_factory.mktemp("sweep-cache")
    sweep(GRID, results, cache)
    sweep(DENSE, results, cache)
    return results


@pytest.fixture(scope="session")
def report(tiny_sweep, tmp_path_factory) -> Path:
    """``deepthin-report --results COPY`` on a copy of the sweep; returns the copy."""
    root = tmp_path_factory.mktemp("report") / "results"
    shutil.copytree(tiny_sweep, root)
    cli.main(["--results", str(root)])
    return root


def results_on_disk(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(root.rglob("results.json"))]


@pytest.mark.slow
def test_runs_csv_has_every_complete_run(report):
    runs = pd.read_csv(report / "runs.csv")
    on_disk = results_on_disk(report)
    assert len(runs) == len(on_disk) == 10
    assert sorted(runs["method"].unique()) == ["deepthin", "dense", "lowrank"]
    assert runs.loc[runs["method"] == "dense", "ratio"].tolist() == [1.0, 1.0]   # dense once per seed
    assert sorted(runs.loc[runs["method"] == "deepthin", "ratio"].unique()) == [0.05, 0.2]
    for r in on_disk:
        same = (runs["method"] == r["method"]) & (runs["ratio"] == r["ratio"]) & (runs["seed"] == r["seed"])
        row = runs[same]
        assert len(row) == 1
        for metric in ("wer_greedy", "cer_greedy", "wer_lexicon", "cer_lexicon"):
            assert row[metric].item() == pytest.approx(r["metrics"][metric])
        assert row["stored_params"].item() == r["size"]["stored_params"]
        assert row["epochs"].item() == 1


def improvement_over_lowrank(report: Path, metric: str) -> float:
    """DeepThin's relative improvement over lowrank on ``metric``, computed by hand from the runs."""
    values = {}
    for r in results_on_disk(report):
        values.setdefault((r["method"], r["ratio"]), []).append(r["metrics"][metric])
    mean = {k: sum(v) / len(v) for k, v in values.items()}
    return sum((mean["lowrank", q] - mean["deepthin", q]) / mean["lowrank", q] for q in (0.05, 0.2)) / 2


@pytest.mark.slow
def test_relative_improvement_matches_the_results_files(report):
    table = pd.read_csv(report / "relative_improvement.csv")
    assert table["baseline"].tolist() == ["lowrank"]
    expected = improvement_over_lowrank(report, "wer_lexicon")
    row = table.iloc[0]
    assert row["metric"] == "wer_lexicon" and row["n_ratios"] == 2
    assert row["relative_improvement"] == pytest.approx(expected)
    assert row["paper"] == pytest.approx(0.60)
    markdown = (report / "relative_improvement.md").read_text()
    assert "| rank factorization |" in markdown and f"{expected:+.1%}" in markdown and "+60%" in markdown


@pytest.mark.slow
def test_cer_table_compares_the_same_runs_on_cer(report):
    table = pd.read_csv(report / "relative_improvement_cer.csv")
    expected = improvement_over_lowrank(report, "cer_greedy")
    row = table.iloc[0]
    assert row["metric"] == "cer_greedy" and row["baseline"] == "lowrank"
    assert row["relative_improvement"] == pytest.approx(expected)
    assert math.isnan(row["paper"])  # the paper published no CER
    assert "## The same comparison on CER" in (report / "REPORT.md").read_text()


def test_saturated_wer_is_said_plainly():
    runs = pd.DataFrame({"method": ["deepthin", "lowrank", "pruning", "dense"], "ratio": [0.01] * 3 + [1.0],
                         "wer_lexicon": [0.99, 1.0, 0.6, 0.5], "cer_greedy": [0.7, 0.8, 0.3, 0.2]})
    note = saturation_note(("synth", "tfkaldi", "cpu", ""), runs)
    assert note is not None and "2 of 3 compressed (method, ratio) points" in note
    assert note.endswith("the CER table below still does.")
    runs["cer_greedy"] = [1.0, 0.97, 0.3, 0.2]
    note = saturation_note(("synth", "tfkaldi", "cpu", ""), runs)
    assert "neither can CER (2 of 3 points >= 0.95)" in note
    runs["wer_lexicon"] = [0.5, 1.0, 0.6, 0.5]
    assert saturation_note(("synth", "tfkaldi", "cpu", ""), runs) is None


def test_pruning_runs_from_before_tfmots_step_convention_are_named():
    from deepthin.methods.pruning import STEP_CONVENTION

    assert REPORT_STEP_CONVENTION == STEP_CONVENTION
    table = pd.DataFrame({"method": ["pruning", "pruning", "deepthin"],
                          "step_convention": [None, "tfmot", None], "run_dir": ["a/old", "a/new", "a/dt"]})
    note = old_pruning_note(table)
    assert note.startswith("**1 pruning run(s) predate TFMOT's step convention**")
    assert note.endswith("Runs: `a/old`.")
    assert old_pruning_note(table.iloc[1:]) is None
    assert old_pruning_note(table.drop(columns="step_convention")) is None


@pytest.mark.slow
def test_report_states_paper_numbers_commands_machine_and_date(report):
    text = (report / "REPORT.md").read_text()
    assert datetime.now(timezone.utc).strftime("%Y-%m-%d") in text
    assert f"{len(os.sched_getaffinity(0))} usable cores" in text
    assert "60%, pruning 57%, hand-tuned 23%, HashedNets 6%" in text and "28%, 27%, 20%, 12%" in text
    # The commands that reproduce the runs, rebuilt from Hydra's records of each run.
    assert "deepthin-run -m +experiment=cpu_tfkaldi_synth preset=tiny" in text
    assert "method=deepthin,lowrank ratio=0.05,0.2 seed=0,1" in text
    assert "deepthin-run -m '+experiment=[cpu_tfkaldi_synth,dense]'" in text
    assert "method=dense ratio=1.0 seed=0,1" in text
    assert f"deepthin-report --results {report}" in text
    claim = "  - DeepThin better than rank factorization: **"
    assert f"- **tfkaldi-tiny-1epochs on synth**, WER (lexicon):\n{claim}" in text
    assert f"- **tfkaldi-tiny-1epochs on synth**, CER (greedy):\n{claim}" in text
    assert "ratios 0.005, 0.01, 0.02, 0.1 not run; 2 seed(s) instead of 3" in text
    assert "methods not run: deepthin-aligned, hashednet, pruning, handtuned" in text
    assert "predate TFMOT's step convention" not in text   # no pruning run at all


def test_console_command_on_an_empty_tree_fails_in_one_line(tmp_path):
    done = subprocess.run(["deepthin-report", "--results", str(tmp_path)], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=120)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last == f"deepthin-report: error: no complete results.json under {tmp_path}"


@pytest.mark.slow
def test_results_table_gives_seed_means_with_dense_first(report):
    runs = pd.read_csv(report / "runs.csv")
    table = results_table(runs)
    assert table["method"].tolist() == ["dense", "deepthin", "deepthin", "lowrank", "lowrank"]
    assert table["seeds"].tolist() == [2] * 5
    deepthin = runs[(runs["method"] == "deepthin") & (runs["ratio"] == 0.2)]
    row = table[(table["method"] == "deepthin") & (table["ratio"] == 0.2)].iloc[0]
    assert row["WER (lexicon)"] == pytest.approx(deepthin["wer_lexicon"].mean())
    assert row["CER (greedy)"] == pytest.approx(deepthin["cer_greedy"].mean())
    assert row["stored params"] == round(deepthin["stored_params"].mean())
    assert "## Results per setting (means over seeds)" in (report / "REPORT.md").read_text()


@pytest.mark.slow
def test_report_builds_before_any_dense_run_finished(tiny_sweep, tmp_path):
    root = tmp_path / "results"
    shutil.copytree(tiny_sweep, root)
    shutil.rmtree(root / "synth/tfkaldi-tiny-1epochs/dense")
    written = cli.build(root)
    assert written["report"].exists()
    assert (root / "figures/synth_tfkaldi-tiny-1epochs_latency_vs_ratio.png").stat().st_size > 10_000
    assert "dense" not in set(pd.read_csv(root / "runs.csv")["method"])


def test_runs_from_before_the_lexicon_decoder_fail_in_one_line(tmp_path, capsys):
    run = tmp_path / "synth/tfkaldi-cpu/dense/ratio=1.0/seed=0"
    run.mkdir(parents=True)
    old = {"data": "synth", "model": "tfkaldi", "preset": "cpu", "method": "dense", "ratio": 1.0, "seed": 0,
           "metrics": {"wer_greedy": 1.0, "wer_beam": 3.7, "cer_greedy": 0.9, "test_loss": 80.0},
           "complete": True}
    (run / "results.json").write_text(json.dumps(old))
    with pytest.raises(SystemExit) as stop:
        cli.main(["--results", str(tmp_path)])
    assert stop.value.code == 2 and not (tmp_path / "runs.csv").exists()
    assert capsys.readouterr().err == (
        f"deepthin-report: error: no run under {tmp_path} has wer_lexicon (written before that metric "
        "existed); allowed: results.json of this deepthin-run (re-run those runs)\n")
