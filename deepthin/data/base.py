"""Shared types of the data layer: one `Corpus` shape for every source, plus the checks all loaders share.

Every corpus module turns its source (generated, FSDD, LibriSpeech, Kaldi) into the same `Corpus` of
`Utterance`s pointing at 16 kHz mono audio files, so features, pipelines and models never care where the
speech came from (a brought file at another rate or channel count is resampled to a 16 kHz mono copy:
`directory`). Bad input is handled in one place (`Problems`) so that every loader either raises a
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
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

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
