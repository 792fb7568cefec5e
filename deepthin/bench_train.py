"""``deepthin-bench --train``: whole training steps of the recipes, dense against every method.

:func:`bench_train` (``bench_train.csv``, ``bench_train.png``): for each
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

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from deepthin.bench_models import model_inputs, variants
from deepthin.data import VOCAB
from deepthin.experiment.trainer import Trainer, TrainerConfig
from deepthin.timing import median_wall_and_cpu


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


def train_step_cost(model: keras.Model, batch: int, frames: int, repeats: int, valid: float = 1.0
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
    x = {**model_inputs(model, batch, frames, valid), "labels": tf.constant(labels, "int32"),
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


def bench_train(
    recipes: Sequence[str], presets: Sequence[str], ratios: Sequence[float], batch: int, frames: int,
    repeats: int, log: Callable[[str], None] = print, valid: float = 1.0, arch: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per (recipe, preset, method, ratio): step time, its ratio to dense, peak memory.

    ``valid``: the share of each utterance's frames that are real (the rest padding); ``arch``:
    architecture settings replaced in every recipe (:func:`~deepthin.bench_models.variants`).
    """
    rows = []
    for preset in presets:
        for name in recipes:
            dense: tuple[float, float] | None = None
            for label, ratio, model in variants(name, preset, ratios, arch=arch):
                wall, cpu, mib = train_step_cost(model, batch, frames, repeats, valid)
                dense = dense or (wall, cpu)
                rows.append({
                    "model": name, "preset": preset, "method": label, "ratio": ratio, "batch": batch,
                    "frames": frames, "valid_fraction": valid, "arch": _arch_text(arch),
                    "step_ms": wall * 1e3, "relative_to_dense": wall / dense[0],
                    "cpu_ms": cpu * 1e3, "cpu_relative_to_dense": cpu / dense[1],
                    "peak_mib": mib, "params": model.count_params(),
                })
                log(f"{name} {preset} {label} {ratio}: {wall * 1e3:.1f} ms wall ({wall / dense[0]:.2f}x "
                    f"dense), {cpu * 1e3:.1f} ms CPU ({cpu / dense[1]:.2f}x), {mib:.0f} MiB")
                del model
    return pd.DataFrame(rows)


def _arch_text(arch: dict[str, Any] | None) -> str:
    """``key=value`` pairs as ``--arch`` takes them, or ``default``."""
    return ",".join(f"{k}={v}" for k, v in (arch or {}).items()) or "default"


def train_table(frame: pd.DataFrame, value: str = "cpu_relative_to_dense") -> str:
    """Step cost relative to dense: one row per (recipe, preset, ratio), one column per method."""
    compressed = frame[frame.method != "dense"]
    table = compressed.pivot_table(index=["model", "preset", "ratio"], columns="method", values=value,
                                   sort=False)
    dense = frame[frame.method == "dense"].set_index(["model", "preset"])
    keys = list(zip(table.index.get_level_values(0), table.index.get_level_values(1), strict=True))
    for position, column in enumerate(("step_ms", "cpu_ms", "peak_mib")):
        values = [float(dense.loc[key, column]) for key in keys]
        # peak_mib is NaN without the allocator's statistics: an empty cell, not a number
        table.insert(position, f"dense_{column}", [round(v) if math.isfinite(v) else "" for v in values])
    return table.to_string(float_format=lambda v: f"{v:.2f}")


def memory_table(frame: pd.DataFrame) -> str:
    """MiB training needs (weights plus the step's peak allocations), one column per method.

    Without the allocator's statistics every cell is empty (NaN), and still printed.
    """
    table = frame.pivot_table(index=["model", "preset", "ratio"], columns="method", values="peak_mib",
                              sort=False, dropna=False)
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
