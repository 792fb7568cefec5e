"""REPORT.md from a hand-made grid: known entries, untrained and missing runs said plainly."""

import json

import pandas as pd

from deepthin.conf_dir import DIVERGED_RECORD
from deepthin.report.cli import build
from deepthin.report.collect import collect
from deepthin.report.robust import OUTLIER, flag_outliers
from deepthin.report.tables import flagged_section

from .conftest import RATIOS, SEEDS, write_run


def report_of(root) -> str:
    build(root, ["--results", str(root)])
    return (root / "REPORT.md").read_text()


def test_improvement_table_gives_ours_the_spread_the_test_and_the_paper(built_grid):
    text = (built_grid / "REPORT.md").read_text()
    row = next(line for line in text.splitlines() if "| rank factorization |" in line)
    assert "| +48.8% |" in row and "+48.8% +- 1.2%" in row and "held (p=" in row and "n=18)" in row
    assert row.endswith("| +60% |")
    hashed = next(line for line in text.splitlines() if "| HashedNets |" in line)
    assert "not separable" in hashed and "| 0.005 0.01 0.02 0.05 0.1 |" in hashed


def test_orderings_are_held_reversed_or_not_separable_with_evidence(built_grid):
    text = (built_grid / "REPORT.md").read_text()
    assert "DeepThin better than rank factorization: **held** (+48.8% over ratios" in text
    assert "DeepThin better than hand-tuned: **reversed**" in text
    assert "DeepThin better than HashedNets: **not separable**" in text
    assert "margin over rank factorization larger than over magnitude pruning: **held**" in text
    assert "margin over hand-tuned larger than over HashedNets: **reversed**" in text


def test_the_aligned_variant_is_compared_with_the_paper_policy(grid):
    for seed in (0, 1, 2):
        for ratio in (0.01, 0.1):
            write_run(grid, "deepthin-aligned", ratio, seed, 0.30 + 0.01 * seed)
    text = report_of(grid)
    assert "DeepThin (paper policy) better than DeepThin, aligned policy: **held**" in text
    assert "| DeepThin, aligned policy | 0.01 0.1 | 3 |" in text


def test_untrained_and_incomplete_runs_are_named_and_kept_out_of_every_mean(grid):
    plateau = write_run(grid, "lowrank", 0.1, 2, 1.0, trained=False)
    write_run(grid, "pruning", 0.2, 3, 0.5, complete=False)
    diverged = grid / "fsdd/tfkaldi-cpu/pruning/ratio=0.1/seed=4"
    diverged.mkdir(parents=True)
    (diverged / DIVERGED_RECORD).write_text("{}")  # all a diverged run keeps in git: no checkpoint
    text = report_of(grid)
    assert "1 run(s) finished without training" in text
    assert "`fsdd/tfkaldi-cpu/lowrank/ratio=0.1/seed=2`" in text
    runs = pd.read_csv(grid / "runs.csv")
    assert len(runs) == 3 + 3 * 6 * 4 + 3 * 5 and runs["trained"].eq(False).sum() == 1
    assert "| lowrank | 0.1 | 2 | 0.405 |" in text                  # seeds 0 and 1 only: (0.40 + 0.41) / 2
    assert "no counted run of seed 2: lowrank 0.1." in text
    assert json.loads(plateau.read_text())["trained"] is False         # the report never writes into runs
    assert ("2 run directories are incomplete (killed, in flight, or diverged): "
            "`fsdd/tfkaldi-cpu/pruning/ratio=0.1/seed=4 (diverged)`, "
            "`fsdd/tfkaldi-cpu/pruning/ratio=0.2/seed=3`") in text
    assert 3 not in set(runs["seed"])


def test_a_setting_cut_to_one_seed_reads_as_one_line_per_seed_gap(grid):
    """DeepSpeech's shape: seed 0 everywhere, seeds 1-2 only where the recipe check ran them."""
    for seed in SEEDS:
        write_run(grid, "dense", 1.0, seed, 0.1, model="deepspeech")
    for ratio in RATIOS:
        for method in ("deepthin", "lowrank"):
            for seed in (SEEDS if (method, ratio) == ("deepthin", 0.1) else (0,)):
                write_run(grid, method, ratio, seed, 0.2, model="deepspeech")
    cuts = next(line for line in report_of(grid).splitlines()
                if line.startswith("- **deepspeech-cpu") and "Cut:" in line)
    assert cuts.endswith("no counted run of seeds 1, 2: deepthin 0.005 0.01 0.02 0.05 0.2; "
                         "lowrank at every ratio.")


