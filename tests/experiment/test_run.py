import json
import re
import signal
import time

import pytest

METHODS = ["dense", "deepthin", "lowrank", "hashednet", "pruning", "handtuned"]
METRICS = {"test_loss", "wer_greedy", "cer_greedy", "wer_lexicon", "cer_lexicon", "lexicon_decode_seconds",
           "latency_per_audio_second", "throughput_audio_seconds_per_second", "train_seconds", "train_steps",
           "dev_loss"}
#: A tqdm progress bar (corpus and feature building), e.g. "features synth:  38%|███▊  | 10/26 [00:27<00:25]".
TQDM_BAR = re.compile(r"\|[^|]*\| *\d+/\d+")
SIZE = {"stored_params", "target_params", "stored_vs_target", "achieved_ratio", "model_file_bytes",
        "stored_bytes", "target_bytes", "compressed_matrix_bytes", "stored_bytes_flat_int32",
        "stored_bytes_relative_int16", "model_ratio"}


@pytest.mark.slow
def test_tiny_preset_of_each_recipe_with_each_method_writes_results(cache_dir, tmp_path, deepthin_run, tiny):
    sweep = tmp_path / "sweep"
    proc = deepthin_run(
        ["-m", "model=tfkaldi,deepspeech", f"method={','.join(METHODS)}", "ratio=0.3",
         f"hydra.sweep.dir={sweep}", *tiny], cache_dir, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = sorted(sweep.rglob("results.json"))
    assert len(files) == 2 * len(METHODS), files
    for path in files:
        results = json.loads(path.read_text())
        assert results["complete"] is True
        assert METRICS <= set(results["metrics"]), path
        assert SIZE <= set(results["size"]), path
        assert results["metrics"]["train_steps"] > 0
        assert 0 <= results["metrics"]["cer_greedy"] and results["metrics"]["test_loss"] > 0
        assert results["config"]["ratio"] == 0.3 and results["seed"] == 0
        assert results["git_commit"] and results["packages"]["keras"].startswith("3.")
        assert "ratio=0.3" in results["overrides"] and f"method={results['method']}" in results["overrides"]
        assert (path.parent / "model.keras").stat().st_size == results["size"]["model_file_bytes"]
        assert results["size"]["target_bytes"] == 4 * results["size"]["target_params"], path
        if results["method"] not in ("dense", "handtuned"):  # fairness in bytes (handtuned: test_strategies)
            assert results["size"]["stored_vs_target"] == pytest.approx(1.0, abs=0.02), path
        if results["method"] == "pruning":  # the schedule in steps, under TFMOT's step convention
            details = results["method_details"]
            assert details["step_convention"] == "tfmot", path
            assert 0 <= details["begin_step"] < details["end_step"] <= results["metrics"]["train_steps"]
    # running the sweep again skips every completed run, and leaves its directory as it was
    dense_dir = sweep / "synth" / "tfkaldi-tiny" / "dense"
    before = {p: p.read_bytes() for p in dense_dir.rglob("*") if p.is_file()}
    again = deepthin_run(["-m", "model=tfkaldi", "method=dense", "ratio=0.3", f"hydra.sweep.dir={sweep}",
                          *tiny], cache_dir, timeout=300)
    assert again.returncode == 0 and "is complete; skipping" in again.stdout
    after = {p: p.read_bytes() for p in dense_dir.rglob("*") if p.is_file()}
    assert before and after == before, "a skipped run was rewritten"
    # ... but never skips (or resumes) a directory that holds a different experiment
    other = deepthin_run(["-m", "model=tfkaldi", "method=dense", "ratio=0.3", f"hydra.sweep.dir={sweep}",
                          *tiny, "trainer.learning_rate=0.002"], cache_dir, timeout=300)
    assert other.returncode == 2
    assert "holds a run with a different config (differs in: trainer.learning_rate)" in other.stderr


def _metrics(path):
    m = json.loads(path.read_text())["metrics"]
    keys = ("test_loss", "wer_greedy", "cer_greedy", "wer_lexicon", "dev_loss", "train_steps")
    return {k: m[k] for k in keys}


@pytest.mark.slow
def test_killed_run_resumes_and_matches_uninterrupted_run(cache_dir, tmp_path, deepthin_run, start_run, tiny):
    args = ["model=tfkaldi", "method=deepthin", "ratio=0.3", "trainer.epochs=5", "trainer.patience=10", *tiny]
    straight = deepthin_run([*args, f"hydra.run.dir={tmp_path / 'straight'}"], cache_dir, timeout=600)
    assert straight.returncode == 0, straight.stderr[-3000:]

    killed_dir = tmp_path / "killed"
    proc = start_run([*args, f"hydra.run.dir={killed_dir}"], cache_dir)
    state = killed_dir / "checkpoint" / "state.json"
    deadline = time.monotonic() + 300
    while not state.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    finished = json.loads(state.read_text())["epoch"]
    assert 1 <= finished < 5, "the kill must land after the first checkpoint and before the end"
    assert not (killed_dir / "results.json").exists()

    resumed = deepthin_run([*args, f"hydra.run.dir={killed_dir}"], cache_dir, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    resumed_metrics = _metrics(killed_dir / "results.json")
    straight_metrics = _metrics(tmp_path / "straight" / "results.json")
    # decoding and step counts identical; losses equal up to float32 summation order
    # (the resumed process traces fresh graphs, which may fuse ops differently)
    assert resumed_metrics == pytest.approx(straight_metrics, rel=1e-5)
    for key in ("wer_greedy", "cer_greedy", "wer_lexicon", "train_steps"):
        assert resumed_metrics[key] == straight_metrics[key]


@pytest.mark.parametrize(
    "override, message",
    [
        ("method=svd",
         "unknown method 'svd'; allowed: deepthin, deepthin_aligned, dense, handtuned, handtuned_depth, "
         "hashednet, lowrank, pruning"),
        ("model=resnet", "unknown model 'resnet'; allowed: deepspeech, tfkaldi"),
        ("data=timit", "unknown data 'timit'; allowed:"),
        ("preset=huge", "unknown preset 'huge'; allowed: cpu, paper, tiny"),
        ("ratio=0", "ratio=0.0 is outside (0, 1]; allowed: a number in (0, 1]"),
        ("ratio=1.5", "ratio=1.5 is outside (0, 1]"),
        ("ratio=abc", "ratio='abc' is not a number"),
    ],
)
def test_bad_config_is_one_line_and_exit_status_2(override, message, tmp_path, deepthin_run):
    proc = deepthin_run([override, f"hydra.run.dir={tmp_path}"], tmp_path, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("deepthin-run: error: ") and message in lines[-1], proc.stderr
    assert "Traceback" not in proc.stderr


def test_nan_loss_stops_the_run_with_one_line_and_keeps_the_last_good_checkpoint(
        cache_dir, tmp_path, deepthin_run, tiny):
    run_dir = tmp_path / "nan"
    args = ["model=tfkaldi", "method=dense", "trainer.epochs=2", f"hydra.run.dir={run_dir}", *tiny]
    proc = deepthin_run([*args, "trainer.learning_rate=nan"], cache_dir, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("deepthin-run: error: training diverged: loss nan at epoch 1, step 2"), last
    assert "Traceback" not in proc.stderr
    assert not (run_dir / "results.json").exists()  # nothing is reported as a finished run
    assert not (run_dir / "checkpoint" / "last.keras").exists()  # no epoch finished: no checkpoint


@pytest.mark.parametrize("data, variable, label", [
    ("fsdd", "FSDD_ROOT", "FSDD recordings"),
    ("kaldi", "KALDI_DATA_ROOT", "Kaldi data root"),
    ("librispeech", "LIBRISPEECH_ROOT", "LibriSpeech root"),
])
def test_data_without_root_is_one_line_exit_2_and_leaves_no_config(data, variable, label, tmp_path,
                                                                      deepthin_run):
    proc = deepthin_run([f"data={data}", f"hydra.run.dir={tmp_path}"], tmp_path, unset=(variable,),
                        timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"deepthin-run: error: {label} directory not set: give data.root=PATH or set "
                           f"{variable}")
    assert not (tmp_path / "checkpoint").exists()


@pytest.mark.slow
def test_corrected_command_runs_where_a_run_stopped_on_bad_input(tmp_path, deepthin_run, fsdd_sample):
    run_dir = tmp_path / "run"
    args = ["data=fsdd", "preset=tiny", "eval.latency_repeats=2", "eval.beam_width=4",
            "trainer.progress=false", f"hydra.run.dir={run_dir}"]
    wrong = deepthin_run([*args, f"data.root={tmp_path / 'nowhere'}"], tmp_path, timeout=120)
    assert wrong.returncode == 2 and "FSDD recordings directory not found" in wrong.stderr
    corrected = deepthin_run([*args, f"data.root={fsdd_sample}"], tmp_path, timeout=600)
    assert corrected.returncode == 0, corrected.stderr[-3000:]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["complete"] and results["config"]["data"]["root"] == str(fsdd_sample)


def test_run_prints_only_progress_epoch_lines_and_summary(cache_dir, tmp_path, deepthin_run, tiny):
    """As a user sees it (no TF_CPP_MIN_LOG_LEVEL): nothing on stderr, e.g. no MLIR lines from evaluations."""
    proc = deepthin_run([*tiny, "ratio=0.3", "trainer.progress=true", f"hydra.run.dir={tmp_path}"], cache_dir,
                        unset=("TF_CPP_MIN_LOG_LEVEL",), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [line for line in re.split(r"[\r\n]+", proc.stderr) if line and not TQDM_BAR.search(line)] == []
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    epochs = [line for line in lines if re.match(r"epoch \d+/2: ", line)]
    bars = [line for line in lines if "━" in line]  # Keras' progress bar
    assert len(epochs) == 2 and lines[-1].startswith("tfkaldi/deepthin ratio=0.3: WER ")
    assert len(lines) == len(epochs) + len(bars) + 1, lines


def test_summary_line_says_when_a_run_did_not_train():
    from deepthin.experiment.run import summary_line

    metrics = {"wer_lexicon": 1.0, "wer_greedy": 1.0, "cer_lexicon": 1.0, "cer_greedy": 1.0,
               "test_loss": 120.0, "train_seconds": 10.0, "blank_fraction": 0.9}
    results = {"model": "tfkaldi", "method": "dense", "ratio": 1.0, "metrics": metrics,
               "size": {"stored_params": 5, "stored_vs_target": 1.0}, "trained": False}
    assert summary_line(results).endswith("; NOT TRAINED: greedy output blank on 90% of test utterances")
    assert "NOT TRAINED" not in summary_line({**results, "trained": True})
    assert "stored 5 params (1.000 of target)" in summary_line(results)  # a run from before bytes
    in_bytes = {**results, "size": {"stored_params": 5, "stored_bytes": 20, "stored_vs_target": 0.99}}
    assert "stored 20 bytes (0.990 of target)" in summary_line(in_bytes)
