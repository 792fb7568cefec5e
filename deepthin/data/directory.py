"""Corpora users bring as directories (LibriSpeech, Kaldi): the loading they share.

A subclass reads one source directory; this module names the sources per split, applies the
bad-input policy (`base.Problems`) and makes every file usable: audio at another rate or channel
count is resampled (soxr) to a 16 kHz mono copy in the cache, once, and counted in the corpus
summary, so features and models never see anything but 16 kHz mono.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import numpy as np
import soundfile as sf
import soxr

from .base import (
    SAMPLE_RATE,
    SPLITS,
    Corpus,
    Problems,
    Utterance,
    check_on_error,
    config_key,
    default_cache_dir,
    require_dir,
    require_root,
)


def audio_info(path: str | Path, problems: Problems) -> sf._SoundFileInfo | None:
    """Header of a readable, non-empty audio file; None (after reporting) when it is not one."""
    try:
        info = sf.info(str(path))
    except Exception as e:  # soundfile raises several types for missing/corrupt files
        problems(path, "unreadable audio", str(e).splitlines()[0] if str(e) else type(e).__name__)
        return None
    if info.frames == 0:
        problems(path, "empty audio", "0 samples")
        return None
    return info


def resampled_copy(path: Path, cache_dir: str | Path | None = None) -> Path:
    """A 16 kHz mono copy of ``path`` (channels averaged, soxr's resampler) in the cache.

    Keyed by the file's path, size and modification time, so it is made once and remade when the
    source changes. Written as float samples: resampling can overshoot full scale slightly, which
    16-bit samples would clip.
    """
    st = path.stat()
    key = config_key({"path": str(path.resolve()), "size": st.st_size, "mtime": st.st_mtime_ns})
    out = default_cache_dir(cache_dir) / "resampled" / f"{path.stem}-{key}.wav"
    if not out.is_file():
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
        mono = audio.mean(axis=1)
        if rate != SAMPLE_RATE:
            mono = soxr.resample(mono, rate, SAMPLE_RATE)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f"{out.stem}.partial.wav")
        sf.write(str(partial), np.asarray(mono, dtype="float32"), SAMPLE_RATE, subtype="FLOAT")
        partial.replace(out)
    return out


def split_map(splits: Mapping | None, default: Mapping) -> dict[str, list[str]]:
    """Normalize {split: name | [names] | None} and check the keys are exactly train/dev/test."""
    splits = dict(default if splits is None else splits)
    if set(splits) - set(SPLITS):
        raise ValueError(
            f"unknown split names {sorted(set(splits) - set(SPLITS))}; allowed: {', '.join(SPLITS)}"
        )
    out = {}
    for s in SPLITS:
        v = splits.get(s)
        out[s] = [] if v is None else [v] if isinstance(v, str) else [str(x) for x in v]
    return out


class DirectoryCorpus:
    """A corpus the user brings: source directories under `root`, named per split in config.

    Subclasses set `name` and `default_sources`, name things in errors with `root_label` and
    `source_label`, say how to give an unset root in `root_help`, and read one source directory in
    `read_source`; loading, the bad-input policy and the split bookkeeping are shared here.
    """

    name: ClassVar[str]
    root_label: ClassVar[str]
    root_help: ClassVar[str]  # how to give the root when it is not set
    default_sources: ClassVar[Mapping]

    def __init__(self, root: str | Path | None, splits: Mapping | None = None, on_error: str = "raise",
                 cache_dir: str | Path | None = None) -> None:
        self.root = root
        self.sources = split_map(splits, self.default_sources)
        self.on_error = check_on_error(on_error)
        self.cache_dir = cache_dir
        self._resampled = 0

    def source_label(self, split: str, source: str) -> str:
        raise NotImplementedError

    def read_source(self, directory: Path, problems: Problems) -> list[Utterance]:
        raise NotImplementedError

    def utterance(
        self, uid: str, speaker: str, text: str, path: Path, problems: Problems
    ) -> Utterance | None:
        """The utterance of audio file ``path``: the file itself at 16 kHz mono, else a resampled copy
        (counted); None (after reporting) when ``path`` is not usable audio."""
        info = audio_info(path, problems)
        if info is None:
            return None
        audio = path
        if info.samplerate != SAMPLE_RATE or info.channels != 1:
            self._resampled += 1
            audio = resampled_copy(path, self.cache_dir)
        return Utterance(uid=uid, speaker=speaker, text=text, audio=str(audio),
                         duration=info.frames / info.samplerate)

    def load(self) -> Corpus:
        """Read every configured source; bad entries raise or are skipped per `on_error`."""
        root = require_root(self.root, self.root_label, self.root_help)
        problems = Problems(self.name, self.on_error)
        splits: dict[str, list[Utterance]] = {s: [] for s in SPLITS}
        resampled: dict[str, int] = {}
        for split in SPLITS:
            self._resampled = 0
            for source in self.sources[split]:
                directory = require_dir(root / source, self.source_label(split, source))
                splits[split] += self.read_source(directory, problems)
            resampled[split] = self._resampled
        problems.finish(splits, root)
        return Corpus(name=self.name, splits=splits, resampled=resampled)
