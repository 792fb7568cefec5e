"""`synth`: the embedded default corpus, spoken locally by eSpeak NG, so nothing is ever downloaded.

Why this design:
- Texts are 3-12 random words from the shipped list `words.txt` (1,379 common English words), drawn
  with Zipf-like weights so frequent words recur as in real speech.
- Speakers are eSpeak voice+variant pairs (8 English accents x 12 variants = 96). Each speaker has its
  own base rate and pitch, jittered per utterance. Splits are speaker-disjoint: the test and dev voices
  never occur in training, so test error measures generalization to unseen voices.
- Audio is resampled from eSpeak's 22.05 kHz to 16 kHz (soxr) and gets coloured noise at a random SNR
  (10-30 dB by default) so that the task is not trivially clean.
- Every utterance draws from its own RNG seeded by (seed, split, index), so the corpus is identical
  whatever the number of workers; generation runs in threads (the work is an espeak-ng subprocess plus
  GIL-releasing resampling) and is cached under `<cache>/synth/<config hash>/` with a manifest.json
  written last: a second call reuses it, a changed config makes a new directory.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from tqdm.auto import tqdm

from .base import SAMPLE_RATE, SPLITS, Corpus, config_key, default_cache_dir, log, read_manifest

VERSION = 1
ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
INSTALL_HINT = "install it with `sudo apt-get install espeak-ng` (or `make system-deps`)"


def load_words() -> list[str]:
    """The shipped vocabulary, most common words first."""
    text = resources.files("deepthin.data").joinpath("words.txt").read_text()
    return [w for w in text.split() if w]


def espeak_binary() -> str:
    """Path of espeak-ng, or a RuntimeError that says how to install it."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError(f"espeak-ng not found on PATH; {INSTALL_HINT}")
    return exe


@dataclass(frozen=True)
class _Job:
    split: str
    index: int
    speaker: str
    text: str
    rate: int
    pitch: int
    snr_db: float
    color: float
    gain: float
    seed: tuple[int, int, int]


