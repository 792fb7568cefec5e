"""``deepthin-bench --quick``: the CSVs have their columns and every path matched dense (no timings)."""

import math
import os
import subprocess
import sys

import pandas as pd
import pytest

from deepthin import bench
from deepthin.bench_layers import PATHS
from deepthin.bench_models import MODEL_METHODS, model_inputs, variants
from deepthin.bench_train import memory_table, train_table


@pytest.mark.slow
def test_quick_bench_writes_results(tmp_path, capsys):
    code = bench.main(["--quick", "--models", "tfkaldi", "--repeats", "3", "--out", str(tmp_path)])
    assert code == 0
    layers = pd.read_csv(tmp_path / "bench.csv")
    expected = {"m", "n", "ratio", "batch", "path", "dense_us", "path_us", "speedup", "dense_call_us",
                "path_call_us", "speedup_call", "matches_dense", "intra_op_threads", "cpus"}
    assert expected <= set(layers.columns)
    assert set(layers.path) == {label for label, _, _ in PATHS}
    assert layers.matches_dense.all()
    assert (layers.speedup > 0).all()
    assert (tmp_path / "bench_speedup.png").stat().st_size > 0
    models = pd.read_csv(tmp_path / "bench_models.csv")
    assert set(models.method) == {"dense"} | {label for label, _, _ in MODEL_METHODS}
    assert {"latency_ms", "speedup", "litert_ms", "litert_speedup", "keras_over_litert", "tflite_bytes",
            "stored_params"} <= set(models.columns)
    one = models[models.batch == 1]
    assert one.litert_ms.gt(0).all() and models[models.batch > 1].litert_ms.isna().all()
    dense_size = one.set_index("method").tflite_bytes["dense"]
    assert one.set_index("method").tflite_bytes["deepthin-aligned"] < dense_size
    assert not (tmp_path / "bench_train.csv").exists()  # --train's
    assert "Layer speedup over dense matmul" in capsys.readouterr().out


@pytest.mark.slow
def test_quick_train_bench_writes_a_row_per_method_the_figure_and_the_memory(tmp_path):
    # The command as a user runs it, in a process of its own: TensorFlow loads after deepthin-bench chose
    # the allocator whose statistics give the memory column (unset here, so the tool must set it itself).
    env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
    command = [sys.executable, "-m", "deepthin.bench", "--train", "--quick", "--models", "tfkaldi",
               "--out", str(tmp_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    train = pd.read_csv(tmp_path / "bench_train.csv")
    assert set(train.method) == {"dense"} | {label for label, _, _ in MODEL_METHODS}
    assert set(train.preset) == {"tiny"} and set(train.ratio) == {1.0, 0.05}
    dense = train[train.method == "dense"].iloc[0]
    assert dense.relative_to_dense == 1.0 and dense.cpu_relative_to_dense == 1.0
    assert (train.step_ms > 0).all() and (train.cpu_ms > 0).all() and (train.params > 0).all()
    assert (train.peak_mib > 0).all()
    assert (tmp_path / "bench_train.png").stat().st_size > 0
    assert "Train step CPU time relative to dense" in done.stdout


def test_train_tables_leave_memory_empty_without_allocator_statistics():
    # What a run gets when TensorFlow was loaded before deepthin-bench could choose its allocator: NaN MiB,
    # printed as empty cells (it used to stop the run: "cannot convert float NaN to integer").
    rows = (("dense", 1.0, 1.0), ("lowrank", 0.05, 0.5), ("pruning", 0.05, 1.25))
    frame = pd.DataFrame([{"model": "tfkaldi", "preset": "tiny", "method": method, "ratio": ratio,
                           "step_ms": 2.4, "cpu_ms": 3.6, "relative_to_dense": rel,
                           "cpu_relative_to_dense": rel, "peak_mib": math.nan}
                          for method, ratio, rel in rows])
    steps = train_table(frame).splitlines()
    assert steps[0].split() == ["method", "dense_step_ms", "dense_cpu_ms", "dense_peak_mib", "lowrank",
                                "pruning"]
    assert steps[-1].split() == ["tfkaldi", "tiny", "0.05", "2", "4", "0.50", "1.25"]
    memory = memory_table(frame).splitlines()
    assert memory[0].split() == ["method", "dense", "lowrank", "pruning"]
    assert [line.split() for line in memory[2:]] == [["tfkaldi", "tiny", "1.00"], ["0.05"]]


@pytest.mark.parametrize("args,message", [
    (["--train", "--presets", "huge"], "unknown preset 'huge'; allowed: paper, cpu, tiny"),
    (["--train", "--models", "vgg"], "unknown model 'vgg'; allowed: tfkaldi, deepspeech"),
    (["--train", "--ratios", "0.01,two"], "--ratios '0.01,two' is not a comma-separated list of floats"),
    (["--shapes", "64by64"], "--shapes entry '64by64' is not a shape"),
    (["--train", "--valid-fraction", "0"], "--valid-fraction 0 is out of range; allowed: 0 < fraction <= 1"),
    (["--train", "--arch", "frame_packing"], "--arch 'frame_packing' is not a list of key=value"),
    (["--train", "--quick", "--models", "deepspeech", "--arch", "frame_packing=false"],
     "architecture settings {'frame_packing': False} do not fit recipe deepspeech"),
    (["--shapes", "", "--preset", "huge"], "unknown preset 'huge'; allowed: paper, cpu, tiny"),
])
def test_bad_input_is_one_line_and_exit_status_2(args, message, tmp_path, capsys):
    assert bench.main([*args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_arch_settings_reach_the_built_models_and_valid_fraction_pads_the_inputs():
    packed = next(variants("tfkaldi", "tiny", []))[2]
    masked = next(variants("tfkaldi", "tiny", [], arch={"frame_packing": False}))[2]
    assert "pack_frames" in {layer.name for layer in packed.layers}
    assert "pack_frames" not in {layer.name for layer in masked.layers}
    lengths = model_inputs(packed, batch=3, frames=10, valid=0.5)["feature_lengths"]
    assert list(lengths.numpy()) == [5, 5, 5]


def test_empty_shapes_and_models_skip_both_parts(tmp_path):
    assert bench.main(["--shapes", "", "--models", "", "--out", str(tmp_path)]) == 0
    assert not list(tmp_path.iterdir())
