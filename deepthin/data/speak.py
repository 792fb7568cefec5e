"""Speaking one `synth` utterance: eSpeak NG's audio, resampled to 16 kHz, with coloured noise added.

Kept apart from the corpus bookkeeping in `synth` because this is the part that touches the outside
world (an espeak-ng subprocess) and the part whose every float decides the cached audio bytes: a
change here changes every user's synth corpus, so it must come with a new `synth.VERSION`.
"""

from __future__ import annotations

import io
import math
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .base import SAMPLE_RATE

INSTALL_HINT = "install it with `sudo apt-get install espeak-ng` (or `make system-deps`)"
#: Held while one utterance's samples are computed and written. Threads exist to overlap the espeak-ng
#: subprocesses; the numerics (soxr, numpy FFT) then run one at a time, so no native library's shared
#: state (plan and table caches) is ever touched by two threads at once and the bytes cannot depend on
#: the number of workers (CI once saw them differ between 1 and 4 workers).
_NUMERICS = threading.Lock()


def espeak_binary() -> str:
    """Path of espeak-ng, or a RuntimeError that says how to install it."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError(f"espeak-ng not found on PATH; {INSTALL_HINT}")
    return exe


@dataclass(frozen=True)
class Job:
    """Everything one utterance's audio depends on, drawn up front so rendering needs no shared RNG."""

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

    @property
    def uid(self) -> str:
        return f"synth-{self.split}-{self.index:06d}"

    @property
    def audio(self) -> str:
        """The wav file's path relative to the corpus directory."""
        return f"{self.split}/{self.uid}.wav"


def render(exe: str, job: Job, out: Path) -> float:
    """Speak, resample to 16 kHz, add noise at the job's SNR, write PCM-16 wav; returns seconds."""
    cmd = [exe, "-v", job.speaker, "-s", str(job.rate), "-p", str(job.pitch), "--stdout", job.text]
    res = subprocess.run(cmd, capture_output=True, check=False)
    if res.returncode != 0 or not res.stdout:
        raise RuntimeError(
            f"espeak-ng failed for voice {job.speaker!r}: {res.stderr.decode(errors='replace')}"
        )
    with _NUMERICS:
        audio = _degrade(res.stdout, job)
        sf.write(out / job.audio, audio, SAMPLE_RATE, subtype="PCM_16")
    return len(audio) / SAMPLE_RATE


def _degrade(wav: bytes, job: Job) -> np.ndarray:
    """eSpeak's wav bytes resampled to 16 kHz, with the job's coloured noise and gain."""
    speech, sr = sf.read(io.BytesIO(wav), dtype="float32")
    speech = soxr.resample(speech, sr, SAMPLE_RATE) if sr != SAMPLE_RATE else speech
    rng = np.random.default_rng([*job.seed, 1])
    loud = np.abs(speech) > 0.01 * np.abs(speech).max()
    power = float(np.mean(speech[loud] ** 2)) if loud.any() else 1e-6
    noise = colored_noise(len(speech), job.color, rng)
    noise *= math.sqrt(power / 10 ** (job.snr_db / 10) / float(np.mean(noise**2)))
    audio = speech + noise
    audio *= job.gain / max(float(np.abs(audio).max()), 1e-6)
    return audio


def colored_noise(n: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with a 1/f**alpha power spectrum (0 white, 1 pink, 1.5 between pink and brown)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / f ** (alpha / 2), n).astype(np.float32)
