"""`librispeech`: a corpus the user brings in the LibriSpeech layout, SUBSET/SPEAKER/CHAPTER/*.flac.

Each chapter directory holds `SPEAKER-CHAPTER.trans.txt` with lines `UTTERANCE-ID TRANSCRIPT` and one
`UTTERANCE-ID.flac` per line. Subsets (e.g. `train-clean-100`, `dev-clean`) are mapped to the three
splits in config. 16 kHz mono audio (LibriSpeech's own) is used in place, only its header read at load
time; a file at another rate or channel count is resampled once to a 16 kHz mono copy in the cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .base import Problems, Utterance, normalize_text
from .directory import DirectoryCorpus

DEFAULT_SUBSETS = {"train": ["train-clean-100"], "dev": ["dev-clean"], "test": ["test-clean"]}


class LibriSpeechCorpus(DirectoryCorpus):
    """LibriSpeech-layout directory; `splits` maps train/dev/test to subset directory names under `root`."""

    name = "librispeech"
    root_label = "LibriSpeech root"
    root_help = (
        "give data.root=PATH or set LIBRISPEECH_ROOT to a folder holding LibriSpeech subsets such as "
        "train-clean-100/, dev-clean/, test-clean/ (from https://www.openslr.org/12)"
    )
    default_sources = DEFAULT_SUBSETS

    def __init__(
        self,
        root: str | Path | None,
        splits: Mapping | None = None,
        on_error: str = "raise",
        audio_ext: tuple[str, ...] | list[str] = (".flac", ".wav"),
        cache_dir: str | Path | None = None,
    ) -> None:
        super().__init__(root, splits, on_error, cache_dir)
        self.audio_ext = tuple(audio_ext)

    def source_label(self, split: str, source: str) -> str:
        return f"LibriSpeech subset {source!r} ({split})"

    def read_source(self, directory: Path, problems: Problems) -> list[Utterance]:
        """Every chapter transcript of one subset."""
        utts = []
        for trans in sorted(directory.glob("*/*/*.trans.txt")):
            utts += self._chapter(trans, problems)
        return utts

    def _chapter(self, trans: Path, problems: Problems) -> list[Utterance]:
        speaker = trans.parent.parent.name
        utts = []
        for n, line in enumerate(trans.read_text(errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            uid, _, raw = line.strip().partition(" ")
            try:
                text = normalize_text(raw)
            except ValueError as e:
                problems(f"{trans}:{n}", "bad transcript", f"{uid}: {e}")
                continue
            audio = next(
                (p for p in (trans.parent / f"{uid}{ext}" for ext in self.audio_ext) if p.is_file()), None
            )
            if audio is None:
                problems(
                    trans.parent / f"{uid}{self.audio_ext[0]}", "missing audio", f"listed in {trans.name}"
                )
                continue
            utt = self.utterance(uid, speaker, text, audio, problems)
            if utt is not None:
                utts.append(utt)
        return utts
