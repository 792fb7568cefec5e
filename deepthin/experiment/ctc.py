"""CTC loss and decoding over the character vocabulary (blank = last index).

Recipe models return ``{"logits", "logit_lengths"}``: a model that subsamples
frames in time has fewer output steps than input frames, and the loss and the
decoders must use the output lengths, never the feature lengths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf
from keras import ops

MODEL_INPUTS = ("features", "feature_lengths")


def model_inputs(batch: dict[str, Any]) -> dict[str, Any]:
    """The part of a batch the acoustic model reads (labels are for the loss only)."""
    return {key: batch[key] for key in MODEL_INPUTS}


def forward(model: Any, batch: dict[str, Any], training: bool = False) -> tuple[Any, Any]:
    """The model's logits ``[B, T', V]`` and their lengths ``[B]`` for a batch."""
    outputs = model(model_inputs(batch), training=training)
    return outputs["logits"], outputs["logit_lengths"]


def ctc_loss(batch: dict[str, Any], logits: Any, lengths: Any, blank: int) -> Any:
    """Per-utterance CTC negative log-likelihood, ``[B]``."""
    labels, label_lengths = (_sizes_unknown(batch[key]) for key in ("labels", "label_lengths"))
    return ops.ctc_loss(labels, _sizes_unknown(logits), label_lengths, _sizes_unknown(lengths),
                        mask_index=blank)


def _sizes_unknown(x: Any) -> Any:
    """``x`` with its batch and time sizes left unknown to the graph (the values are untouched).

    Inside ``tf.function``, TensorFlow's CTC loss runs a while loop whose body is a function named
    after its code alone, so every graph that traces the loss shares one body. The first trace
    records its concrete sizes on that body; a later graph with other sizes (the dev set's after the
    training batches', or a last smaller batch) then fails TensorFlow's MLIR shape check, which
    prints "'tfg.While' op body function argument ... is not compatible" to stderr on every
    evaluation. With the sizes unknown, every trace records the same shapes and the check passes.
    """
    if not tf.is_symbolic_tensor(x):
        return x
    return tf.compat.v1.placeholder_with_default(x, [None] * min(x.shape.rank, 2) + x.shape[2:])


def min_ctc_frames(labels: Sequence[int]) -> int:
    """Fewest output frames CTC needs for ``labels``: one per label, plus a blank between repeats."""
    repeats = sum(1 for a, b in zip(labels[:-1], labels[1:], strict=True) if a == b)
    return len(labels) + repeats


def decode(logits: Any, lengths: Any, blank: int) -> list[list[int]]:
    """Best path per utterance (greedy): each frame's likeliest label, repeats merged, blanks dropped.

    Word-level decoding is :mod:`deepthin.experiment.decoders`' lexicon search.
    """
    decoded, _ = ops.ctc_decode(logits, lengths, strategy="greedy", mask_index=blank, merge_repeated=True)
    best = np.asarray(decoded[0])
    return [[int(t) for t in row if t >= 0] for row in best]


def feasible(examples: Sequence[Any], stride: int) -> tuple[list[Any], int]:
    """The examples CTC can align after subsampling by ``stride``, and how many were dropped.

    An utterance with more labels than output frames has probability zero under
    CTC: its loss is infinite and would poison the batch mean, so it is left out
    (and counted) instead of being fed to the loss.
    """
    kept = [e for e in examples if min_ctc_frames(list(e.labels)) <= -(-len(e.features) // stride)]
    return kept, len(examples) - len(kept)
