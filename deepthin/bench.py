"""``deepthin-bench``: measured inference speedup of each method over the dense layer.

Two measurements, all in one process so dense and compressed share the
machine's state (threads, caches, clock):

1. **Layers** (``bench.csv``): for each layer shape, ratio and batch, the
   median latency of ``x @ W`` through each method's inference path (the one
   :func:`deepthin.for_inference` switches to) against TensorFlow's dense
   matmul of an uncompressed kernel of the same shape. Every callable is a
   ``tf.function`` traced and warmed up before timing. Two timings:
   ``call_us`` is one Python call of the compiled function per product, so
   it includes TensorFlow's fixed per-call cost (about 150-200 us here,
   measured as the latency of a 64x128 matmul), which caps any speedup;
   ``graph_us`` (the headline ``speedup``) is the cost of one product inside
   a compiled graph, as a layer runs inside a model or an LSTM step: ``K``
   products chained in one function (each next input depends on the last
   output through a ``(B, 1)`` column, so nothing is merged or reordered),
   divided by ``K``. Each path's output is checked against ``x @ kernel()``
   (column ``matches_dense``).
2. **Models** (``bench_models.csv``, ``bench_train.csv``): whole recipes through
   Keras and LiteRT, their ``.tflite`` sizes and train steps
   (:mod:`deepthin.bench_models`).

TensorFlow's thread settings are left at their defaults (0 = chosen by
TensorFlow) and recorded in every CSV with the CPU count.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402

from deepthin.bench_models import bench_inference, bench_train  # noqa: E402
from deepthin.methods.registry import make_method  # noqa: E402
from deepthin.timing import median_latency, thread_settings  # noqa: E402

SHAPES = ((440, 2048), (2048, 2048), (4096, 4096), (2048, 8192))
RATIOS = (0.005, 0.01, 0.05, 0.2)
BATCHES = (1, 16, 128)
#: (label, method, options): every inference path that the bench times.
PATHS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("deepthin-aligned", "deepthin", {"policy": "aligned", "inference_path": "factored"}),
    ("deepthin-paper", "deepthin", {"policy": "paper", "inference_path": "materialize"}),
    ("deepthin-paper-blocked", "deepthin", {"policy": "paper", "inference_path": "blocked"}),
    ("lowrank", "lowrank", {}),
    ("hashednet", "hashednet", {}),
    ("pruning-sparse", "pruning", {"inference_path": "sparse"}),
    ("pruning-masked", "pruning", {"inference_path": "masked"}),
)
#: Speedup targets of issue 6: (m, n) at ratio 0.01, batch 1.
TARGETS = {(2048, 2048): 5.0, (4096, 4096): 15.0}


def chained(fn: Callable[[Any], Any], k: int) -> Callable[[Any], Any]:
    """A compiled function applying ``fn`` ``k`` times in a dependent chain (see module doc)."""

    @tf.function
    def run(x: Any) -> Any:
        y = fn(x)
        for _ in range(k - 1):
            x = x + 1e-30 * y[:, :1]  # data dependency: the next product waits for this one
            y = fn(x)
        return y

    return run


def graph_latency(fn: Callable[[Any], Any], x: Any, call_s: float, repeats: int) -> float:
    """Seconds per product inside a graph: ``K`` chained products (about 5 ms of work) over ``K``."""
    k = int(min(20, max(1, round(5e-3 / call_s))))
    run = chained(fn, k)
    return median_latency(lambda: run(x), max(5, repeats // 2)) / k


def _pruned_method(shape: tuple[int, int], ratio: float, options: dict[str, Any]) -> Any:
    """A pruning matrix with its final mask."""
    holder = keras.layers.Layer()
    method = make_method("pruning", shape, ratio, **options)
    method.build(holder, "kernel", seed=0)
    method.apply_final_mask()
    return method


def _method(method: str, shape: tuple[int, int], ratio: float, options: dict[str, Any]) -> Any:
    if method == "pruning":
        return _pruned_method(shape, ratio, options)
    holder = keras.layers.Layer()
    matrix = make_method(method, shape, ratio, **options)
    matrix.build(holder, "kernel", seed=0)
    return matrix


def bench_layers(
    shapes: Sequence[tuple[int, int]],
    ratios: Sequence[float],
    batches: Sequence[int],
    repeats: int,
    paths: Sequence[tuple[str, str, dict[str, Any]]] = PATHS,
    log: Callable[[str], None] = print,
) -> pd.DataFrame:
    """One row per (shape, ratio, batch, path): median latencies, speedup, correctness."""
    rows = []
    rng = np.random.default_rng(0)
    for m, n in shapes:
        dense_w = tf.Variable(rng.normal(0, (2.0 / (m + n)) ** 0.5, (m, n)).astype("float32"))
        dense_mm = lambda x, w=dense_w: tf.matmul(x, w)  # noqa: E731
        dense_fn = tf.function(dense_mm)
        inputs = {b: tf.constant(rng.normal(size=(b, m)).astype("float32")) for b in batches}
        dense_call = {
            b: median_latency(lambda x=inputs[b], f=dense_fn: f(x), repeats) for b in batches
        }
        dense_s = {b: graph_latency(dense_mm, inputs[b], dense_call[b], repeats) for b in batches}
        for ratio in ratios:
            for label, method, options in paths:
                matrix = _method(method, (m, n), ratio, options)
                kernel = matrix.kernel(False)
                matrix.refresh_inference()
                path_fn = matrix.inference_fn()
                fn = tf.function(path_fn)
                for b in batches:
                    x = inputs[b]
                    expected = tf.matmul(x, kernel).numpy()
                    got = fn(x).numpy()
                    scale = float(np.abs(expected).max()) or 1.0
                    ok = bool(np.allclose(got, expected, rtol=1e-3, atol=1e-4 * scale))
                    call_s = median_latency(lambda fn=fn, x=x: fn(x), repeats)
                    seconds = graph_latency(path_fn, x, call_s, repeats)
                    rows.append({
                        "m": m, "n": n, "ratio": ratio, "batch": b, "path": label,
                        "stored_params": matrix.stored_params(),
                        "dense_us": dense_s[b] * 1e6, "path_us": seconds * 1e6,
                        "speedup": dense_s[b] / seconds,
                        "dense_call_us": dense_call[b] * 1e6, "path_call_us": call_s * 1e6,
                        "speedup_call": dense_call[b] / call_s, "matches_dense": ok,
                    })
                    log(f"{m}x{n} ratio={ratio} batch={b} {label}: {seconds * 1e6:.0f} us "
                        f"(dense {dense_s[b] * 1e6:.0f} us) {dense_s[b] / seconds:.2f}x"
                        f"{'' if ok else ' MISMATCH'}")
                del matrix, kernel, fn, path_fn
    frame = pd.DataFrame(rows)
    for key, value in thread_settings().items():
        frame[key] = value
    return frame


def speedup_table(frame: pd.DataFrame, batch: int, per_call: bool = False) -> str:
    """Speedup over dense at ``batch``: one row per (shape, ratio), one column per path."""
    sub = frame[frame["batch"] == batch].copy()
    sub["shape"] = sub["m"].astype(str) + "x" + sub["n"].astype(str)
    value, dense_col = ("speedup_call", "dense_call_us") if per_call else ("speedup", "dense_us")
    table = sub.pivot_table(index=["shape", "ratio"], columns="path", values=value, sort=False)
    table = table[[p for p, _, _ in PATHS if p in table.columns]]
    dense = sub.groupby(["shape", "ratio"], sort=False)[dense_col].first()
    table.insert(0, "dense_us", dense.round(0).astype(int))
    return table.to_string(float_format=lambda v: f"{v:.2f}")


def target_lines(frame: pd.DataFrame) -> list[str]:
    """Issue 6's targets (ratio 0.01, batch 1) against the best path of each method."""
    lines = []
    for (m, n), goal in TARGETS.items():
        sub = frame[(frame.m == m) & (frame.n == n) & (frame.batch == 1) & np.isclose(frame.ratio, 0.01)]
        for _, row in sub.iterrows():
            status = "meets" if row.speedup >= goal else "misses"
            lines.append(f"{m}x{n} ratio 0.01 batch 1 {row.path}: {row.speedup:.2f}x in-graph, {status} "
                         f"{goal:g}x ({row.speedup_call:.2f}x per Python call)")
    return lines


