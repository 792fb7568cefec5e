"""CTC loss and decoding over the character vocabulary (blank = last index)."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from keras import ops

MODEL_INPUTS = ("features", "feature_lengths")


def model_inputs(batch: dict[str, Any]) -> dict[str, Any]:
    """The part of a batch the acoustic model reads (labels are for the loss only)."""
    return {key: batch[key] for key in MODEL_INPUTS}


def ctc_loss(batch: dict[str, Any], logits: Any, blank: int) -> Any:
    """Per-utterance CTC negative log-likelihood, ``[B]``."""
    labels, label_lengths, feature_lengths = (
        _sizes_unknown(batch[key]) for key in ("labels", "label_lengths", "feature_lengths")
    )
    return ops.ctc_loss(labels, _sizes_unknown(logits), label_lengths, feature_lengths, mask_index=blank)


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


def decode(logits: Any, lengths: Any, blank: int, beam_width: int = 0) -> list[list[int]]:
    """Best label sequence per utterance: greedy when ``beam_width`` is 0, else beam search."""
    strategy = "beam_search" if beam_width else "greedy"
    options = {"beam_width": beam_width} if beam_width else {}
    decoded, _ = ops.ctc_decode(
        logits, lengths, strategy=strategy, mask_index=blank, merge_repeated=True, **options
    )
    best = np.asarray(decoded[0])
    return [[int(t) for t in row if t >= 0] for row in best]
