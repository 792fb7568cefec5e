"""Audio named on a command line, as a corpus: loose files, or one Kaldi or LibriSpeech data directory.

Why a corpus: the features of a trained model's input must be computed exactly as its training
features were, and every corpus takes one path to them (:func:`deepthin.data.extract_features`):
channels averaged, resampled with soxr to the features' rate, normalized per utterance or speaker.
Audio handed to ``deepthin-transcribe`` takes the same path instead of a second copy of it.

The audio is the corpus's ``test`` split; ``train`` and ``dev`` are empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .base import SPLITS, Corpus, Problems, Utterance
from .directory import audio_info
from .kaldi import KaldiCorpus
from .librispeech import LibriSpeechCorpus

#: The data directories :func:`directory_corpus` reads, by what marks them.
DIRECTORY_KINDS = {"kaldi": "a Kaldi data directory (wav.scp, text)",
                   "librispeech": "a LibriSpeech subset (SPEAKER/CHAPTER/*.trans.txt)"}


def files_corpus(paths: Sequence[str | Path]) -> Corpus:
    """Audio files (any format soundfile reads, any rate and channel count) without transcripts.

    Each file is its own speaker: nothing says which files share a voice, so a model trained with
    per-speaker normalization gets each file normalized on its own. Raises a one-line error naming
    the first file that is missing, unreadable or empty.
    """
    problems = Problems("audio files")  # raises at the first bad file
    utterances = []
    for given in paths:
        path = Path(given).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"audio file not found: {path}")
        info = audio_info(path, problems)
        assert info is not None  # problems raised otherwise
        utterances.append(Utterance(uid=str(given), speaker=str(given), text="", audio=str(path),
                                    duration=info.frames / info.samplerate))
    return Corpus("files", {s: utterances if s == "test" else [] for s in SPLITS})


def directory_kind(path: Path) -> str:
    """``kaldi`` or ``librispeech``, from the files that mark each layout."""
    if (path / "wav.scp").is_file():
        return "kaldi"
    if any(path.glob("*/*/*.trans.txt")):
        return "librispeech"
    raise ValueError(f"{path}: no audio of a known layout; allowed: an audio file, "
                     f"{' or '.join(DIRECTORY_KINDS.values())}")


def directory_corpus(path: str | Path, cache_dir: str | Path | None = None) -> Corpus:
    """The utterances and transcripts of one Kaldi data directory or LibriSpeech subset.

    Read by the corpus readers of ``deepthin-run`` (its parent as their root, it as their test
    split), so the same files are accepted and refused, and audio at another rate is resampled the
    same way (to 16 kHz copies in ``cache_dir``).
    """
    directory = Path(path).expanduser().resolve()
    kind = directory_kind(directory)
    reader = KaldiCorpus if kind == "kaldi" else LibriSpeechCorpus
    splits = {"train": None, "dev": None, "test": directory.name}
    return reader(root=directory.parent, splits=splits, cache_dir=cache_dir).load()
