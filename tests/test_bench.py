"""``deepthin-bench --quick``: the CSVs have their columns and every path matched dense (no timings)."""

import pandas as pd

from deepthin import bench, bench_models


def test_quick_bench_writes_results(tmp_path, capsys):
    code = bench.main(["--quick", "--models", "tfkaldi", "--repeats", "3", "--out", str(tmp_path)])
    assert code == 0
    layers = pd.read_csv(tmp_path / "bench.csv")
    expected = {"m", "n", "ratio", "batch", "path", "dense_us", "path_us", "speedup", "dense_call_us",
                "path_call_us", "speedup_call", "matches_dense", "intra_op_threads", "cpus"}
    assert expected <= set(layers.columns)
    assert set(layers.path) == {label for label, _, _ in bench.PATHS}
    assert layers.matches_dense.all()
    assert (layers.speedup > 0).all()
    assert (tmp_path / "bench_speedup.png").stat().st_size > 0
    models = pd.read_csv(tmp_path / "bench_models.csv")
    train = pd.read_csv(tmp_path / "bench_train.csv")
    methods = {"dense"} | {label for label, _, _ in bench_models.MODEL_METHODS}
    assert set(models.method) == methods and set(train.method) == methods
    assert {"latency_ms", "speedup", "litert_ms", "litert_speedup", "keras_over_litert", "tflite_bytes",
            "stored_params"} <= set(models.columns)
    one = models[models.batch == 1]
    assert one.litert_ms.gt(0).all() and models[models.batch > 1].litert_ms.isna().all()
    dense_size = one.set_index("method").tflite_bytes["dense"]
    assert one.set_index("method").tflite_bytes["deepthin-aligned"] < dense_size
    assert {"step_ms", "relative_to_dense"} <= set(train.columns)
    assert "Layer speedup over dense matmul" in capsys.readouterr().out
