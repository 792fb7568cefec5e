"""deepthin-eval: a finished run (tiny, trained on synth) evaluated on FSDD, written beside the run
without touching it; bad overrides end in one line."""

import csv
import json
import shutil

import jiwer
import pytest

from deepthin.data.fsdd import DIGITS
from deepthin.experiment.eval_run import main


@pytest.fixture(autouse=True)
def cache(cache_dir, monkeypatch):
    """The session's cache: the FSDD corpus and its features are built once for all these tests."""
    monkeypatch.setenv("DEEPTHIN_CACHE", str(cache_dir))
    monkeypatch.delenv("FSDD_ROOT", raising=False)
    monkeypatch.delenv("KALDI_DATA_ROOT", raising=False)


@pytest.fixture(scope="module")
def run_dir(dense_run, tmp_path_factory):
    """A copy of the session's finished dense run, so its evaluations stay out of the other tests' way."""
    copy = tmp_path_factory.mktemp("evaluated") / "run"
    shutil.copytree(dense_run, copy)
    return copy


def run_files(run_dir) -> dict:
    """Every file of the run itself (its evaluations aside), with its bytes."""
    return {p: p.read_bytes() for p in sorted(run_dir.rglob("*"))
            if p.is_file() and p.relative_to(run_dir).parts[0] != "eval"}


def evaluate(capsys, *args) -> str:
    assert main([str(a) for a in args]) == 0
    return capsys.readouterr().out


@pytest.mark.slow
def test_run_evaluated_on_another_data_set(run_dir, fsdd_sample, capsys):
    before = run_files(run_dir)
    out = evaluate(capsys, run_dir, "data=fsdd", f"data.root={fsdd_sample}")
    assert "(trained on synth) on fsdd test" in out and str(run_dir / "eval" / "fsdd") in out
    assert run_files(run_dir) == before  # results.json, model.keras and the rest untouched
    results = json.loads((run_dir / "eval" / "fsdd" / "results.json").read_text())
    recorded = json.loads((run_dir / "results.json").read_text())
    assert (results["trained_on"], results["data"], results["split"]) == ("synth", "fsdd", "test")
    assert results["config"]["data"]["_target_"] == "deepthin.data.fsdd.FSDDCorpus"
    assert results["config"]["data"]["root"] == str(fsdd_sample)
    assert results["config"]["model"] == recorded["config"]["model"]  # the run's model and features
    with (run_dir / "eval" / "fsdd" / "transcripts.tsv").open() as file:
        rows = list(csv.DictReader(file, delimiter="\t"))
    assert len(rows) == results["utterances"] > 0
    assert all(set(row["reference"].split()) <= set(DIGITS) for row in rows)
    refs = [row["reference"] for row in rows]
    metrics = results["metrics"]
    for name in ("greedy", "lexicon"):
        assert metrics[f"wer_{name}"] == pytest.approx(jiwer.wer(refs, [row[name] for row in rows]))
        assert metrics[f"cer_{name}"] == pytest.approx(jiwer.cer(refs, [row[name] for row in rows]))
    # the decoder chose from the evaluated corpus's words (FSDD's digits), as deepthin-run's does
    assert all(set(row["lexicon"].split()) <= set(DIGITS) for row in rows)
    assert metrics["test_loss"] > 0 and 0 <= metrics["blank_fraction"] <= 1


@pytest.mark.slow
def test_dev_split_and_name_pick_the_folder(run_dir, fsdd_sample, capsys):
    evaluate(capsys, run_dir, "data=fsdd", f"data.root={fsdd_sample}", "eval.split=dev")
    dev = json.loads((run_dir / "eval" / "fsdd-dev" / "results.json").read_text())
    assert dev["split"] == "dev" and dev["config"]["eval"]["split"] == "dev"
    fsdd = ["data=fsdd", f"data.root={fsdd_sample}"]
    evaluate(capsys, run_dir, *fsdd, "eval.beam_width=2", "--name", "narrow")
    narrow = json.loads((run_dir / "eval" / "narrow" / "results.json").read_text())
    assert narrow["config"]["eval"]["beam_width"] == 2 and narrow["overrides"][-1] == "eval.beam_width=2"


@pytest.mark.slow
def test_folder_of_another_evaluation_is_refused(refused, run_dir, fsdd_sample, capsys):
    fsdd = ["data=fsdd", f"data.root={fsdd_sample}"]
    evaluate(capsys, run_dir, *fsdd, "--name", "taken")
    written = (run_dir / "eval" / "taken" / "results.json").read_bytes()
    err = refused(main, run_dir, *fsdd, "data.seed=1", "--name", "taken")
    assert "another config (differs in: data.seed)" in err and "--name" in err
    assert (run_dir / "eval" / "taken" / "results.json").read_bytes() == written


@pytest.mark.parametrize("overrides, expected", [
    (["model.arch.hidden_units=8"], "a trained run's model.arch.hidden_units is fixed"),
    (["trainer.epochs=3"], "a trained run's trainer.epochs is fixed"),
    (["data=nope"], "unknown data 'nope'"),
    (["data=kaldi"], "Kaldi data root directory not set"),
    (["data=fsdd", "data.root=/no/such/folder", "--name", "nowhere"], "directory not found: /no/such/folder"),
    (["data.root=/tmp"], "Could not override 'data.root'"),  # the run's synth data has no root
    (["eval.split=train"], "unknown eval.split 'train'"),
    (["eval.nope=1"], "Could not override 'eval.nope'"),
])
@pytest.mark.slow
def test_bad_overrides_end_in_one_line(refused, run_dir, capsys, overrides, expected):
    before = run_files(run_dir)
    assert expected in refused(main, run_dir, *overrides)
    assert run_files(run_dir) == before


def test_not_a_finished_run_is_refused(refused, tmp_path, capsys):
    assert "no finished run" in refused(main, tmp_path, "data=fsdd")
