"""Character vocabulary of the CTC models: a-z, space, apostrophe, then the blank as the last index.

The blank is last (index 28) because that is where `tf.nn.ctc_loss(blank_index=-1)` and Keras'
`ctc_decode` expect it, so labels never need shifting.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

LABELS = "abcdefghijklmnopqrstuvwxyz '"


class CharVocab:
    """Maps normalized text to int32 label ids and back."""

    def __init__(self, labels: str = LABELS) -> None:
        self.labels = labels
        self.blank = len(labels)
        self.size = len(labels) + 1
        self._index = {c: i for i, c in enumerate(labels)}

    def encode(self, text: str) -> np.ndarray:
        """Label ids of `text`; raises ValueError naming the first character outside the vocabulary."""
        try:
            return np.array([self._index[c] for c in text], dtype=np.int32)
        except KeyError as e:
            raise ValueError(
                f"character {e.args[0]!r} in {text!r} is not in the vocabulary {self.labels!r}"
            ) from None

    def decode(self, ids: Iterable[int]) -> str:
        """Text of label ids; blanks and negative padding ids are dropped (no CTC collapsing here)."""
        return "".join(self.labels[i] for i in (int(i) for i in ids) if 0 <= i < self.blank)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"CharVocab({self.labels!r}, blank={self.blank})"


VOCAB = CharVocab()