def plot_speedup(frame: pd.DataFrame, path: Path) -> None:
    """Speedup against ratio (log x), one panel per (batch, shape), one line per path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shapes = list(dict.fromkeys(zip(frame.m, frame.n, strict=True)))
    batches = sorted(frame.batch.unique())
    fig, axes = plt.subplots(len(batches), len(shapes), figsize=(4 * len(shapes), 3.2 * len(batches)),
                             squeeze=False, sharex=True)
    for i, b in enumerate(batches):
        for j, (m, n) in enumerate(shapes):
            ax = axes[i][j]
            sub = frame[(frame.m == m) & (frame.n == n) & (frame.batch == b)]
            for label, group in sub.groupby("path", sort=False):
                ax.plot(group.ratio, group.speedup, marker="o", label=label)
            ax.axhline(1.0, color="gray", lw=0.8, ls="--")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{m}x{n}, batch {b}", fontsize=9)
            if i == len(batches) - 1:
                ax.set_xlabel("ratio")
            if j == 0:
                ax.set_ylabel("speedup over dense")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _shape(text: str) -> tuple[int, int]:
    m, n = text.lower().split("x")
    return int(m), int(n)


def _table(frame: pd.DataFrame, index: list[str], values: str) -> str:
    return frame.pivot_table(index=index, columns="method", values=values, sort=False).to_string(
        float_format=lambda v: f"{v:.2f}")


def _run_layers(args: argparse.Namespace, batches: list[int], out: Path, log: Callable[[str], None]) -> int:
    """The layer benchmark, its CSV, figure and tables; returns how many paths mismatched dense."""
    shapes = [_shape(s) for s in args.shapes.split(",") if s]
    ratios = [float(r) for r in args.ratios.split(",") if r]
    layers = bench_layers(shapes, ratios, batches, args.repeats, log=log)
    layers.to_csv(out / "bench.csv", index=False)
    plot_speedup(layers, out / "bench_speedup.png")
    for b in batches:
        print(f"\nLayer speedup over dense matmul, in-graph (median time per product), batch {b}:")
        print(speedup_table(layers, b))
    print(f"\nLayer speedup per Python call of the compiled function, batch {batches[0]}:")
    print(speedup_table(layers, batches[0], per_call=True))
    targets = target_lines(layers)
    if targets:
        print("\nTargets (issue 6):")
        print("\n".join(targets))
    mismatches = int((~layers["matches_dense"]).sum())
    print(f"\n{len(layers)} layer measurements, {mismatches} mismatching dense; "
          f"wrote {out}/bench.csv, {out}/bench_speedup.png")
    return mismatches


def _run_models(args: argparse.Namespace, batches: list[int], out: Path, log: Callable[[str], None]) -> None:
    """Whole recipes: ``bench_models.csv`` (Keras, LiteRT, .tflite sizes) and ``bench_train.csv``."""
    recipes = [r for r in args.models.split(",") if r]
    presets = [p for p in args.preset.split(",") if p]
    with_threads = lambda frame: frame.assign(**thread_settings())  # noqa: E731
    infer = with_threads(bench_inference(recipes, presets, args.model_ratio, batches[:2], args.frames,
                                         args.repeats, log=log))
    train = with_threads(bench_train(recipes, presets[0], args.model_ratio, max(batches[:2]), args.frames,
                                     args.repeats, log=log))
    infer.to_csv(out / "bench_models.csv", index=False)
    train.to_csv(out / "bench_train.csv", index=False)
    print(f"\nWhole-model inference ({args.frames} frames, ratio {args.model_ratio}), "
          "Keras speedup over dense:")
    print(_table(infer, ["model", "preset", "batch"], "speedup"))
    one = infer[infer.batch == 1]
    print("\nLiteRT (batch 1, 1 thread) speedup over LiteRT dense:")
    print(_table(one, ["model", "preset"], "litert_speedup"))
    print("\nKeras latency / LiteRT latency of the same model (batch 1):")
    print(_table(one, ["model", "preset"], "keras_over_litert"))
    print("\n.tflite size (MB):")
    print(_table(one.assign(tflite_mb=one.tflite_bytes / 1e6), ["model", "preset"], "tflite_mb"))
    print(f"\nTrain step time relative to dense ({presets[0]} preset, batch {max(batches[:2])}, Adam, CTC):")
    print(_table(train, ["model"], "relative_to_dense"))
    print(f"\nwrote {out}/bench_models.csv, {out}/bench_train.csv")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, write the CSVs and the figure, print the speedup tables."""
    parser = argparse.ArgumentParser(prog="deepthin-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=",".join(f"{m}x{n}" for m, n in SHAPES),
                        help="layer shapes ('' skips the layer benchmark)")
    parser.add_argument("--ratios", default=",".join(map(str, RATIOS)))
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per measurement (at most)")
    parser.add_argument("--out", default="results", help="output folder")
    parser.add_argument("--models", default="tfkaldi,deepspeech", help="recipes to time ('' for none)")
    parser.add_argument("--preset", default="cpu,paper", help="recipe presets (train steps: the first)")
    parser.add_argument("--model-ratio", type=float, default=0.01)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--quick", action="store_true",
                        help="tiny shapes and the tiny preset: a smoke test in seconds")
    parser.add_argument("--verbose", action="store_true", help="print every measurement")
    args = parser.parse_args(argv)
    if args.quick:
        args.shapes, args.ratios, args.batches = "64x128,96x96", "0.05", "1,4"
        args.repeats, args.preset, args.frames = 5, "tiny", 8
    batches = [int(b) for b in args.batches.split(",") if b]
    log = print if args.verbose else (lambda _msg: None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    settings = thread_settings()
    print(f"deepthin-bench: TensorFlow {tf.__version__}, threads {settings} (0 = TensorFlow default)")
    mismatches = _run_layers(args, batches, out, log) if args.shapes else 0
    if args.models:
        _run_models(args, batches, out, log)
    print(f"done in {time.perf_counter() - started:.0f} s")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
