"""`fsdd`: real human speech, connected digits built TIDIGITS-style from the Free Spoken Digit Dataset.

FSDD (CC BY-SA 4.0, Z. Jackson et al.) holds isolated digits, `{digit}_{speaker}_{take}.wav` at 8 kHz,
6 speakers x 10 digits x 50 takes. Isolated words are too easy for a CTC recogniser, so utterances of
1-7 digits are built by concatenating recordings of one speaker with short random pauses, as in
TIDIGITS, and resampled to 16 kHz. Each recording of a split is used once per pass, so the splits never
share a recording.

Splits: `split="takes"` follows FSDD's own split (takes 0-4 test) and carves dev out of the training
takes (5-9 by default); `split="speakers"` holds out whole speakers instead (unseen voices). Building is
deterministic from `seed` and cached under `<cache>/fsdd/<hash of config and of the recordings>/`.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .base import (
    SAMPLE_RATE,
    SPLITS,
    Corpus,
    Problems,
    check_on_error,
    config_key,
    default_cache_dir,
    log,
    read_manifest,
    require_root,
)

VERSION = 1
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SPLIT_KINDS = ("takes", "speakers")
_NAME = re.compile(r"(\d)_([A-Za-z]+)_(\d+)\.wav")
ROOT_HELP = (
    "give data.root=PATH or set FSDD_ROOT to the recordings/ folder of the Free Spoken Digit Dataset "
    "(get it with: deepthin-data fetch fsdd, which downloads it from "
    "https://github.com/Jakobovski/free-spoken-digit-dataset and prints the path)"
)


class FSDDCorpus:
    """Connected-digit utterances from an FSDD `recordings` directory; `.load()` builds or reuses them."""

    def __init__(
        self,
        root: str | Path | None,
        split: str = "takes",
        seed: int = 0,
        min_digits: int = 1,
        max_digits: int = 7,
        pause: tuple[float, float] = (0.05, 0.3),
        passes: int = 1,
        test_takes: tuple[int, int] = (0, 4),
        dev_takes: tuple[int, int] = (5, 9),
        test_speakers: tuple[str, ...] | list[str] = ("theo",),
        dev_speakers: tuple[str, ...] | list[str] = ("yweweler",),
        sample_rate: int = 8000,
        on_error: str = "raise",
        cache_dir: str | Path | None = None,
    ) -> None:
        if split not in SPLIT_KINDS:
            raise ValueError(f"split={split!r}; allowed: {', '.join(SPLIT_KINDS)}")
        if not 1 <= min_digits <= max_digits:
            raise ValueError(f"min_digits={min_digits}, max_digits={max_digits}; need 1 <= min <= max")
        self.root = root
        self.on_error = check_on_error(on_error)
        self.config = {
            "version": VERSION,
            "split": split,
            "seed": int(seed),
            "min_digits": int(min_digits),
            "max_digits": int(max_digits),
            "pause": [float(p) for p in pause],
            "passes": int(passes),
            "test_takes": [int(t) for t in test_takes],
            "dev_takes": [int(t) for t in dev_takes],
            "test_speakers": sorted(test_speakers),
            "dev_speakers": sorted(dev_speakers),
            "sample_rate": int(sample_rate),
            "on_error": on_error,
        }
        self.cache_root = default_cache_dir(cache_dir) / "fsdd"

    def load(self) -> Corpus:
        """The corpus from cache, building it first when this configuration and directory have none."""
        root = require_root(self.root, "FSDD recordings", ROOT_HELP)
        files = sorted(p for p in root.iterdir() if p.suffix.lower() == ".wav")
        if not files:
            raise ValueError(f"fsdd: empty corpus, no .wav files in {root}")
        listing = hashlib.sha256(
            "".join(f"{p.name}|{p.stat().st_size}|{p.stat().st_mtime_ns}\n" for p in files).encode()
        ).hexdigest()
        directory = self.cache_root / config_key(
            {**self.config, "root": str(root.resolve()), "files": listing}
        )
        manifest = directory / "manifest.json"
        if manifest.is_file() and (corpus := read_manifest(manifest, "fsdd", list(DIGITS))) is not None:
            return corpus
        shutil.rmtree(directory, ignore_errors=True)
        self._build(root, files, directory)
        corpus = read_manifest(manifest, "fsdd", list(DIGITS))
        assert corpus is not None
        return corpus

    def _split_of(self, speaker: str, take: int) -> str:
        c = self.config
        if c["split"] == "speakers":
            return (
                "test"
                if speaker in c["test_speakers"]
                else "dev"
                if speaker in c["dev_speakers"]
                else "train"
            )
        (t0, t1), (d0, d1) = c["test_takes"], c["dev_takes"]
        return "test" if t0 <= take <= t1 else "dev" if d0 <= take <= d1 else "train"

    def _build(self, root: Path, files: list[Path], directory: Path) -> None:
        c = self.config
        problems = Problems("fsdd", self.on_error)
        pools: dict[str, dict[str, list[tuple[int, np.ndarray]]]] = {s: defaultdict(list) for s in SPLITS}
        speakers = set()
        for path in files:
            m = _NAME.fullmatch(path.name)
            if m is None:
                problems(path, "unexpected file name", "expected {digit}_{speaker}_{take}.wav")
                continue
            digit, speaker, take = int(m[1]), m[2].lower(), int(m[3])
            speakers.add(speaker)
            audio = _read(path, c["sample_rate"], problems)
            if audio is not None:
                pools[self._split_of(speaker, take)][speaker].append((digit, audio))
        if c["split"] == "speakers":
            unknown = sorted(set(c["test_speakers"] + c["dev_speakers"]) - speakers)
            if unknown:
                raise ValueError(f"fsdd: speakers {unknown} not in {root}; available: {sorted(speakers)}")

        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
        try:
            entries = {s: self._write_split(s, pools[s], tmp) for s in SPLITS}
            problems.finish({s: entries[s] for s in SPLITS}, root)
            (tmp / "manifest.json").write_text(
                json.dumps({"config": c, "root": str(root), "splits": entries})
            )
            try:
                tmp.rename(directory)
            except OSError:  # built concurrently by another process: keep theirs
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("fsdd: built %s", directory)

    def _write_split(
        self, split: str, pool: dict[str, list[tuple[int, np.ndarray]]], out: Path
    ) -> list[dict]:
        """Shuffle each speaker's recordings and cut them into 1-7 digit utterances, once per pass."""
        c = self.config
        entries: list[dict] = []
        (out / split).mkdir()
        sr = c["sample_rate"]
        for sp_index, speaker in enumerate(sorted(pool)):
            recs = pool[speaker]
            for p in range(c["passes"]):
                rng = np.random.default_rng([c["seed"], SPLITS.index(split), sp_index, p])
                order = rng.permutation(len(recs))
                i = 0
                while i < len(order):
                    n = int(rng.integers(c["min_digits"], c["max_digits"], endpoint=True))
                    chosen = [recs[j] for j in order[i : i + n]]
                    i += n
                    pieces = [_silence(rng, c["pause"], sr)]
                    for _, audio in chosen:
                        pieces += [audio, _silence(rng, c["pause"], sr)]
                    wav = (
                        soxr.resample(np.concatenate(pieces), sr, SAMPLE_RATE)
                        if sr != SAMPLE_RATE
                        else np.concatenate(pieces)
                    )
                    uid = f"fsdd-{split}-{speaker}-{len(entries):05d}"
                    sf.write(out / split / f"{uid}.wav", wav, SAMPLE_RATE, subtype="PCM_16")
                    entries.append(
                        {
                            "uid": uid,
                            "speaker": speaker,
                            "audio": f"{split}/{uid}.wav",
                            "text": " ".join(DIGITS[d] for d, _ in chosen),
                            "duration": len(wav) / SAMPLE_RATE,
                        }
                    )
        return entries


def _silence(rng: np.random.Generator, pause: list[float], sr: int) -> np.ndarray:
    return np.zeros(int(rng.uniform(*pause) * sr), dtype=np.float32)


def _read(path: Path, sample_rate: int, problems: Problems) -> np.ndarray | None:
    """Samples of one recording, or None after reporting an unreadable file or a wrong sample rate."""
    try:
        audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # corrupt or truncated file
        problems(path, "unreadable audio", str(e).splitlines()[0] if str(e) else type(e).__name__)
        return None
    if sr != sample_rate:
        problems(path, "unexpected sample rate", f"{sr} Hz, expected {sample_rate} Hz (config sample_rate)")
        return None
    if audio.shape[0] == 0:
        problems(path, "empty audio", "0 samples")
        return None
    return audio.mean(axis=1)
