"""`librispeech`: a corpus the user brings in the LibriSpeech layout, SUBSET/SPEAKER/CHAPTER/*.flac.

Each chapter directory holds `SPEAKER-CHAPTER.trans.txt` with lines `UTTERANCE-ID TRANSCRIPT` and one
`UTTERANCE-ID.flac` (16 kHz mono) per line. Subsets (e.g. `train-clean-100`, `dev-clean`) are mapped to
the three splits in config. Audio is used in place (never copied); only headers are read at load time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .base import (
    SAMPLE_RATE,
    SPLITS,
    Corpus,
    Problems,
    Utterance,
    check_audio,
    check_on_error,
    normalize_text,
    require_dir,
)

DEFAULT_SUBSETS = {"train": ["train-clean-100"], "dev": ["dev-clean"], "test": ["test-clean"]}


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


class LibriSpeechCorpus:
    """LibriSpeech-layout directory; `splits` maps train/dev/test to subset directory names under `root`."""

    def __init__(
        self,
        root: str | Path,
        splits: Mapping | None = None,
        on_error: str = "raise",
        sample_rate: int = SAMPLE_RATE,
        audio_ext: tuple[str, ...] | list[str] = (".flac", ".wav"),
        cache_dir: str | Path | None = None,
    ) -> None:
        self.root = Path(root).expanduser()
        self.subsets = split_map(splits, DEFAULT_SUBSETS)
        self.on_error = check_on_error(on_error)
        self.sample_rate = int(sample_rate)
        self.audio_ext = tuple(audio_ext)

    def load(self) -> Corpus:
        """Scan the transcripts of every configured subset; bad files raise or are skipped per `on_error`."""
        root = require_dir(self.root, "LibriSpeech root")
        problems = Problems("librispeech", self.on_error)
        splits: dict[str, list[Utterance]] = {s: [] for s in SPLITS}
        for split in SPLITS:
            for subset in self.subsets[split]:
                sub = require_dir(root / subset, f"LibriSpeech subset {subset!r} ({split})")
                for trans in sorted(sub.glob("*/*/*.trans.txt")):
                    splits[split] += self._chapter(trans, problems)
        problems.finish(splits, root)
        return Corpus(name="librispeech", splits=splits)

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
            duration = check_audio(audio, problems, self.sample_rate)
            if duration is not None:
                utts.append(
                    Utterance(uid=uid, speaker=speaker, text=text, audio=str(audio), duration=duration)
                )
        return utts
