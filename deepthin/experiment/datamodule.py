"""The data of one run: a corpus's features, fit for CTC at the model's frame rate, in batches.

``deepthin-run``, ``deepthin-sensitivity`` and ``scripts/epoch_cost.py`` all take their examples and
batches from :class:`SpeechData`, so they see the same utterances in the same order.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import tensorflow as tf
from omegaconf import DictConfig

from deepthin.data import Example, FeatureConfig, extract_features, make_dataset
from deepthin.experiment.ctc import feasible


@dataclass
class SpeechData:
    """Each split's examples and the run's batching: training order depends only on ``(seed, epoch)``."""

    examples: dict[str, list[Example]]
    features: FeatureConfig
    batch_size: int
    seed: int
    sort_window: int
    eval_split: str

    @classmethod
    def from_config(cls, cfg: DictConfig, corpus: Any) -> SpeechData:
        """The features of ``corpus`` (a loaded corpus) for the run ``cfg``, without the utterances CTC
        cannot align at its model's frame rate."""
        features = FeatureConfig(**cfg.model.features)
        examples = extract_features(corpus, features, cache_dir=cfg.cache_dir)
        return cls(ctc_examples(examples, int(cfg.model.arch.get("stride", 1))), features,
                   int(cfg.batch_size), int(cfg.seed), int(cfg.sort_window), cfg.eval.split)

    @property
    def full_batches(self) -> bool:
        """Whether training drops the last partial batch (a corpus smaller than a batch keeps it)."""
        return len(self.examples["train"]) >= self.batch_size

    @property
    def steps_per_epoch(self) -> int:
        return len(self.examples["train"]) // self.batch_size if self.full_batches else 1

    @property
    def frame_seconds(self) -> float:
        """Seconds of audio per feature frame (what speed metrics divide by)."""
        return self.features.hop_ms / 1000

    def train(self, epoch: int) -> tf.data.Dataset:
        """Epoch ``epoch``'s training batches, reshuffled from ``(seed, epoch)``."""
        return make_dataset(self.examples["train"], self.batch_size, shuffle=True,
                            seed=self.seed * 1000 + epoch, drop_remainder=self.full_batches,
                            sort_window=self.sort_window)

    @cached_property
    def dev(self) -> tf.data.Dataset:
        return make_dataset(self.examples["dev"], self.batch_size)

    @cached_property
    def test(self) -> tf.data.Dataset:
        """The split the final metrics are measured on (``eval.split``: ``test``, or ``dev`` in ablations)."""
        return make_dataset(self.examples[self.eval_split], self.batch_size)


def ctc_examples(examples: dict[str, list[Example]], stride: int) -> dict[str, list[Example]]:
    """Each split without the utterances CTC cannot align at frame stride ``stride`` (counted, warned)."""
    kept = {}
    for split, items in examples.items():
        kept[split], dropped = feasible(items, stride)
        if dropped:
            print(f"deepthin-run: warning: {dropped} of {len(items)} {split} utterances have more labels "
                  f"than frames after subsampling by {stride}; left out", file=sys.stderr)
        if not kept[split]:
            raise ValueError(f"no {split} utterance fits CTC at stride {stride}; allowed: a smaller stride")
    return kept
