"""Evaluation of a trained acoustic model: CTC loss, WER/CER, size and speed."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jiwer
import keras
import numpy as np
import tensorflow as tf

from deepthin.data import VOCAB
from deepthin.experiment.ctc import ctc_loss, decode, forward, model_inputs
from deepthin.experiment.datamodule import SpeechData
from deepthin.experiment.decoders import LexiconCTCDecoder
from deepthin.export import save_for_inference
from deepthin.inference import for_inference
from deepthin.size import model_stored_params, size_report
from deepthin.timing import median_latency


@dataclass
class Evaluation:
    """A trained model's quality and speed (``metrics``), their wall time, and its size."""

    metrics: dict[str, float]
    seconds: float
    size: dict[str, Any]


def evaluate(model: keras.Model, data: SpeechData, lexicon: LexiconCTCDecoder, target_params: int,
             model_path: Path, latency_repeats: int) -> Evaluation:
    """Everything a run reports of its trained model: quality on the evaluated split (``eval.split``),
    speed on test utterances of the model as it would be deployed (each method's fast inference path),
    and size, saving it to ``model_path``."""
    started = time.perf_counter()
    metrics = recognition_metrics(model, data.test, VOCAB, lexicon)
    deployed = for_inference(model)
    metrics.update(speed_metrics(deployed, data.examples["test"], data.frame_seconds, latency_repeats))
    seconds = time.perf_counter() - started
    return Evaluation(metrics, seconds, size_metrics(model, target_params, model_path))


def recognition_metrics(
    model: keras.Model, batches: tf.data.Dataset, vocab: Any, lexicon: LexiconCTCDecoder | None
) -> dict[str, float]:
    """Test CTC loss, WER and CER of greedy and of lexicon decoding, the lexicon search's wall time,
    and how often greedy output is blank (``lexicon=None``: greedy decoding only)."""
    losses, refs, greedy, lexical = [], [], [], []
    lexicon_seconds = 0.0
    run = tf.function(lambda batch: forward(model, batch), reduce_retracing=True)
    for batch in batches:
        logits, lengths = run(batch)
        losses.append(ctc_loss(batch, logits, lengths, vocab.blank).numpy())
        for labels, length in zip(batch["labels"].numpy(), batch["label_lengths"].numpy(), strict=True):
            refs.append(vocab.decode(labels[:length]))
        greedy += [vocab.decode(ids) for ids in decode(logits, lengths, vocab.blank)]
        if lexicon is not None:
            started = time.perf_counter()
            lexical += lexicon(logits, lengths)
            lexicon_seconds += time.perf_counter() - started
    metrics = {"test_loss": float(np.mean(np.concatenate(losses))), "blank_fraction": blank_fraction(greedy)}
    decoded = {"greedy": greedy}
    if lexicon is not None:
        metrics["lexicon_decode_seconds"] = lexicon_seconds
        decoded["lexicon"] = lexical
    for name, hyps in decoded.items():
        # jiwer rejects empty references; an empty hypothesis is a valid (all-deleted) answer
        metrics[f"wer_{name}"] = float(jiwer.wer(refs, hyps))
        metrics[f"cer_{name}"] = float(jiwer.cer(refs, hyps))
    return metrics


def dev_metrics(model: keras.Model, batches: tf.data.Dataset, vocab: Any) -> dict[str, float]:
    """Dev CTC loss and greedy CER: what a sensitivity analysis compares, cheap enough to run per
    layer and ratio (no lexicon search)."""
    metrics = recognition_metrics(model, batches, vocab, None)
    return {"dev_loss": metrics["test_loss"], "cer_greedy": metrics["cer_greedy"]}


#: A run is ``trained`` when its greedy output is non-blank on more than this share of test utterances.
MIN_NONBLANK = 0.5


def blank_fraction(hypotheses: Sequence[str]) -> float:
    """Share of utterances decoded to nothing: a model on CTC's all-blank plateau scores 1."""
    return sum(1 for h in hypotheses if not h.strip()) / max(1, len(hypotheses))


def is_trained(metrics: dict[str, float]) -> bool:
    """Whether a run left the all-blank plateau: non-blank greedy output on most test utterances."""
    return metrics["blank_fraction"] < 1 - MIN_NONBLANK


def speed_metrics(
    model: keras.Model, examples: Sequence[Any], frame_seconds: float, repeats: int = 10
) -> dict[str, float]:
    """Latency per second of audio at batch 1, and audio seconds processed per second at batch 32."""
    infer = tf.function(lambda batch: model(model_inputs(batch), training=False), reduce_retracing=True)

    def batch_of(items: Sequence[Any]) -> dict[str, tf.Tensor]:
        steps = max(len(e.features) for e in items)
        feats = np.zeros((len(items), steps, items[0].features.shape[1]), "float32")
        for i, e in enumerate(items):
            feats[i, : len(e.features)] = e.features
        lengths = np.array([len(e.features) for e in items], "int32")
        return {"features": tf.constant(feats), "feature_lengths": tf.constant(lengths)}

    def timed(fn: Callable[[], Any], calls: int) -> float:
        return median_latency(fn, calls, warmup=2, budget_s=math.inf)  # exactly ``calls`` timed calls

    singles = [batch_of([e]) for e in examples[:5]]
    per_second = [
        timed(lambda b=b: infer(b), repeats) / (b["features"].shape[1] * frame_seconds)
        for b in singles
    ]
    group = list(examples[:32])
    batch = batch_of(group)
    audio = sum(len(e.features) for e in group) * frame_seconds
    throughput = audio / timed(lambda: infer(batch), max(3, repeats // 3))
    return {
        "latency_per_audio_second": statistics.median(per_second),
        "throughput_audio_seconds_per_second": throughput,
    }


def size_metrics(model: keras.Model, target_params: int, model_path: Path) -> dict[str, Any]:
    """Stored parameters (model and compressed matrices), achieved ratio and file size."""
    report = size_report(model)
    total = report.iloc[-1]
    stored = model_stored_params(model)
    return {
        "stored_params": stored,
        "target_params": target_params,
        "stored_vs_target": stored / target_params,
        "compressed_matrix_params": int(total["stored_params"]),
        "compressed_matrix_original_params": int(total["original_params"]),
        "achieved_ratio": float(total["ratio"]) if total["original_params"] else None,
        "model_file_bytes": save_for_inference(model, model_path),
        "size_report": report.to_dict(orient="records"),
    }
