"""``deepthin-bench``'s layer benchmark: each method's inference path against a dense matmul.

**Layers** (``bench.csv``, ``bench_speedup.png``): for each layer shape, ratio and batch, the
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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from deepthin.methods.registry import make_method, variants
from deepthin.timing import median_latency, thread_settings

#: (label, method, options): every inference path that the bench times (each method names its own).
PATHS: tuple[tuple[str, str, dict[str, Any]], ...] = variants(paths=True)
#: The in-graph speedup over dense an inference path should reach, by (m, n), at ratio 0.01 and batch 1:
#: a 2048x2048 and a 4096x4096 layer at 1% of their parameters, answering one input at a time.
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


def _method(method: str, shape: tuple[int, int], ratio: float, options: dict[str, Any]) -> Any:
    """A built matrix in the state a finished training run leaves (a pruned kernel: its final mask)."""
    holder = keras.layers.Layer()
    matrix = make_method(method, shape, ratio, **options)
    matrix.build(holder, "kernel", seed=0)
    matrix.apply_final_state()
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
        inputs = {b: tf.constant(rng.normal(size=(b, m)).astype("float32")) for b in batches}
        dense = _dense_latencies(dense_w, batches, inputs, repeats)
        for ratio in ratios:
            for label, method, options in paths:
                matrix = _method(method, (m, n), ratio, options)
                rows += _bench_path(label, ratio, matrix, batches, inputs, dense, repeats, log)
                del matrix  # free this path's weights before building the next
    frame = pd.DataFrame(rows)
    for key, value in thread_settings().items():
        frame[key] = value
    return frame


def _dense_latencies(
    w: tf.Variable, batches: Sequence[int], inputs: dict[int, Any], repeats: int
) -> tuple[dict[int, float], dict[int, float]]:
    """The baseline: seconds per ``x @ w`` at each batch, per Python call and in-graph."""

    def dense_mm(x: Any) -> Any:
        return tf.matmul(x, w)

    dense_fn = tf.function(dense_mm)
    call = {b: median_latency(lambda x=inputs[b]: dense_fn(x), repeats) for b in batches}
    graph = {b: graph_latency(dense_mm, inputs[b], call[b], repeats) for b in batches}
    return call, graph


def _bench_path(
    label: str, ratio: float, matrix: Any, batches: Sequence[int], inputs: dict[int, Any],
    dense: tuple[dict[int, float], dict[int, float]], repeats: int, log: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Rows of one inference path at every batch: its latencies against ``dense``'s, and whether its
    output matches ``x @ kernel()``."""
    dense_call, dense_s = dense
    m, n = matrix.shape
    kernel = matrix.kernel(False)
    matrix.refresh_inference()
    path_fn = matrix.inference_fn()
    fn = tf.function(path_fn)
    rows = []
    for b in batches:
        x = inputs[b]
        expected = tf.matmul(x, kernel).numpy()
        got = fn(x).numpy()
        scale = float(np.abs(expected).max()) or 1.0
        ok = bool(np.allclose(got, expected, rtol=1e-3, atol=1e-4 * scale))
        call_s = median_latency(lambda x=x: fn(x), repeats)
        seconds = graph_latency(path_fn, x, call_s, repeats)
        rows.append({
            "m": m, "n": n, "ratio": ratio, "batch": b, "path": label,
            "stored_params": matrix.stored_params(),
            "dense_us": dense_s[b] * 1e6, "path_us": seconds * 1e6, "speedup": dense_s[b] / seconds,
            "dense_call_us": dense_call[b] * 1e6, "path_call_us": call_s * 1e6,
            "speedup_call": dense_call[b] / call_s, "matches_dense": ok,
        })
        log(f"{m}x{n} ratio={ratio} batch={b} {label}: {seconds * 1e6:.0f} us "
            f"(dense {dense_s[b] * 1e6:.0f} us) {dense_s[b] / seconds:.2f}x{'' if ok else ' MISMATCH'}")
    return rows


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
    """Each path's speedup at ratio 0.01, batch 1 against :data:`TARGETS`: meets or misses."""
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
