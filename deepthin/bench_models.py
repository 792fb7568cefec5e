"""Whole recipes in ``deepthin-bench``: Keras and LiteRT inference latency and ``.tflite`` size.

Inference (:func:`bench_inference`, ``bench_models.csv``), dense against every
method at one ratio, in one process so that the methods share the machine's
state: a recipe model (``frames`` input frames) switched with
:func:`deepthin.for_inference` (each matrix in the state a finished training run
leaves, e.g. a pruned kernel's final mask), called through Keras at each batch, and its LiteRT export
(:mod:`deepthin.export`) run in LiteRT's interpreter at batch 1 (the export's
signature; one interpreter thread) with the file's size. Every preset asked for
(``cpu`` and ``paper`` by default) is measured.

Training steps of the same models (``deepthin-bench --train``) are timed by
:mod:`deepthin.bench_train`, which shares :func:`variants` and :func:`model_inputs`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from deepthin.compress import compress
from deepthin.export import litert_runner, tflite_bytes
from deepthin.inference import for_inference
from deepthin.methods.registry import variants as method_variants
from deepthin.size import compressed_layers, model_stored_params
from deepthin.timing import median_latency

#: Per-matrix methods timed in whole models (label, method, options): each method's variants.
MODEL_METHODS: tuple[tuple[str, str, dict[str, Any]], ...] = method_variants()


def variants(
    name: str, preset: str, ratios: Sequence[float], finished: bool = False,
    arch: dict[str, Any] | None = None,
) -> Iterator[tuple[str, float, keras.Model]]:
    """``("dense", 1.0, model)``, then each of :data:`MODEL_METHODS` at each ratio: ``(label, ratio, model)``.

    Built one at a time: at the paper preset a model with its inference caches holds
    gigabytes (a hashed index), and a list of them all would hold them all at once.
    ``finished``: each matrix gets the state a finished training run leaves (a pruned kernel: its
    final mask), for inference. ``arch`` replaces settings of the recipe's architecture (its
    ``conf/model/<name>/<preset>.yaml``), e.g. ``{"frame_packing": False}``.
    """
    from recipes.presets import build, model_config

    try:
        base = build(name, preset, **(arch or {}))
    except TypeError as error:  # a setting the recipe's builder does not take
        raise ValueError(f"architecture settings {arch} do not fit recipe {name}: {error}") from None
    layers = model_config(name).compressed_layers
    yield "dense", 1.0, base
    for ratio in ratios:
        for label, method, options in MODEL_METHODS:
            compressed = compress(base, method, ratio, layers=layers, **options)
            if finished:
                for layer in compressed_layers(compressed):
                    for matrix in layer.matrices.values():
                        matrix.apply_final_state()
            yield label, ratio, compressed


def model_inputs(model: keras.Model, batch: int, frames: int, valid: float = 1.0) -> dict[str, Any]:
    """Random features of ``frames`` frames for ``batch`` utterances, the first ``valid`` of each real.

    ``valid < 1`` pads every utterance as a padded batch of real speech does (FSDD's are about half
    padding), where a model that skips padding (TFKaldi's frame packing) does less work.
    """
    features = model.input["features"].shape[-1]
    rng = np.random.default_rng(0)
    return {
        "features": tf.constant(rng.normal(size=(batch, frames, features)).astype("float32")),
        "feature_lengths": tf.constant(np.full((batch,), max(1, round(valid * frames)), dtype="int32")),
    }


def _litert(model: keras.Model, frames: int, repeats: int) -> tuple[int, float]:
    """``.tflite`` size in bytes and LiteRT's median seconds per batch-1 call."""
    blob = tflite_bytes(model)
    run = litert_runner(blob)
    x = model_inputs(model, 1, frames)
    features, lengths = x["features"].numpy(), x["feature_lengths"].numpy()
    return len(blob), median_latency(lambda: run(features, lengths), repeats, warmup=2)


def _inference_rows(
    name: str, preset: str, ratio: float, batches: Sequence[int], frames: int, repeats: int,
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    dense: dict[Any, float] = {}
    for label, _, model in variants(name, preset, [ratio], finished=True):
        fast = for_inference(model)
        call = tf.function(lambda x, fast=fast: fast(x, training=False))
        size, litert_s = _litert(model, frames, repeats)
        dense.setdefault("litert", litert_s)
        for b in batches:
            x = model_inputs(model, b, frames)
            seconds = median_latency(lambda x=x, call=call: call(x), repeats, warmup=2)
            dense.setdefault(b, seconds)
            row = {"model": name, "preset": preset, "method": label, "ratio": ratio, "batch": b,
                   "frames": frames, "stored_params": model_stored_params(model), "tflite_bytes": size,
                   "latency_ms": seconds * 1e3, "speedup": dense[b] / seconds}
            if b == 1:
                row.update(litert_ms=litert_s * 1e3, litert_speedup=dense["litert"] / litert_s,
                           keras_over_litert=seconds / litert_s)
            rows.append(row)
            log(f"{name} {preset} {label} batch={b}: Keras {seconds * 1e3:.2f} ms ({dense[b] / seconds:.2f}x)"
                + (f", LiteRT {litert_s * 1e3:.2f} ms, {size:,} bytes" if b == 1 else ""))
    return rows


def bench_inference(
    recipes: Sequence[str], presets: Sequence[str], ratio: float, batches: Sequence[int], frames: int,
    repeats: int, log: Callable[[str], None] = print,
) -> pd.DataFrame:
    """One row per (recipe, preset, method, batch): Keras latency, and LiteRT's at batch 1."""
    rows = [row for name in recipes for preset in presets
            for row in _inference_rows(name, preset, ratio, batches, frames, repeats, log)]
    return pd.DataFrame(rows)
