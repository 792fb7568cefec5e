"""``deepthin-bench --quick``: the CSVs have their columns and every path matched dense (no timings)."""

import pandas as pd
import pytest

from deepthin import bench
from deepthin.bench_layers import PATHS
from deepthin.bench_models import MODEL_METHODS


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


def test_quick_train_bench_writes_a_row_per_method_and_the_figure(tmp_path, capsys):
    code = bench.main(["--train", "--quick", "--models", "tfkaldi", "--out", str(tmp_path)])
    assert code == 0
    train = pd.read_csv(tmp_path / "bench_train.csv")
    assert set(train.method) == {"dense"} | {label for label, _, _ in MODEL_METHODS}
    assert set(train.preset) == {"tiny"} and set(train.ratio) == {1.0, 0.05}
    dense = train[train.method == "dense"].iloc[0]
    assert dense.relative_to_dense == 1.0 and dense.cpu_relative_to_dense == 1.0
    assert (train.step_ms > 0).all() and (train.cpu_ms > 0).all() and (train.params > 0).all()
    assert (tmp_path / "bench_train.png").stat().st_size > 0
    assert "Train step CPU time relative to dense" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["--train", "--presets", "huge"], "unknown preset 'huge'; allowed: paper, cpu, tiny"),
    (["--train", "--models", "vgg"], "unknown model 'vgg'; allowed: tfkaldi, deepspeech"),
    (["--train", "--ratios", "0.01,two"], "--ratios '0.01,two' is not a comma-separated list of floats"),
    (["--shapes", "64by64"], "--shapes entry '64by64' is not a shape"),
    (["--shapes", "", "--preset", "huge"], "unknown preset 'huge'; allowed: paper, cpu, tiny"),
])
def test_bad_input_is_one_line_and_exit_status_2(args, message, tmp_path, capsys):
    assert bench.main([*args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_empty_shapes_and_models_skip_both_parts(tmp_path):
    assert bench.main(["--shapes", "", "--models", "", "--out", str(tmp_path)]) == 0
    assert not list(tmp_path.iterdir())
