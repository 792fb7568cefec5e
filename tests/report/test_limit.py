"""The limit study's table (deepthin/report/limit.py); the grid's report leaves results/limit/ out."""

import json
from pathlib import Path

from deepthin.report.cli import build
from deepthin.report.collect import collect
from deepthin.report.limit import limit_section

from .conftest import make_grid, write_run

#: The limit study's dense run, as `make limit-*` writes it and fits to it.
DENSE = "limit/fsdd/tfkaldi-cpu/dense/ratio=1.0/seed=0"
#: (depth, width, test WER, dev loss) of the hand-designed nets at every ratio: depth 2 has the lowest
#: dev loss, depth 3 the lowest test WER.
NETS = ((1, 40, 0.20, 6.0), (2, 30, 0.25, 5.0), (3, 25, 0.18, 7.0))


def write_limit_run(root: Path, method: str, ratio: float, wer: float, dev_loss: float, *, epochs: int = 8,
                    **record) -> None:
    """A seed-0 run of the limit study (under ``root/limit``) with this dev loss and these fields."""
    path = write_run(root / "limit", method, ratio, 0, wer, epochs=epochs)
    results = json.loads(path.read_text())
    results["metrics"]["dev_loss"] = dev_loss
    results["config"]["study"] = "limit"  # as conf/experiment/limit_*.yaml records it
    path.write_text(json.dumps({**results, **record}))


def write_fair_run(root: Path, method: str, ratio: float, seed: int, wer: float) -> None:
    """A run of the setting's fair grid (``study=fair``, under ``root/fair``)."""
    path = write_run(root / "fair", method, ratio, seed, wer)
    results = json.loads(path.read_text())
    results["config"]["study"] = "fair"
    path.write_text(json.dumps(results))


def make_limit(root: Path, from_run: str = f"results/{DENSE}") -> Path:
    """A limit study of the grid's setting: its dense run, two methods fitted to it at 0 epochs (WER 0.9
    and 0.95), and the hand-designed nets of :data:`NETS`, at ratios 0.01 and 0.1."""
    write_limit_run(root, "dense", 1.0, 0.1, 1.0)
    for ratio in (0.01, 0.1):
        for method, wer in (("deepthin", 0.9), ("lowrank", 0.95)):
            write_limit_run(root, f"{method}+fit", ratio, wer, 50.0, epochs=0, init="fit", from_run=from_run)
        for depth, width, wer, dev_loss in NETS:
            write_limit_run(root, f"handtuned-d{depth}", ratio, wer, dev_loss,
                            method_details={"hidden_layers": depth, "width": width})
    return root


def table_row(lines: list[str], ratio: str) -> list[str]:
    """The cells of the limit table's row for ``ratio``."""
    row = next(line for line in "\n".join(lines).splitlines() if line.startswith(f"| {ratio} |"))
    return [cell.strip() for cell in row.strip("|").split("|")]


def test_the_grids_tables_leave_the_limit_study_out(tmp_path):
    grid_only, _ = collect(make_grid(tmp_path / "grid"))
    root = make_limit(make_grid(tmp_path / "results"))
    (root / "limit/fsdd/tfkaldi-cpu/lowrank/ratio=0.2/seed=0/checkpoint").mkdir(parents=True)
    (root / "limit/fsdd/tfkaldi-cpu/lowrank/ratio=0.2/seed=0/checkpoint/config.json").write_text("{}")
    table, incomplete = collect(root)
    assert len(table) == len(grid_only) > 0 and not table["run_dir"].str.startswith("limit").any()
    assert incomplete == []  # a killed limit run is the study's, not the grid's
    assert len(collect(root / "limit")[0]) == 1 + 2 * (2 + len(NETS))  # the study reads its own subtree


def test_the_limit_table_puts_fit_only_beside_trained_and_picks_the_hand_designed_net_on_dev(tmp_path):
    root = make_limit(make_grid(tmp_path / "results"))
    lines = limit_section(root, collect(root)[0])
    # the fitted runs ran 0 epochs, yet their table is their source's setting, the grid's
    assert "### tfkaldi-cpu on fsdd" in lines and not any("0epochs" in line for line in lines)
    assert (f"WER (lexicon); fit-only runs fitted to `results/{DENSE}` (WER (lexicon) 0.1); trained: the "
            "grid `tfkaldi-cpu on fsdd`.") in lines
    header = table_row(lines, "ratio")
    assert header == ["ratio", "deepthin: fit-only / trained", "lowrank: fit-only / trained",
                      "best hand-designed (layers x width)", "its dev loss", "its WER (lexicon)",
                      "hand-tuned (grid)"]
    for ratio in ("0.01", "0.1"):
        # the grid: deepthin 0.20 + 0.01 s, lowrank 0.40 + 0.01 s, handtuned 0.15 + 0.01 s over seeds 0-2
        assert table_row(lines, ratio) == [ratio, "0.9 / 0.21", "0.95 / 0.41", "2 x 30", "5", "0.25", "0.16"]


def test_the_limits_stand_beside_the_settings_fair_grid_where_it_ran(tmp_path):
    root = make_limit(make_grid(tmp_path / "results"))
    for seed in (0, 1, 2):
        for method, wer in (("deepthin", 0.05), ("lowrank", 0.5), ("handtuned", 0.3)):
            write_fair_run(root, method, 0.01, seed, wer)
    lines = limit_section(root, collect(root)[0])
    assert not any("-limit" in line for line in lines)  # the study's runs measure their setting's limits
    assert any(line.endswith("trained: the grid `tfkaldi-cpu-fair on fsdd`.") for line in lines)
    assert table_row(lines, "0.01") == ["0.01", "0.9 / 0.05", "0.95 / 0.5", "2 x 30", "5", "0.25", "0.3"]
    assert table_row(lines, "0.1")[1:3] == ["0.9 / -", "0.95 / -"]  # the fair grid did not run 0.1


def test_a_fit_only_run_of_a_source_outside_the_tree_is_named_not_shown(tmp_path):
    root = make_limit(make_grid(tmp_path / "results"), from_run="/elsewhere/fsdd/tfkaldi-cpu/dense/seed=0")
    lines = limit_section(root, collect(root)[0])
    assert table_row(lines, "0.01") == ["0.01", "2 x 30", "5", "0.25", "0.16"]  # the nets only
    assert any(line.startswith("Fit-only runs whose source run is not in this results tree") and
               "`limit/fsdd/tfkaldi-cpu-0epochs/deepthin+fit/ratio=0.01/seed=0`" in line for line in lines)


def test_the_report_holds_the_limit_section_only_when_the_study_ran(tmp_path):
    grid = make_grid(tmp_path / "grid")
    assert limit_section(grid, collect(grid)[0]) == []
    write_limit_run(grid, "dense", 1.0, 0.1, 1.0)  # the fits' source alone: nothing to show yet
    assert limit_section(grid, collect(grid)[0]) == []
    root = make_limit(make_grid(tmp_path / "results"))
    build(root, ["--results", str(root)])
    report = (root / "REPORT.md").read_text()
    assert "## Limit study: fit-only models and the best hand-designed net" in report
    assert "| 0.1 | 0.9 / 0.21 | 0.95 / 0.41 | 2 x 30 |" in report
