"""Evaluation of a trained acoustic model: CTC loss, WER/CER, size and speed."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
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
from deepthin.methods.base import VALUE_BYTES
from deepthin.size import LAYOUT_COLUMNS, model_stored_bytes, model_stored_params, size_report
from deepthin.timing import median_latency


@dataclass
class Evaluation:
    """A trained model's quality and speed (``metrics``), their wall time, and its size."""

    metrics: dict[str, float]
    seconds: float
    size: dict[str, Any]


def evaluate(model: keras.Model, data: SpeechData, lexicon: LexiconCTCDecoder, target_params: int,
             model_path: Path, latency_repeats: int, dense_params: int) -> Evaluation:
    """Everything a run reports of its trained model: quality on the evaluated split (``eval.split``),
    speed on utterances of that split of the model as it would be deployed (each method's fast inference
    path), and size (:func:`size_metrics`), saving it to ``model_path``. With ``eval.split=dev`` (the
    tuning sweeps) nothing reads the test set."""
    started = time.perf_counter()
    metrics = recognition_metrics(model, data.test, VOCAB, lexicon)
    deployed = for_inference(model)
    metrics.update(speed_metrics(deployed, data.examples[data.eval_split], data.frame_seconds,
                                 latency_repeats))
    seconds = time.perf_counter() - started
    return Evaluation(metrics, seconds, size_metrics(model, target_params, model_path, dense_params))


#: ``batch -> (logits [B, T', V], logit_lengths [B])``: a Keras model's forward pass, or a LiteRT file's.
Forward = Callable[[dict[str, Any]], tuple[Any, Any]]


@dataclass
class Transcripts:
    """Each utterance's reference, greedy and lexicon text and CTC loss, in the batches' order: what
    the metrics are computed from, kept so a caller can also show what was decoded."""

    references: list[str] = field(default_factory=list)
    greedy: list[str] = field(default_factory=list)
    lexicon: list[str] | None = None  # None: no lexicon search
    losses: list[float] = field(default_factory=list)
    lexicon_seconds: float = 0.0

    def metrics(self) -> dict[str, float]:
        """Test CTC loss, the lexicon search's wall time, and the :meth:`error_rates`."""
        metrics = {"test_loss": float(np.mean(self.losses))}
        if self.lexicon is not None:
            metrics["lexicon_decode_seconds"] = self.lexicon_seconds
        return {**metrics, **self.error_rates()}

    def error_rates(self) -> dict[str, float]:
        """WER and CER of each decoding, and how often greedy output is blank."""
        metrics = {"blank_fraction": blank_fraction(self.greedy)}
        decoded = {"greedy": self.greedy} | ({} if self.lexicon is None else {"lexicon": self.lexicon})
        for name, hyps in decoded.items():
            # jiwer rejects empty references; an empty hypothesis is a valid (all-deleted) answer
            metrics[f"wer_{name}"] = float(jiwer.wer(self.references, hyps))
            metrics[f"cer_{name}"] = float(jiwer.cer(self.references, hyps))
        return metrics


def keras_forward(model: keras.Model) -> Forward:
    """The model's forward pass, traced once per batch shape rather than run eagerly."""
    return tf.function(lambda batch: forward(model, batch), reduce_retracing=True)


def transcribe_batches(run: Forward, batches: Iterable[dict[str, Any]], vocab: Any,
                       lexicon: LexiconCTCDecoder | None, loss: bool = True) -> Transcripts:
    """Greedy and (``lexicon`` not None) lexicon decoding of every utterance of ``batches``, with
    its CTC loss unless ``loss`` is False (audio without a transcript has none: CTC refuses empty labels)."""
    out = Transcripts(lexicon=None if lexicon is None else [])
    for batch in batches:
        logits, lengths = run(batch)
        if loss:
            out.losses += ctc_loss(batch, logits, lengths, vocab.blank).numpy().tolist()
        labels, lengths_of_labels = np.asarray(batch["labels"]), np.asarray(batch["label_lengths"])
        out.references += [vocab.decode(row[:n]) for row, n in zip(labels, lengths_of_labels, strict=True)]
        out.greedy += [vocab.decode(ids) for ids in decode(logits, lengths, vocab.blank)]
        if out.lexicon is not None:
            started = time.perf_counter()
            out.lexicon += lexicon(logits, lengths)
            out.lexicon_seconds += time.perf_counter() - started
    return out


def recognition_metrics(
    model: keras.Model, batches: tf.data.Dataset, vocab: Any, lexicon: LexiconCTCDecoder | None
) -> dict[str, float]:
    """Test CTC loss, WER and CER of greedy and of lexicon decoding, the lexicon search's wall time,
    and how often greedy output is blank (``lexicon=None``: greedy decoding only)."""
    return transcribe_batches(keras_forward(model), batches, vocab, lexicon).metrics()


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


def size_metrics(model: keras.Model, target_params: int, model_path: Path, dense_params: int
                 ) -> dict[str, Any]:
    """Stored parameters and bytes (model and compressed matrices), achieved ratio and file size.

    The budget is bytes (:mod:`deepthin.size`): ``target_params`` dense float32 weights, so
    ``stored_vs_target`` and ``achieved_ratio`` compare bytes, each matrix's index layout included;
    ``stored_bytes_flat_int32`` and ``stored_bytes_relative_int16`` count the model in either
    standard index layout instead. ``model_ratio`` is the whole model's stored bytes over those of the
    recipe's uncompressed model (``dense_params`` float32 weights): the share of the whole model a run
    stores, its uncompressed layers included (1.0 for dense; a hand-tuned network is measured against
    the recipe's full width).
    """
    report = size_report(model)
    total = report.iloc[-1]
    stored_bytes = model_stored_bytes(model)
    target_bytes = VALUE_BYTES * target_params
    return {
        "stored_params": model_stored_params(model),
        "target_params": target_params,
        "stored_bytes": stored_bytes,
        "target_bytes": target_bytes,
        **{column: model_stored_bytes(model, layout) for column, layout in LAYOUT_COLUMNS.items()},
        "stored_vs_target": stored_bytes / target_bytes,
        "model_ratio": stored_bytes / (VALUE_BYTES * dense_params),
        "compressed_matrix_params": int(total["stored_params"]),
        "compressed_matrix_bytes": int(total["stored_bytes"]),
        "compressed_matrix_original_params": int(total["original_params"]),
        "achieved_ratio": float(total["ratio"]) if total["original_params"] else None,
        "model_file_bytes": save_for_inference(model, model_path),
        "size_report": report.to_dict(orient="records"),
    }
