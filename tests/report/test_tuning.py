"""The searches of learning rate and dropout (results/tuning/): the pick's rule, the report's table of
them, deepthin-tune-pick writing the same picks, and the grid's report never counting them."""

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from deepthin.experiment.tune import main as tune_pick
from deepthin.report.collect import collect
from deepthin.report.tuning import DROPOUTS, LEARNING_RATES, RATIOS, picks, tuning_runs, tuning_section

from .conftest import write_run

SETTING = "fsdd_tfkaldi-cpu-12epochs"
POINTS = list(itertools.product(LEARNING_RATES, DROPOUTS))


def write_tuning_run(root: Path, method: str, lr: float, dropout: float, ratio: float,
                     dev_loss: float | None) -> Path:
    """One search run's results.json as deepthin-run writes it (the fields read), FSDD at 12 epochs;
    ``dev_loss=None``: the diverged.json of a run whose training diverged."""
    results = {"data": "fsdd", "model": "tfkaldi", "preset": "cpu", "method": method, "ratio": ratio,
               "seed": 0, "config": {"trainer": {"epochs": 12, "learning_rate": lr, "lr_schedule": "cosine"},
                                     "preset": {"epochs": 8}, "model": {"arch": {"dropout": dropout}},
                                     "eval": {"split": "dev"}, "study": "tuning"}}
    if dev_loss is None:
        results |= {"diverged": "training diverged: loss nan at epoch 1, step 3"}
    else:
        results |= {"metrics": {"dev_loss": dev_loss, "test_loss": dev_loss}, "complete": True}
    path = (root / "tuning/fsdd/tfkaldi-cpu-12epochs" / method / f"lr={lr},dropout={dropout}"
            / f"ratio={ratio}" / "seed=0" / ("diverged.json" if dev_loss is None else "results.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results))
    return path


def loss(method: str, lr: float, dropout: float, ratio: float) -> float | None:
    """Dev losses with a known pick per method. lowrank: lr 0.01, dropout 0 wins at ratio 0.01 (1.0
    against 1.5), but lr 0.003, dropout 0.2 has the lowest mean over both ratios (1.5 + 2.0 against 1.0
    + 3.0). deepthin: lr 0.001 at both dropouts ties for the lowest mean, the smaller dropout wins; at lr
    0.01, dropout 0.2, ratio 0.05 its training diverged."""
    if (method, lr, dropout, ratio) == ("deepthin", 0.01, 0.2, 0.05):
        return None
    if method == "lowrank":
        return {(0.01, 0.0): {0.01: 1.0, 0.05: 3.0}, (0.003, 0.2): {0.01: 1.5, 0.05: 2.0}}.get(
            (lr, dropout), {0.01: 4.0, 0.05: 4.0})[ratio]
    return 2.0 + ratio if lr == 0.001 else 5.0 + lr + dropout


@pytest.fixture
def search(tmp_path) -> Path:
    """A results tree: complete searches of lowrank and deepthin, one of hashednet that lacks a run,
    and a run of hashednet outside the search (lr 0.03, the lowest loss of all), which never counts."""
    root = tmp_path / "results"
    methods = ("lowrank", "deepthin", "hashednet")
    for method, (lr, dropout), ratio in itertools.product(methods, POINTS, RATIOS):
        if (method, lr, dropout, ratio) != ("hashednet", 0.01, 0.2, 0.05):
            write_tuning_run(root, method, lr, dropout, ratio, loss(method, lr, dropout, ratio))
    write_tuning_run(root, "hashednet", 0.03, 0.0, 0.01, 0.1)
    return root


def test_the_pick_is_the_lowest_mean_dev_loss_over_the_ratios_and_needs_the_whole_search(search):
    chosen, lacking = picks(tuning_runs(search))
    got = {row.method: (row.learning_rate, row.dropout, row.dev_loss) for row in chosen.itertuples()}
    assert got == {"lowrank": (0.003, 0.2, pytest.approx(1.75)),
                   "deepthin": (0.001, 0.0, pytest.approx(2.03))}
    assert set(chosen["setting"]) == {SETTING}
    assert lacking == [f"{SETTING} hashednet: no complete run at ratios 0.01 and 0.05 for lr 0.01, "
                       "dropout 0.2"]


def test_the_tuning_section_shows_each_points_mean_and_the_pick(search):
    text = "\n".join(tuning_section(search))
    assert "### tfkaldi-cpu-12epochs on fsdd" in text
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in text.splitlines()
            if line.startswith("| ")}
    assert rows["lowrank"][1:] == ["4.000", "4.000", "4.000", "**1.750**", "2.000", "4.000",
                                   "lr 0.003, dropout 0.2 |"]
    assert rows["hashednet"][-2:] == ["-", "none (defaults) |"]   # lr 0.01, dropout 0.2 lacks a run
    assert rows["deepthin"][-2:] == ["diverged", "lr 0.001, dropout 0 |"]   # a point that lost
    assert "No pick yet: fsdd_tfkaldi-cpu-12epochs hashednet" in text
    assert tuning_section(search.parent / "empty") == []   # no search: no section


def test_the_grids_report_never_counts_a_search_and_labels_the_fair_grid(search):
    grid = write_run(search, "deepthin", 0.01, 0, 0.2, epochs=12)
    fair = write_run(search / "fair", "deepthin", 0.01, 0, 0.3, epochs=12)
    record = json.loads(fair.read_text())
    fair.write_text(json.dumps({**record, "config": {**record["config"], "study": "fair"}}))
    (search / "tuning/fsdd/killed/checkpoint").mkdir(parents=True)
    (search / "tuning/fsdd/killed/checkpoint/config.json").write_text("{}")
    table, incomplete = collect(search)
    assert sorted(table["run_dir"]) == [str(run.parent.relative_to(search)) for run in (fair, grid)]
    assert set(table["schedule"]) == {"-12epochs", "-12epochs-fair"}   # the fair grid: a setting of its own
    assert incomplete == []


def test_deepthin_tune_pick_writes_the_picks_the_report_shows(search, tmp_path, capsys):
    conf = tmp_path / "conf"
    stale = conf / SETTING / "hashednet.yaml"   # a pick of an earlier call, whose search is now incomplete
    stale.parent.mkdir(parents=True)
    stale.write_text("# @package _global_\n")
    tune_pick(["--results", str(search), "--conf", str(conf)])
    out = capsys.readouterr().out
    written = pd.read_csv(search / "tuning" / "picks.csv")
    assert list(written.itertuples(index=False, name=None)) == [
        (SETTING, "deepthin", 0.001, 0.0, pytest.approx(2.03), "deepthin"),
        (SETTING, "deepthin_aligned", 0.001, 0.0, pytest.approx(2.03), "deepthin"),  # DeepThin's pick
        (SETTING, "lowrank", 0.003, 0.2, pytest.approx(1.75), "lowrank")]
    assert sorted(p.name for p in (conf / SETTING).iterdir()) == [
        "deepthin.yaml", "deepthin_aligned.yaml", "lowrank.yaml"]          # the stale pick is gone
    lowrank = (conf / SETTING / "lowrank.yaml").read_text()
    assert lowrank.startswith("# @package _global_\n")
    assert OmegaConf.to_container(OmegaConf.create(lowrank)) == {
        "trainer": {"learning_rate": 0.003}, "model": {"arch": {"dropout": 0.2}}}
    assert (f"deepthin-tune-pick: no pick for {SETTING} hashednet: no complete run at ratios 0.01 and 0.05 "
            "for lr 0.01, dropout 0.2; it keeps the defaults") in out