class SynthCorpus:
    """Generated English sentences spoken by eSpeak NG voices; `.load()` builds or reuses the cache.

    `hours` is the total audio; `dev_fraction`/`test_fraction` of it go to dev/test, each spoken by
    `dev_voices`/`test_voices` speakers that training never hears.
    """

    def __init__(
        self,
        hours: float = 0.65,
        dev_fraction: float = 0.1,
        test_fraction: float = 0.1,
        seed: int = 0,
        dev_voices: int = 12,
        test_voices: int = 12,
        min_words: int = 3,
        max_words: int = 12,
        snr_db: tuple[float, float] = (10.0, 30.0),
        rate_wpm: tuple[int, int] = (140, 190),
        pitch: tuple[int, int] = (30, 70),
        accents: tuple[str, ...] | list[str] = ACCENTS,
        variants: tuple[str, ...] | list[str] = VARIANTS,
        cache_dir: str | Path | None = None,
        num_workers: int | None = None,
        progress: bool = True,
    ) -> None:
        if hours <= 0:
            raise ValueError(f"hours={hours}; must be > 0")
        if not 0 <= dev_fraction < 1 or not 0 <= test_fraction < 1 or dev_fraction + test_fraction >= 1:
            raise ValueError(
                f"dev_fraction={dev_fraction}, test_fraction={test_fraction}; each in [0, 1), sum < 1"
            )
        if not 1 <= min_words <= max_words:
            raise ValueError(
                f"min_words={min_words}, max_words={max_words}; need 1 <= min_words <= max_words"
            )
        self.speakers = [f"{a}+{v}" for a in accents for v in variants]
        if dev_voices + test_voices >= len(self.speakers):
            raise ValueError(
                f"dev_voices + test_voices = {dev_voices + test_voices}; must be below the "
                f"{len(self.speakers)} voice/variant combinations"
            )
        self.config = {
            "version": VERSION,
            "hours": float(hours),
            "dev_fraction": float(dev_fraction),
            "test_fraction": float(test_fraction),
            "seed": int(seed),
            "dev_voices": int(dev_voices),
            "test_voices": int(test_voices),
            "min_words": int(min_words),
            "max_words": int(max_words),
            "snr_db": [float(x) for x in snr_db],
            "rate_wpm": [int(x) for x in rate_wpm],
            "pitch": [int(x) for x in pitch],
            "speakers": self.speakers,
        }
        self.cache_root = default_cache_dir(cache_dir) / "synth"
        self.num_workers = num_workers or 2 * (os.cpu_count() or 1)  # threads wait on espeak-ng
        self.progress = progress

    @property
    def directory(self) -> Path:
        """Cache directory of this configuration."""
        return self.cache_root / config_key(self.config)

    def split_speakers(self) -> dict[str, list[str]]:
        """Speaker-disjoint assignment of voices to splits, a seeded permutation of all combinations."""
        c = self.config
        order = np.random.default_rng([c["seed"], 7]).permutation(len(self.speakers))
        voices = [self.speakers[i] for i in order]
        nt, nd = c["test_voices"], c["dev_voices"]
        return {"test": voices[:nt], "dev": voices[nt : nt + nd], "train": voices[nt + nd :]}

    def load(self) -> Corpus:
        """The corpus from cache, generating it first when this configuration has none."""
        manifest = self.directory / "manifest.json"
        if manifest.is_file():
            corpus = read_manifest(manifest, "synth", load_words())
            if corpus is not None:
                log.info("synth: reusing %s", self.directory)
                return corpus
            log.warning("synth: cache %s has missing files; regenerating", self.directory)
            shutil.rmtree(self.directory, ignore_errors=True)
        self._generate()
        corpus = read_manifest(manifest, "synth", load_words())
        assert corpus is not None
        return corpus

    # -- generation -------------------------------------------------------------------------------
    def _generate(self) -> None:
        exe = espeak_binary()
        c = self.config
        words = load_words()
        weights = 1.0 / (np.arange(len(words)) + 20.0)
        weights /= weights.sum()
        speakers = self.split_speakers()
        voice_rng = np.random.default_rng([c["seed"], 11])
        style = {
            s: (
                int(voice_rng.integers(*c["rate_wpm"], endpoint=True)),
                int(voice_rng.integers(*c["pitch"], endpoint=True)),
            )
            for s in self.speakers
        }
        targets = {
            "train": c["hours"] * (1 - c["dev_fraction"] - c["test_fraction"]) * 3600,
            "dev": c["hours"] * c["dev_fraction"] * 3600,
            "test": c["hours"] * c["test_fraction"] * 3600,
        }

        self.cache_root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.directory.name}-", dir=self.cache_root))
        start = time.perf_counter()
        entries: dict[str, list[dict]] = {s: [] for s in SPLITS}
        bar = tqdm(
            total=sum(targets.values()),
            desc="synth",
            disable=not self.progress,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f}s audio [{elapsed}<{remaining}]",
        )
        try:
            with ThreadPoolExecutor(self.num_workers) as pool:
                for si, split in enumerate(SPLITS):
                    (tmp / split).mkdir()
                    total, index = 0.0, 0
                    while total < targets[split]:
                        n = max(2 * self.num_workers, math.ceil((targets[split] - total) / 2.5))
                        jobs = [
                            self._job(split, si, index + k, speakers[split], words, weights, style)
                            for k in range(n)
                        ]
                        index += n
                        for job, dur in zip(
                            jobs, pool.map(lambda j: _render(exe, j, tmp), jobs), strict=True
                        ):
                            if total >= targets[split]:  # past the target: drop, keeps the cut deterministic
                                (tmp / split / f"{_uid(job)}.wav").unlink()
                                continue
                            bar.update(min(total + dur, targets[split]) - min(total, targets[split]))
                            total += dur
                            entries[split].append(
                                {
                                    "uid": _uid(job),
                                    "speaker": job.speaker,
                                    "text": job.text,
                                    "audio": f"{split}/{_uid(job)}.wav",
                                    "duration": dur,
                                }
                            )
            bar.close()
            seconds = time.perf_counter() - start
            info = {
                "config": c,
                "generation_seconds": round(seconds, 2),
                "splits": entries,
                "disk_bytes": sum(f.stat().st_size for f in tmp.rglob("*.wav")),
            }
            (tmp / "manifest.json").write_text(json.dumps(info, indent=1))
            try:
                tmp.rename(self.directory)
            except OSError:  # another process finished the same config first: use theirs
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            bar.close()
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _job(
        self,
        split: str,
        split_index: int,
        index: int,
        speakers: list[str],
        words: list[str],
        weights: np.ndarray,
        style: dict[str, tuple[int, int]],
    ) -> _Job:
        c = self.config
        seed = (c["seed"], split_index, index)
        rng = np.random.default_rng(seed)
        n = int(rng.integers(c["min_words"], c["max_words"], endpoint=True))
        text = " ".join(words[i] for i in rng.choice(len(words), size=n, p=weights))
        speaker = speakers[int(rng.integers(len(speakers)))]
        rate, pitch = style[speaker]
        return _Job(
            split=split,
            index=index,
            speaker=speaker,
            text=text,
            rate=int(np.clip(rate + rng.integers(-15, 16), 80, 450)),
            pitch=int(np.clip(pitch + rng.integers(-10, 11), 0, 99)),
            snr_db=float(rng.uniform(*c["snr_db"])),
            color=float(rng.uniform(0.0, 1.5)),
            gain=float(rng.uniform(0.3, 0.9)),
            seed=seed,
        )


