"""Speech data without downloads: corpora behind one interface, cached features, a tf.data pipeline.

Corpora (one module each, each a class configured by keyword arguments with `.load() -> Corpus`):
`synth` (generated with eSpeak NG, the default), `fsdd` (real connected digits), `librispeech` and
`kaldi` (directories users bring).
"""

from __future__ import annotations

from typing import Any

from .base import SPLITS, Corpus, Utterance, default_cache_dir, normalize_text
from .features import Example, FeatureConfig, compute_features, extract_features
from .pipeline import make_dataset
from .vocab import VOCAB, CharVocab

CORPORA = {
    "synth": "deepthin.data.synth.SynthCorpus",
    "fsdd": "deepthin.data.fsdd.FSDDCorpus",
    "librispeech": "deepthin.data.librispeech.LibriSpeechCorpus",
    "kaldi": "deepthin.data.kaldi.KaldiCorpus",
}


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
