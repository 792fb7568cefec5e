"""Shared types of the data layer: one `Corpus` shape for every source, plus the checks all loaders share.

Every corpus module turns its source (generated, FSDD, LibriSpeech, Kaldi) into the same `Corpus` of
`Utterance`s pointing at 16 kHz mono audio files, so features, pipelines and models never care where the
speech came from: a brought file at another rate or channel count is resampled (soxr) to a 16 kHz mono
copy in the cache, once, and counted in the corpus summary. Bad input is handled in one place
(`Problems`) so that every loader either raises a
one-line error naming the file, or skips and counts with a single warning line: never a silently
partial corpus.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import soundfile as sf
import soxr

log = logging.getLogger("deepthin.data")

SPLITS = ("train", "dev", "test")
SAMPLE_RATE = 16000
ON_ERROR = ("raise", "skip")
_TEXT_OK = re.compile(r"[a-z' ]*")


@dataclass(frozen=True)
class Utterance:
    """One spoken sentence: normalized text and the path of its 16 kHz mono audio file."""

    uid: str
    speaker: str
    text: str
    audio: str
    duration: float


@dataclass
class Corpus:
    """Utterances by split; the keys are always exactly "train", "dev", "test" (a split may be empty).

    ``lexicon``: the corpus's own word list when it has one (synth's words.txt, FSDD's digits).
    ``resampled``: per split, how many utterances' files were not 16 kHz mono and were resampled.
    """

    name: str
    splits: dict[str, list[Utterance]] = field(default_factory=dict)
    lexicon: list[str] = field(default_factory=list)
    resampled: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if set(self.splits) != set(SPLITS):
            raise ValueError(f"corpus {self.name!r}: splits {sorted(self.splits)}; must be exactly {SPLITS}")

    def words(self) -> list[str]:
        """The words a lexicon decoder may output: the corpus's word list, else its training words.

        Training transcripts only, never dev or test: a lexicon built from the test
        transcripts would hand the decoder the answers.
        """
        return list(self.lexicon) or sorted({w for u in self.splits["train"] for w in u.text.split()})

    def summary(self) -> pd.DataFrame:
        """Utterances, hours, speakers and resampled files per split, plus a total row (`deepthin-data`)."""
        rows = [self._summary_row(s, self.splits[s], self.resampled.get(s, 0)) for s in SPLITS]
        every = [u for s in SPLITS for u in self.splits[s]]
        rows.append(self._summary_row("total", every, sum(self.resampled.values())))
        return pd.DataFrame(rows, columns=["split", "utterances", "hours", "speakers", "resampled"])

    @staticmethod
    def _summary_row(split: str, utts: list[Utterance], resampled: int) -> dict:
        return {
            "split": split,
            "utterances": len(utts),
            "hours": round(sum(u.duration for u in utts) / 3600, 4),
            "speakers": len({u.speaker for u in utts}),
            "resampled": resampled,
        }

    def fingerprint(self) -> str:
        """Hash of the corpus content (uids, texts, audio paths, sizes, mtimes): the feature-cache key."""
        h = hashlib.sha256(self.name.encode())
        for split in SPLITS:
            for u in self.splits[split]:
                st = os.stat(u.audio)
                h.update(
                    f"{split}|{u.uid}|{u.speaker}|{u.text}|{u.audio}|{st.st_size}|{st.st_mtime_ns}\n".encode()
                )
        return h.hexdigest()[:16]


def default_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The cache root: the argument, else $DEEPTHIN_CACHE, else ~/.cache/deepthin."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    return Path(os.environ.get("DEEPTHIN_CACHE") or Path.home() / ".cache" / "deepthin").expanduser()


def config_key(config: dict) -> str:
    """Stable short hash of a JSON-able config: a changed config gets a new cache directory."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def normalize_text(text: str) -> str:
    """Lowercase and collapse whitespace, or raise naming the characters outside the vocabulary.

    Characters outside a-z, space and apostrophe are an error rather than silently dropped: a transcript
    that loses characters would train the model on wrong labels.
    """
    norm = " ".join(text.lower().split())
    if not _TEXT_OK.fullmatch(norm):
        bad = "".join(sorted({c for c in norm if not _TEXT_OK.fullmatch(c)}))
        raise ValueError(f"transcript has characters outside a-z, space, apostrophe: {bad!r} in {text!r}")
    return norm


def check_on_error(on_error: str) -> str:
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error={on_error!r}; allowed: {', '.join(ON_ERROR)}")
    return on_error


def require_dir(path: str | Path, what: str) -> Path:
    """A directory that must exist, else a one-line FileNotFoundError naming it."""
    p = Path(path).expanduser()
    if not p.is_dir():
        raise FileNotFoundError(f"{what} directory not found: {p}")
    return p


def require_root(root: str | Path | None, what: str, how_to_give: str) -> Path:
    """The directory of data a user brings. No default could name a folder on their machine, so an
    unset root is a one-line error saying how to give it, never a guessed path."""
    if root is None:
        raise ValueError(f"{what} directory not set: {how_to_give}")
    return require_dir(root, what)


class Problems:
    """Bad-input policy of one load: raise at the first problem, or skip, count and warn once at the end."""

    def __init__(self, corpus: str, on_error: str = "raise") -> None:
        self.corpus = corpus
        self.on_error = check_on_error(on_error)
        self.counts: Counter[str] = Counter()
        self.first: str | None = None

    def __call__(self, path: str | Path, kind: str, detail: str) -> None:
        """Report a bad file; raises ValueError in "raise" mode, else records it."""
        msg = f"{path}: {kind}: {detail}"
        if self.on_error == "raise":
            raise ValueError(msg)
        self.counts[kind] += 1
        self.first = self.first or msg

    @property
    def skipped(self) -> int:
        return sum(self.counts.values())

    def finish(self, splits: dict[str, list[Utterance]], root: str | Path) -> None:
        """Warn once about skipped files and refuse an empty corpus."""
        if self.skipped:
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items()))
            log.warning(
                "%s: skipped %d bad files (%s); first: %s", self.corpus, self.skipped, kinds, self.first
            )
        if not any(splits.get(s) for s in SPLITS):
            raise ValueError(f"{self.corpus}: empty corpus, no usable utterances under {root}")


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


def read_manifest(path: Path, name: str, lexicon: list[str] | None = None) -> Corpus | None:
    """Corpus of a cache manifest (audio paths relative to it); None when any audio file is gone."""
    info = json.loads(path.read_text())
    splits = {
        s: [
            Utterance(
                uid=e["uid"],
                speaker=e["speaker"],
                text=e["text"],
                audio=str(path.parent / e["audio"]),
                duration=float(e["duration"]),
            )
            for e in info["splits"][s]
        ]
        for s in SPLITS
    }
    if not all(Path(u.audio).is_file() for s in SPLITS for u in splits[s]):
        return None
    return Corpus(name=name, splits=splits, lexicon=list(lexicon or []))


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