def _uid(job: _Job) -> str:
    return f"synth-{job.split}-{job.index:06d}"


def _render(exe: str, job: _Job, out: Path) -> float:
    """Speak, resample to 16 kHz, add noise at the job's SNR, write PCM-16 wav; returns seconds."""
    cmd = [exe, "-v", job.speaker, "-s", str(job.rate), "-p", str(job.pitch), "--stdout", job.text]
    res = subprocess.run(cmd, capture_output=True, check=False)
    if res.returncode != 0 or not res.stdout:
        raise RuntimeError(
            f"espeak-ng failed for voice {job.speaker!r}: {res.stderr.decode(errors='replace')}"
        )
    speech, sr = sf.read(io.BytesIO(res.stdout), dtype="float32")
    speech = soxr.resample(speech, sr, SAMPLE_RATE) if sr != SAMPLE_RATE else speech
    rng = np.random.default_rng([*job.seed, 1])
    loud = np.abs(speech) > 0.01 * np.abs(speech).max()
    power = float(np.mean(speech[loud] ** 2)) if loud.any() else 1e-6
    noise = _colored_noise(len(speech), job.color, rng)
    noise *= math.sqrt(power / 10 ** (job.snr_db / 10) / float(np.mean(noise**2)))
    audio = speech + noise
    audio *= job.gain / max(float(np.abs(audio).max()), 1e-6)
    sf.write(out / job.split / f"{_uid(job)}.wav", audio, SAMPLE_RATE, subtype="PCM_16")
    return len(audio) / SAMPLE_RATE


def _colored_noise(n: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with a 1/f**alpha power spectrum (0 white, 1 pink, 1.5 between pink and brown)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / f ** (alpha / 2), n).astype(np.float32)


def manifest_info(corpus_dir: str | Path) -> dict:
    """Generation statistics of a cached corpus (time, disk bytes, config) for reports."""
    info = json.loads((Path(corpus_dir) / "manifest.json").read_text())
    return {k: v for k, v in info.items() if k != "splits"}


__all__ = ["SynthCorpus", "load_words", "espeak_binary", "manifest_info", "ACCENTS", "VARIANTS"]
