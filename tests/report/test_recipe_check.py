"""deepthin-recipe-check: the recipe-check runs of a results tree, as a CSV and against the targets."""

import json

import pandas as pd
import pytest

from deepthin.conf_dir import schedule_suffix
from deepthin.report.recipe_check import COLUMNS, RUNS, SEEDS, SETTINGS, main

EPOCHS = {"": 8, "-12epochs": 12}  # the schedules of SETTINGS, as epochs of the cpu preset (8)


def _write_run(root, data, model, method, ratio, seed, cer, trained=True, wall=100.0, epochs=8):
    """A run of the cpu preset (8 epochs), trained for ``epochs``."""
    setting = f"{model}-cpu{schedule_suffix(epochs, 8)}"
    run_dir = root / data / setting / method / f"ratio={ratio}" / f"seed={seed}"
    run_dir.mkdir(parents=True)
    results = {"data": data, "model": model, "preset": "cpu", "method": method, "ratio": ratio, "seed": seed,
               "metrics": {"cer_greedy": cer, "wer_greedy": min(1.0, 3 * cer), "test_loss": 10 * cer,
                           "train_seconds": wall - 20, "wall_seconds": wall, "epochs_run": epochs},
               "size": {}, "config": {"trainer": {"epochs": epochs}, "preset": {"epochs": 8}},
               "trained": trained, "complete": True}
    (run_dir / "results.json").write_text(json.dumps(results))


def _full_tree(root, cer_of):
    for data, model, _, schedule in SETTINGS:
        epochs = EPOCHS[schedule]
        for method, ratio in RUNS:
            for seed in SEEDS:
                cer = cer_of(model, method, ratio, seed)
                _write_run(root, data, model, method, ratio, seed, cer, epochs=epochs)
    _write_run(root, "synth", "tfkaldi", "lowrank", 0.1, 0, 0.5)  # not part of the check


def test_all_targets_met_writes_the_csv_and_exits_0(tmp_path, capsys):
    _full_tree(tmp_path, lambda model, method, ratio, seed: {1.0: 0.04, 0.1: 0.05, 0.02: 0.3}[ratio])
    main(["--results", str(tmp_path)])
    table = pd.read_csv(tmp_path / "recipe_check.csv")
    assert list(table.columns) == COLUMNS and len(table) == len(SETTINGS) * len(RUNS) * len(SEEDS)
    assert set(table["method"]) == {"dense", "deepthin"}
    out = capsys.readouterr().out
    assert "MISSED" not in out and "tfkaldi-cpu-12epochs on fsdd: dense CER <= 0.05: 0.040 (met)" in out


def test_a_missed_target_and_an_untrained_run_are_named_and_exit_1(tmp_path, capsys):
    def cer(model, method, ratio, seed):
        return 0.2 if (model, method) == ("deepspeech", "dense") else {1.0: 0.04, 0.1: 0.05, 0.02: 0.3}[ratio]

    _full_tree(tmp_path, cer)
    path = tmp_path / "fsdd" / "tfkaldi-cpu-12epochs" / "deepthin" / "ratio=0.02" / "seed=1" / "results.json"
    results = json.loads(path.read_text())
    path.write_text(json.dumps({**results, "trained": False}))
    with pytest.raises(SystemExit) as exit_info:
        main(["--results", str(tmp_path)])
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert "deepspeech-cpu on synth: dense CER <= 0.15: 0.200 (MISSED)" in out
    assert "tfkaldi-cpu-12epochs on fsdd: every run trained: 8/9 (MISSED)" in out


def test_missing_runs_are_reported_as_not_run(tmp_path, capsys):
    _write_run(tmp_path, "fsdd", "tfkaldi", "dense", 1.0, 0, 0.04, epochs=12)
    main(["--results", str(tmp_path)])
    assert "tfkaldi-cpu-12epochs on fsdd: dense CER <= 0.05: missing (not run)" in capsys.readouterr().out


def test_runs_of_another_schedule_are_not_counted(tmp_path, capsys):
    """FSDD's check trains for 12 epochs: runs of the preset's 8 are another experiment."""
    for seed in SEEDS:
        _write_run(tmp_path, "fsdd", "tfkaldi", "dense", 1.0, seed, 0.04)
    main(["--results", str(tmp_path)])
    assert pd.read_csv(tmp_path / "recipe_check.csv").empty
    assert "tfkaldi-cpu-12epochs on fsdd: dense CER <= 0.05: missing (not run)" in capsys.readouterr().out


def test_a_results_path_that_is_not_a_directory_is_one_line_and_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--results", str(tmp_path / "nowhere")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
