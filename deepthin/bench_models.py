"""Whole recipe models, dense against every method, each set in one process.

Inference (:func:`bench_models`, ``bench_models.csv``): the latency of a
model called for inference, each method switched with ``for_inference``
(pruning with its final mask applied, as after training).

Training (:func:`bench_train`, ``deepthin-bench --train``): for each
recipe and preset, the dense model and every method at each ratio are
built in one process and timed on the trainer's own compiled step (forward,
CTC loss, backward, clipping, Adam: :meth:`Trainer.steps`) on one random
batch, so the ratio to dense compares models under the same machine state.
The medians of a few steps' wall and CPU time (all the process's threads:
the steadier measure on a shared machine, see
:func:`~deepthin.timing.median_wall_and_cpu`) after two warm-up steps
(tracing, the optimizer's slots) are reported, with the memory training the model takes:
its weights plus the peak that TensorFlow's CPU allocator reaches during
the steps above what the process held before the optimizer existed (the
BFC allocator's statistics: the only ones TensorFlow keeps on the CPU).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from deepthin.compress import compress
from deepthin.data import VOCAB
from deepthin.experiment.trainer import Trainer, TrainerConfig
from deepthin.inference import for_inference
from deepthin.timing import median_latency, median_wall_and_cpu

#: Per-matrix methods timed in whole models (label, method, options).
MODEL_METHODS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("deepthin-aligned", "deepthin", {"policy": "aligned"}),
    ("deepthin-paper", "deepthin", {"policy": "paper"}),
    ("lowrank", "lowrank", {}),
    ("hashednet", "hashednet", {}),
    ("pruning", "pruning", {}),
)
PRESETS = ("cpu", "paper")
TRAIN_RATIOS = (0.01, 0.05)


def thread_settings() -> dict[str, int]:
    """TensorFlow's thread pools as configured (0: TensorFlow's own default) and the CPU count."""
    return {
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "cpus": os.cpu_count() or 0,
    }


def recipe(name: str, preset: str) -> tuple[keras.Model, str]:
    """The dense model of recipe ``name`` at ``preset`` and the regex of its compressed layers."""
    from recipes.presets import build, model_config

    return build(name, preset), model_config(name).compressed_layers


def model_inputs(model: keras.Model, batch: int, frames: int) -> dict[str, Any]:
    """A random batch of ``frames`` feature frames per utterance, all of full length."""
    features = model.input["features"].shape[-1]
    rng = np.random.default_rng(0)
    return {
        "features": tf.constant(rng.normal(size=(batch, frames, features)).astype("float32")),
        "feature_lengths": tf.constant(np.full((batch,), frames, dtype="int32")),
    }


def allocated_bytes() -> tuple[int, int] | None:
    """TensorFlow's CPU allocator: ``(current, peak)`` bytes, or ``None`` without its statistics.

    Only the BFC allocator keeps statistics on the CPU; ``deepthin-bench`` selects it
    (``TF_CPU_ALLOCATOR_USE_BFC=true``) before TensorFlow starts.
    """
    try:
        info = tf.config.experimental.get_memory_info("CPU:0")
    except ValueError:
        return None
    return info["current"], info["peak"]


def train_step_cost(model: keras.Model, batch: int, frames: int, repeats: int
                    ) -> tuple[float, float, float]:
    """Median wall and CPU seconds of the trainer's step on one batch, and the MiB training needs.

    Memory: the model's weights plus the peak the compiled step allocates
    above what the process held before the optimizer was created (Adam's
    slots, activations kept for the backward pass, gradients, temporaries);
    NaN without allocator statistics.
    """
    trainer = Trainer(TrainerConfig(epochs=1, progress=False, tensorboard=False), VOCAB.blank)
    before = allocated_bytes()
    model.compile(optimizer=trainer.optimizer(steps_per_epoch=1))
    train_step, _ = trainer.steps(model)
    labels = np.random.default_rng(1).integers(0, VOCAB.blank, size=(batch, max(1, frames // 10)))
    x = {**model_inputs(model, batch, frames), "labels": tf.constant(labels, "int32"),
         "label_lengths": tf.constant(np.full((batch,), labels.shape[1], "int32"))}
    for _ in range(2):  # tracing and the optimizer's slots: not timed
        train_step(x).numpy()
    if before is not None:
        tf.config.experimental.reset_memory_stats("CPU:0")
    wall, cpu = median_wall_and_cpu(lambda: train_step(x), repeats)
    after = allocated_bytes()
    if before is None or after is None:
        return wall, cpu, float("nan")
    weights = sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in model.weights)
    return wall, cpu, (after[1] - before[0] + weights) / 2**20


def variants(name: str, preset: str, ratios: Sequence[float]) -> Any:
    """``(label, ratio, model)`` for dense (ratio 1) and every method at every ratio, built lazily."""
    base, layers = recipe(name, preset)
    yield "dense", 1.0, base
    for ratio in ratios:
        for label, method, options in MODEL_METHODS:
            yield label, ratio, compress(base, method, ratio, layers=layers, **options)


def final_mask(method: Any) -> None:
    """Give a pruning matrix its end-of-training mask: the ``ratio m n`` largest weights kept.

    An untrained pruning layer keeps every weight (the schedule has not run),
    which would time a 100%-dense sparse matrix instead of the pruned model.
    """
    w = method.w.numpy()
    keep = method.keep_count(method.final_sparsity)
    threshold = np.partition(np.abs(w).ravel(), w.size - keep)[w.size - keep]
    method.mask.assign((np.abs(w) >= threshold).astype("float32"))


def bench_models(
    recipes: Sequence[str], preset: str, ratio: float, batches: Sequence[int], frames: int, repeats: int,
    log: Callable[[str], None] = print,
) -> pd.DataFrame:
    """Whole-model inference latency, dense against each method switched with ``for_inference``."""
    rows = []
    for name in recipes:
        dense_infer: dict[int, float] = {}
        for label, _, model in variants(name, preset, [ratio]):
            if label.startswith("pruning"):
                for layer in model._flatten_layers():
                    for matrix in getattr(layer, "matrices", {}).values():
                        final_mask(matrix)
            fast = for_inference(model)
            call = tf.function(lambda x, fast=fast: fast(x, training=False))
            for b in batches:
                x = model_inputs(model, b, frames)
                seconds = median_latency(lambda x=x, call=call: call(x), repeats, warmup=2)
                dense_infer.setdefault(b, seconds)
                rows.append({
                    "model": name, "preset": preset, "method": label, "ratio": ratio, "batch": b,
                    "frames": frames, "latency_ms": seconds * 1e3,
                    "speedup": dense_infer[b] / seconds,
                })
                log(f"{name} {label} batch={b}: inference {seconds * 1e3:.2f} ms "
                    f"({dense_infer[b] / seconds:.2f}x)")
    frame = pd.DataFrame(rows)
    for key, value in thread_settings().items():
        frame[key] = value
    return frame


def bench_train(
    recipes: Sequence[str], presets: Sequence[str], ratios: Sequence[float], batch: int, frames: int,
    repeats: int, log: Callable[[str], None] = print,
) -> pd.DataFrame:
    """One row per (recipe, preset, method, ratio): step time, its ratio to dense, peak memory."""
    rows = []
    for preset in presets:
        for name in recipes:
            dense: tuple[float, float] | None = None
            for label, ratio, model in variants(name, preset, ratios):
                wall, cpu, mib = train_step_cost(model, batch, frames, repeats)
                dense = dense or (wall, cpu)
                rows.append({
                    "model": name, "preset": preset, "method": label, "ratio": ratio, "batch": batch,
                    "frames": frames, "step_ms": wall * 1e3, "relative_to_dense": wall / dense[0],
                    "cpu_ms": cpu * 1e3, "cpu_relative_to_dense": cpu / dense[1],
                    "peak_mib": mib, "params": model.count_params(),
                })
                log(f"{name} {preset} {label} {ratio}: {wall * 1e3:.1f} ms wall ({wall / dense[0]:.2f}x "
                    f"dense), {cpu * 1e3:.1f} ms CPU ({cpu / dense[1]:.2f}x), {mib:.0f} MiB")
                del model
    return pd.DataFrame(rows)


def train_table(frame: pd.DataFrame, value: str = "cpu_relative_to_dense") -> str:
    """Step cost relative to dense: one row per (recipe, preset, ratio), one column per method."""
    compressed = frame[frame.method != "dense"]
    table = compressed.pivot_table(index=["model", "preset", "ratio"], columns="method", values=value,
                                   sort=False)
    dense = frame[frame.method == "dense"].set_index(["model", "preset"])
    keys = list(zip(table.index.get_level_values(0), table.index.get_level_values(1), strict=True))
    for position, column in enumerate(("step_ms", "cpu_ms", "peak_mib")):
        table.insert(position, f"dense_{column}", [round(float(dense.loc[key, column])) for key in keys])
    return table.to_string(float_format=lambda v: f"{v:.2f}")


def memory_table(frame: pd.DataFrame) -> str:
    """MiB training needs (weights plus the step's peak allocations), one column per method."""
    table = frame.pivot_table(index=["model", "preset", "ratio"], columns="method", values="peak_mib",
                              sort=False)
    return table.to_string(float_format=lambda v: f"{v:.1f}", na_rep="")


def plot_train(frame: pd.DataFrame, path: Path) -> None:
    """Step time relative to dense, one panel per (recipe, preset), one bar group per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(dict.fromkeys(zip(frame.model, frame.preset, strict=True)))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (name, preset) in zip(axes[0], panels, strict=True):
        sub = frame[(frame.model == name) & (frame.preset == preset) & (frame.method != "dense")]
        methods = list(dict.fromkeys(sub.method))
        ratios = sorted(sub.ratio.unique())
        width = 0.8 / len(ratios)
        for i, ratio in enumerate(ratios):
            values = sub[sub.ratio == ratio].set_index("method").cpu_relative_to_dense
            ax.bar(np.arange(len(methods)) + i * width, [values.get(m, np.nan) for m in methods],
                   width, label=f"ratio {ratio:g}")
        ax.axhline(1.0, color="gray", lw=0.8, ls="--")
        ax.set_xticks(np.arange(len(methods)) + 0.4 - width / 2, methods, rotation=35, ha="right",
                      fontsize=7)
        ax.set_title(f"{name}, {preset} preset", fontsize=9)
        ax.set_ylabel("train step / dense step (CPU time)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
