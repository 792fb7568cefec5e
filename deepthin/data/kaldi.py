"""`kaldi`: a corpus the user brings as Kaldi data directories (`wav.scp`, `text`, optional `utt2spk`).

Only plain paths in `wav.scp` are supported (no pipes or `segments`), because the audio must be a file
the feature extractor can open; relative paths are resolved against the data directory. Files at any
sample rate and channel count are used (resampled to 16 kHz mono: `directory.DirectoryCorpus.utterance`).
One data directory per split, named in config (default `root/train`, `root/dev`, `root/test`).
"""

from __future__ import annotations

from pathlib import Path

from .base import Problems, Utterance, normalize_text
from .directory import DirectoryCorpus

DEFAULT_DIRS = {"train": "train", "dev": "dev", "test": "test"}


def _table(path: Path) -> list[tuple[int, str, str]]:
    """(line number, key, rest) of a Kaldi table file, skipping blank lines."""
    rows = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if line.strip():
            key, _, rest = line.strip().partition(" ")
            rows.append((n, key, rest.strip()))
    return rows


class KaldiCorpus(DirectoryCorpus):
    """Kaldi data directories under `root`; `splits` maps train/dev/test to directory names (or null)."""

    name = "kaldi"
    root_label = "Kaldi data root"
    root_help = (
        "give data.root=PATH or set KALDI_DATA_ROOT to the folder holding your Kaldi data directories "
        "(train/, dev/, test/ unless data.splits says otherwise)"
    )
    default_sources = DEFAULT_DIRS

    def source_label(self, split: str, source: str) -> str:
        return f"Kaldi data ({split})"

    def read_source(self, directory: Path, problems: Problems) -> list[Utterance]:
        """Join wav.scp, text and utt2spk of one data directory."""
        return self._data_dir(directory, problems)

    def _data_dir(self, d: Path, problems: Problems) -> list[Utterance]:
        for required in ("wav.scp", "text"):
            if not (d / required).is_file():
                raise FileNotFoundError(f"Kaldi data directory {d} has no {required}")
        if (d / "segments").exists():
            raise ValueError(
                f"{d / 'segments'}: segments files are not supported; give one audio file per utterance"
            )
        wavs: dict[str, Path] = {}
        for n, uid, rest in _table(d / "wav.scp"):
            if not rest or rest.endswith("|") or len(rest.split()) != 1:
                problems(
                    f"{d / 'wav.scp'}:{n}",
                    "unsupported wav.scp entry",
                    f"{uid}: {rest!r}; only a plain audio path is allowed (no commands or pipes)",
                )
                continue
            p = Path(rest).expanduser()
            wavs[uid] = p if p.is_absolute() else d / p
        spk = {uid: rest for _, uid, rest in _table(d / "utt2spk")} if (d / "utt2spk").is_file() else {}
        utts = []
        for n, uid, raw in _table(d / "text"):
            try:
                text = normalize_text(raw)
            except ValueError as e:
                problems(f"{d / 'text'}:{n}", "bad transcript", f"{uid}: {e}")
                continue
            if uid not in wavs:
                problems(f"{d / 'text'}:{n}", "missing audio", f"{uid} has no usable wav.scp entry")
                continue
            speaker = spk.get(uid, uid.split("-")[0].split("_")[0])
            utt = self.utterance(uid, speaker, text, wavs[uid], problems)
            if utt is not None:
                utts.append(utt)
        return utts
