"""Speech data without downloads: corpora behind one interface, cached features, a tf.data pipeline.

Corpora (one module each, each a class configured by keyword arguments with `.load() -> Corpus`):
`synth` (generated with eSpeak NG, the default), `fsdd` (real connected digits), `librispeech` and
`kaldi` (directories users bring). TensorFlow is imported only when `make_dataset` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import SPLITS, Corpus, Utterance, default_cache_dir, normalize_text
from .features import Example, FeatureConfig, compute_features, extract_features
from .vocab import VOCAB, CharVocab

if TYPE_CHECKING:
    import tensorflow as tf

CORPORA = {
    "synth": "deepthin.data.synth.SynthCorpus",
    "fsdd": "deepthin.data.fsdd.FSDDCorpus",
    "librispeech": "deepthin.data.librispeech.LibriSpeechCorpus",
    "kaldi": "deepthin.data.kaldi.KaldiCorpus",
}


def make_dataset(
    examples: list[Example],
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    bucket_boundaries: list[int] | None = None,
) -> tf.data.Dataset:
    """See `deepthin.data.pipeline.make_dataset` (imported lazily: TensorFlow is slow to import)."""
    from .pipeline import make_dataset as _make

    return _make(examples, batch_size, shuffle=shuffle, seed=seed, bucket_boundaries=bucket_boundaries)


def __getattr__(name: str) -> Any:
    classes = {
        "SynthCorpus": "synth",
        "FSDDCorpus": "fsdd",
        "LibriSpeechCorpus": "librispeech",
        "KaldiCorpus": "kaldi",
    }
    if name in classes:
        import importlib

        return getattr(importlib.import_module(f".{classes[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Utterance",
    "Corpus",
    "CharVocab",
    "VOCAB",
    "FeatureConfig",
    "Example",
    "extract_features",
    "compute_features",
    "make_dataset",
    "normalize_text",
    "default_cache_dir",
    "SPLITS",
    "CORPORA",
    "SynthCorpus",
    "FSDDCorpus",
    "LibriSpeechCorpus",
    "KaldiCorpus",
]