def test_runs_started_from_a_trained_model_are_named_and_kept_out_of_the_grid(grid):
    report_of(grid)
    before = pd.read_csv(grid / "relative_improvement.csv")
    fitted = write_run(grid, "deepthin+fit", 0.1, 0, 0.01)  # far better than anything in the grid
    record = json.loads(fitted.read_text())
    fitted.write_text(json.dumps({**record, "init": "fit", "from_run": "fsdd/dense/ratio=1.0/seed=0"}))
    text = report_of(grid)
    assert "1 run(s) started from a trained model" in text
    assert "`fsdd/tfkaldi-cpu/deepthin+fit/ratio=0.1/seed=0`" in text
    assert "| deepthin+fit |" not in text                                # not in the per-setting means
    assert pd.read_csv(grid / "relative_improvement.csv").equals(before)  # nor in any comparison
    runs = pd.read_csv(grid / "runs.csv")
    assert runs.loc[runs["method"] == "deepthin+fit", "from_scratch"].tolist() == [False]


def test_missing_ratios_are_reported_per_setting_and_per_method(built_grid):
    text = (built_grid / "REPORT.md").read_text()
    assert "hashednet lacks ratio(s) 0.2" in text
    assert "methods not run: deepthin-aligned" in text


def test_figures_are_written_and_embedded(built_grid):
    text = (built_grid / "REPORT.md").read_text()
    for name in ("metric_vs_ratio", "pareto", "latency_vs_ratio"):
        path = built_grid / "figures" / f"fsdd_tfkaldi-cpu_{name}.png"
        assert path.stat().st_size > 10_000 and f"(figures/fsdd_tfkaldi-cpu_{name}.png)" in text


def test_another_schedule_is_its_own_setting_never_averaged_in(grid):
    report_of(grid)
    before = pd.read_csv(grid / "relative_improvement.csv")
    for seed in SEEDS:  # the same grid trained for 12 epochs: DeepThin now behind rank factorization
        write_run(grid, "dense", 1.0, seed, 0.05, epochs=12)
        for ratio in RATIOS:
            write_run(grid, "deepthin", ratio, seed, 0.30 + 0.01 * seed, epochs=12)
            write_run(grid, "lowrank", ratio, seed, 0.20 + 0.01 * seed, epochs=12)
    text = report_of(grid)
    assert "- **tfkaldi-cpu-12epochs on fsdd**, WER (lexicon):" in text
    assert "DeepThin better than rank factorization: **reversed**" in text
    after = pd.read_csv(grid / "relative_improvement.csv")
    eight = after[after["schedule"].isna()].reset_index(drop=True)
    pd.testing.assert_frame_equal(eight, before, check_dtype=False)  # the 8-epoch comparisons: unchanged
    assert set(after["schedule"].dropna()) == {"-12epochs"}


def test_a_stuck_run_is_flagged_listed_and_every_mean_shown_without_it(grid):
    write_run(grid, "deepthin", 0.01, 2, 0.9)                        # seed 2 stuck on the plateau
    text = report_of(grid)
    flagged = text[text.index("## Flagged runs"):text.index("## Commands")]
    assert "1 run(s) flagged:" in flagged and "`fsdd/tfkaldi-cpu/deepthin/ratio=0.01/seed=2`" in flagged
    assert "| 0.9 | 0.2, 0.21 |" in flagged                           # its WER beside its other seeds'
    pruning = next(line for line in text.splitlines() if line.startswith("| tfkaldi-cpu on fsdd |")
                   and "| magnitude pruning |" in line)
    assert "(1 of 18 pairs out)" in pruning
    assert "| deepthin | 0.01 | 3 | 0.4367 |" in text and text.count("| 1 | 0.205 |") == 1  # results table
    runs = pd.read_csv(grid / "runs.csv")
    assert runs["dev_loss_outlier"].sum() == 1
    summary = pd.read_csv(grid / "relative_improvement.csv")
    assert list(summary.columns[-4:]) == ["median_improvement", "geomean_improvement",
                                          "relative_improvement_unflagged", "flagged_pairs"]
    assert summary.set_index("baseline").at["pruning", "flagged_pairs"] == 1


def test_no_flag_and_no_size_fields_are_said_plainly(built_grid):
    text = (built_grid / "REPORT.md").read_text()
    assert "No run is flagged." in text
    assert "Stored bytes and model ratio: not recorded by these runs (columns left out)." in text
    assert "| stored bytes |" not in text and "without flagged |" in text  # the headline keeps its column
    assert (built_grid / "absolute_difference_by_ratio.csv").exists()


def test_stored_bytes_and_model_ratio_are_shown_where_runs_record_them(grid):
    for seed in SEEDS:
        write_run(grid, "deepthin", 0.1, seed, 0.2, size={"stored_bytes": 4000 + seed, "model_ratio": 0.1})
    text = report_of(grid)
    assert "| stored bytes | model ratio |" in text
    assert "| 4001 | 0.1 |" in text                                    # seed means
    assert "Stored bytes and model ratio: empty where the runs predate them." in text


def test_runs_without_a_dev_loss_are_said_to_be_unflaggable(grid):
    table, _ = collect(grid)
    table[OUTLIER] = flag_outliers(table)
    assert "No run is flagged." in flagged_section(table)
    assert "Dev loss not recorded by these runs: nothing could be flagged." in flagged_section(
        table.drop(columns=["dev_loss", OUTLIER]))
