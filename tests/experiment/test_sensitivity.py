"""deepthin-sensitivity, and a fitted, allocated fine-tuning run built from its table."""

import json

import pandas as pd
import pytest

from deepthin.experiment.sensitivity import main, sensitivity


def test_pruning_at_ratio_1_changes_nothing_and_smaller_ratios_are_measured(dense_run, tmp_path, snapshot):
    before = snapshot(dense_run)
    path = sensitivity([f"from_run={dense_run}", "method=pruning", "ratios=[1.0,0.05]", f"out={tmp_path}"])
    table = pd.read_csv(path)
    assert (tmp_path / "sensitivity.png").stat().st_size > 0
    assert list(zip(table["layer"], table["ratio"], strict=True)) == [
        ("hidden_1", 0.05), ("hidden_1", 1.0), ("hidden_2", 0.05), ("hidden_2", 1.0)]
    whole = table[table["ratio"] == 1.0]
    assert whole["loss_increase"].abs().max() < 1e-4
    assert (whole["cer_greedy"] == whole["dense_cer_greedy"]).all()
    assert (table[table["ratio"] == 0.05]["loss_increase"] != 0).all()
    assert table.loc[table["layer"] == "hidden_2", "original_params"].iloc[0] == 32 * 32
    assert snapshot(dense_run) == before


@pytest.mark.parametrize("argv, message", [
    (["method=lowrank"], "missing option(s) from_run"),
    (["from_run=X", "method=svd"], "unknown method 'svd'"),
    (["from_run=X", "method=handtuned"], "method handtuned is not a per-matrix method"),
    (["from_run=X", "ratios=[0.1,2]"], "ratio=2.0 is outside (0, 1]"),
    (["from_run=X", "method=lowrank"], "from_run=X is not a directory"),
])
def test_bad_input_is_one_line_and_exit_status_2(argv, message, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["deepthin-sensitivity", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("deepthin-sensitivity: error: ") and message in err[0], err


@pytest.mark.slow
def test_fitted_run_with_an_allocated_budget_records_its_start(
        dense_run, deepthin_run, cache_dir, tiny, tmp_path, snapshot):
    table = sensitivity([f"from_run={dense_run}", "method=lowrank", "ratios=[0.1,0.3,0.6]",
                         f"out={tmp_path / 'sensitivity'}"])
    before = snapshot(dense_run)
    run_dir = tmp_path / "run"
    proc = deepthin_run(["model=tfkaldi", "method=lowrank", "ratio=0.3", "init=fit", f"from_run={dense_run}",
                         "allocate=sensitivity", f"sensitivity_table={table}", "trainer.epochs=1",
                         f"hydra.run.dir={run_dir}", *tiny], cache_dir, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert snapshot(dense_run) == before
    results = json.loads((run_dir / "results.json").read_text())
    assert results["method"] == "lowrank+fit+alloc" and results["init"] == "fit"
    assert {"dev_loss", "test_loss", "cer_greedy", "wer_lexicon"} <= set(results["metrics_at_fit"])
    allocation = results["allocation"]
    assert abs(allocation["stored_params"] / allocation["budget"] - 1) <= 0.02
    assert results["size"]["stored_vs_target"] == pytest.approx(1.0, abs=0.02)
    rows = {row["layer"]: row for row in results["size"]["size_report"]}
    for layer, ratio in allocation["ratios"].items():
        assert rows[f"{layer}/kernel"]["target_ratio"] == pytest.approx(ratio)
        assert 0 < rows[f"{layer}/kernel"]["fit_error"] < 1
