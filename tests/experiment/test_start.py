"""Runs that start from a finished dense run: bad input (deepthin.experiment.start)."""

import json

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from deepthin.experiment.run import check_overrides, quote_paths
from deepthin.experiment.start import check_start, load_source, variant_suffix

RECIPE = {"data": "synth", "model": "tfkaldi", "preset": "tiny"}


def test_a_source_of_another_recipe_is_one_line_exit_2_and_the_source_is_untouched(
        dense_run, deepthin_run, cache_dir, tiny, tmp_path, snapshot):
    before = snapshot(dense_run)
    proc = deepthin_run(["model=deepspeech", "method=lowrank", "init=fit", f"from_run={dense_run}",
                         f"hydra.run.dir={tmp_path / 'out'}", *tiny], cache_dir, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("deepthin-run: error: from_run=") and "is a run of synth/tfkaldi/tiny, not of " \
        "synth/deepspeech/tiny" in line, proc.stderr
    assert snapshot(dense_run) == before


def test_bad_init_and_allocate_are_refused_before_hydra_starts():
    # main() turns this ValueError into one line and exit status 2 (test_run.py, bad config)
    with pytest.raises(ValueError, match="^unknown init 'svd'; allowed: random, fit$"):
        check_overrides(["method=lowrank", "init=svd"])
    with pytest.raises(ValueError, match="^unknown allocate 'greedy'; allowed: uniform, sensitivity$"):
        check_overrides(["allocate=uniform,greedy"])


def test_a_run_directory_given_as_from_run_reaches_hydra_as_that_path():
    # every run directory holds "=" (ratio=1.0/seed=0), which Hydra's grammar refuses unquoted
    run_dir = "results/synth/tfkaldi-cpu/dense/ratio=1.0/seed=0"
    argv = quote_paths([f"from_run={run_dir}", "ratio=0.1,0.02", f"+sensitivity_table={run_dir}/s.csv",
                        "from_run='already=quoted'"])
    assert argv[1] == "ratio=0.1,0.02" and argv[3] == "from_run='already=quoted'"
    parsed = OverridesParser.create().parse_overrides(argv)
    assert [o.value() for o in parsed[:3:2]] == [run_dir, f"{run_dir}/s.csv"]
    assert parsed[3].value() == "already=quoted"


def test_missing_unfinished_and_compressed_sources_are_refused(dense_run, tmp_path):
    with pytest.raises(ValueError, match="is not a directory"):
        load_source(tmp_path / "nowhere", RECIPE)
    (tmp_path / "unfinished").mkdir()
    (tmp_path / "unfinished" / "results.json").write_text('{"complete": false}')
    with pytest.raises(ValueError, match="holds no finished run"):
        load_source(tmp_path / "unfinished", RECIPE)
    results = json.loads((dense_run / "results.json").read_text())
    cloned = tmp_path / "cloned"  # a clone: the record is committed, the model is not
    cloned.mkdir()
    (cloned / "results.json").write_text(json.dumps(results))
    with pytest.raises(ValueError, match="holds a finished run's record but not its model.keras"):
        load_source(cloned, RECIPE)
    compressed = tmp_path / "compressed"
    compressed.mkdir()
    (compressed / "results.json").write_text(json.dumps({**results, "method": "lowrank"}))
    (compressed / "model.keras").write_bytes((dense_run / "model.keras").read_bytes())
    with pytest.raises(ValueError, match="is a lowrank run; allowed: a dense run"):
        load_source(compressed, RECIPE)
    _, model = load_source(dense_run, RECIPE)
    assert model.get_layer("hidden_1").kernel.shape == (200, 32)


@pytest.mark.parametrize("options, message", [
    (("fit", None, "uniform", None), "init=fit with from_run=None"),
    (("random", "PATH", "uniform", None), "init=random with from_run=PATH"),
    (("fit", "PATH", "sensitivity", None), "allocate=sensitivity with sensitivity_table=None"),
    (("fit", "PATH", "greedy", None), "unknown allocate 'greedy'; allowed: uniform, sensitivity"),
])
def test_start_options_that_do_not_go_together(options, message):
    with pytest.raises(ValueError, match=message):
        check_start(*options)


def test_run_names_of_each_start():
    assert [variant_suffix(i, a) for i in ("random", "fit") for a in ("uniform", "sensitivity")] == [
        "", "+alloc", "+fit", "+fit+alloc"]
