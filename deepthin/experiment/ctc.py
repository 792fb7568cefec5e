"""CTC loss and decoding over the character vocabulary (blank = last index)."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

MODEL_INPUTS = ("features", "feature_lengths")


def model_inputs(batch: dict[str, Any]) -> dict[str, Any]:
    """The part of a batch the acoustic model reads (labels are for the loss only)."""
    return {key: batch[key] for key in MODEL_INPUTS}


def ctc_loss(batch: dict[str, Any], logits: Any, blank: int) -> Any:
    """Per-utterance CTC negative log-likelihood, ``[B]``."""
    return ops.ctc_loss(
        batch["labels"], logits, batch["label_lengths"], batch["feature_lengths"], mask_index=blank
    )


def decode(logits: Any, lengths: Any, blank: int) -> list[list[int]]:
    """Best path per utterance (greedy): each frame's likeliest label, repeats merged, blanks dropped.

    Word-level decoding is :mod:`deepthin.experiment.decoders`' lexicon search.
    """
    decoded, _ = ops.ctc_decode(logits, lengths, strategy="greedy", mask_index=blank, merge_repeated=True)
    best = np.asarray(decoded[0])
    return [[int(t) for t in row if t >= 0] for row in best]
