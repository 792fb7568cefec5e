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


def decode(logits: Any, lengths: Any, blank: int, beam_width: int = 0) -> list[list[int]]:
    """Best label sequence per utterance: greedy when ``beam_width`` is 0, else beam search."""
    strategy = "beam_search" if beam_width else "greedy"
    options = {"beam_width": beam_width} if beam_width else {}
    decoded, _ = ops.ctc_decode(
        logits, lengths, strategy=strategy, mask_index=blank, merge_repeated=True, **options
    )
    best = np.asarray(decoded[0])
    return [[int(t) for t in row if t >= 0] for row in best]
