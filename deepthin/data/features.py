"""Acoustic features: log-mel filterbanks (TFKaldi recipe, 40-d) or MFCCs (DeepSpeech, 26-d), cached.

Both start from the same pre-emphasized 25 ms / 10 ms Hamming-window power spectrum; MFCCs are the DCT
of a 40-band (or wider, if more coefficients are asked) log-mel spectrum. Mean/variance normalization
is per utterance (default, needs no statistics), per speaker (CMVN as in Kaldi recipes) or off.

Extraction is the slow step of a training run, so it is done once and cached as one .npz per split
under `<cache>/features/<key>/`, where the key hashes the corpus content (uids, texts, audio paths with
sizes and mtimes) and the feature config: a changed corpus or config gets new features, never stale ones.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
import soxr
from tqdm.auto import tqdm

from .base import SPLITS, Corpus, Utterance, config_key, default_cache_dir, log
from .vocab import VOCAB

VERSION = 1
KINDS = ("fbank", "mfcc")
NORMALIZE = ("utterance", "speaker", "none")


@dataclass(frozen=True)
class FeatureConfig:
    """What to compute; every field is part of the cache key."""

    kind: str = "fbank"
    num_features: int = 40
    sample_rate: int = 16000
    win_ms: float = 25.0
    hop_ms: float = 10.0
    preemphasis: float = 0.97
    normalize: str = "utterance"
    #: Std of Gaussian noise added to the waveform (full scale 1), as Kaldi's ``dither``. Digital
    #: silence (FSDD's inserted pauses) otherwise sits at the log floor, far below any speech frame,
    #: and after normalization squeezes the speech frames into a small part of the range.
    dither: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"feature kind={self.kind!r}; allowed: {', '.join(KINDS)}")
        if self.normalize not in NORMALIZE:
            raise ValueError(f"normalize={self.normalize!r}; allowed: {', '.join(NORMALIZE)}")
        if self.num_features < 1 or self.win_ms <= 0 or self.hop_ms <= 0:
            raise ValueError(f"num_features, win_ms, hop_ms must be positive: {self}")
        if self.dither < 0:
            raise ValueError(f"dither={self.dither}; allowed: >= 0")


@dataclass
class Example:
    """Features and CTC labels of one utterance."""

    uid: str
    speaker: str
    text: str
    features: np.ndarray  # (T, F) float32
    labels: np.ndarray  # (L,) int32


def compute_features(audio: np.ndarray, sample_rate: int, config: FeatureConfig) -> np.ndarray:
    """Un-normalized (T, F) float32 features of a mono signal (resampled to config.sample_rate if needed)."""
    if sample_rate != config.sample_rate:
        audio = soxr.resample(audio, sample_rate, config.sample_rate)
    sr = config.sample_rate
    y = np.asarray(audio, dtype=np.float32)
    if config.dither:  # seeded by the signal itself, so features stay deterministic and cacheable
        rng = np.random.default_rng(zlib.crc32(y.tobytes()))
        y = y + np.float32(config.dither) * rng.standard_normal(len(y), dtype=np.float32)
    if config.preemphasis:
        y = np.append(y[:1], y[1:] - config.preemphasis * y[:-1])
    win = int(round(config.win_ms * sr / 1000))
    hop = int(round(config.hop_ms * sr / 1000))
    n_mels = config.num_features if config.kind == "fbank" else max(40, config.num_features)
    mel = librosa.feature.melspectrogram(
        y=y,
        sr=sr,
        n_fft=1 << (win - 1).bit_length(),
        hop_length=hop,
        win_length=win,
        window="hamming",
        n_mels=n_mels,
        power=2.0,
    )
    logmel = np.log(np.maximum(mel, 1e-10))
    feats = logmel if config.kind == "fbank" else librosa.feature.mfcc(S=logmel, n_mfcc=config.num_features)
    return np.ascontiguousarray(feats.T, dtype=np.float32)


def _normalize(feats: list[np.ndarray], speakers: list[str], how: str) -> list[np.ndarray]:
    if how == "none":
        return feats
    if how == "utterance":
        return [(f - f.mean(0)) / (f.std(0) + 1e-5) for f in feats]
    by_spk: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(speakers):
        by_spk[s].append(i)
    out = list(feats)
    for idx in by_spk.values():
        stacked = np.concatenate([feats[i] for i in idx])
        mean, std = stacked.mean(0), stacked.std(0) + 1e-5
        for i in idx:
            out[i] = (feats[i] - mean) / std
    return out


def _features_of(utt: Utterance, config: FeatureConfig) -> np.ndarray:
    try:
        audio, sr = sf.read(utt.audio, dtype="float32", always_2d=True)
    except Exception as e:
        raise ValueError(
            f"{utt.audio}: unreadable audio: {str(e).splitlines()[0] if str(e) else e!r}"
        ) from None
    return compute_features(audio.mean(axis=1), sr, config)


def feature_cache_dir(corpus: Corpus, config: FeatureConfig, cache_dir: str | Path | None = None) -> Path:
    """Where the features of this corpus content and config live."""
    key = config_key({"version": VERSION, "corpus": corpus.fingerprint(), "config": asdict(config)})
    return default_cache_dir(cache_dir) / "features" / f"{corpus.name}-{key}"


def extract_features(
    corpus: Corpus,
    config: FeatureConfig,
    cache_dir: str | Path | None = None,
    *,
    num_workers: int | None = None,
    progress: bool = True,
) -> dict[str, list[Example]]:
    """Features and labels of every split, from cache when present, else computed and cached.

    `num_workers` threads (default 1): librosa's STFT holds the GIL for much of its work, and on the
    2-core reference machine 2 threads were slower than 1 (~450x real time serially), so serial is default.
    """
    directory = feature_cache_dir(corpus, config, cache_dir)
    if (directory / "done.json").is_file():
        log.info("features: reusing %s", directory)
        return {s: _load_split(directory / f"{s}.npz") for s in SPLITS}
    for s in SPLITS:  # fail before minutes of work: labels must be encodable
        for u in corpus.splits[s]:
            VOCAB.encode(u.text)
    feats = _compute_all(corpus, config, num_workers, progress)
    return _write_cache(directory, corpus, config, feats)


def _compute_all(
    corpus: Corpus, config: FeatureConfig, num_workers: int | None, progress: bool
) -> list[np.ndarray]:
    """Un-normalized features of every utterance, splits in `SPLITS` order."""
    utts = [u for s in SPLITS for u in corpus.splits[s]]
    with ThreadPoolExecutor(num_workers or 1) as pool:
        return list(
            tqdm(
                pool.map(lambda u: _features_of(u, config), utts),
                total=len(utts),
                desc=f"features {corpus.name}",
                disable=not progress,
            )
        )


def _write_cache(
    directory: Path, corpus: Corpus, config: FeatureConfig, feats: list[np.ndarray]
) -> dict[str, list[Example]]:
    """Normalize ``feats`` per split and cache them in ``directory``, written beside it and renamed
    into place when complete, so a killed run never leaves a cache that looks finished."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    out: dict[str, list[Example]] = {}
    try:
        start = 0
        for s in SPLITS:
            us = corpus.splits[s]
            fs = _normalize(feats[start : start + len(us)], [u.speaker for u in us], config.normalize)
            start += len(us)
            _save_split(tmp / f"{s}.npz", us, fs)
            out[s] = [
                Example(u.uid, u.speaker, u.text, f.astype(np.float32), VOCAB.encode(u.text))
                for u, f in zip(us, fs, strict=True)
            ]
        (tmp / "done.json").write_text(json.dumps({"corpus": corpus.name, "config": asdict(config)}))
        try:
            tmp.rename(directory)
        except OSError:  # written concurrently by another process
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _save_split(path: Path, utts: list[Utterance], feats: list[np.ndarray]) -> None:
    dim = feats[0].shape[1] if feats else 0
    np.savez(
        path,
        features=np.concatenate(feats) if feats else np.zeros((0, dim), np.float32),
        lengths=np.array([len(f) for f in feats], dtype=np.int64),
        uids=np.array([u.uid for u in utts], dtype=str),
        speakers=np.array([u.speaker for u in utts], dtype=str),
        texts=np.array([u.text for u in utts], dtype=str),
    )


def _load_split(path: Path) -> list[Example]:
    with np.load(path) as z:
        bounds = np.concatenate([[0], np.cumsum(z["lengths"])])
        feats = z["features"]
        return [
            Example(str(uid), str(spk), str(text), feats[bounds[i] : bounds[i + 1]], VOCAB.encode(str(text)))
            for i, (uid, spk, text) in enumerate(zip(z["uids"], z["speakers"], z["texts"], strict=True))
        ]
