"""Fixtures of the data tests: FSDD recordings, a tiny synth corpus, writers of tiny corpora."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

#: 60 real FSDD recordings shipped with the tests (see its README.md), so a fresh clone needs nothing else.
FSDD_SAMPLE = Path(__file__).parent / "fsdd_sample"
FSDD_FULL = "fsdd_full"


def _fsdd_source() -> tuple[str, Path]:
    """Where the FSDD tests read recordings: the full set ``$FSDD_ROOT`` when set, else the sample."""
    given = os.environ.get("FSDD_ROOT")
    return ("FSDD_ROOT", Path(given).resolve()) if given else ("sample", FSDD_SAMPLE)


@pytest.fixture(scope="session", params=[_fsdd_source()], ids=lambda source: f"fsdd={source[0]}")
def fsdd_root(request) -> Path:
    """FSDD recordings; the test id says which (``[fsdd=sample]`` or ``[fsdd=FSDD_ROOT]``)."""
    name, root = request.param
    if not root.is_dir() or not any(root.glob("*.wav")):
        pytest.fail(f"{name}={root} holds no FSDD recordings (*.wav); allowed: FSDD's recordings/ folder")
    return root


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that reads ``fsdd_root``, so CI can run exactly those again on the full FSDD."""
    for item in items:
        if "fsdd_root" in getattr(item, "fixturenames", ()):
            item.add_marker(FSDD_FULL)


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory):
    """A ~20 s synth corpus (session-wide: generation is the slow part)."""
    from deepthin.data.synth import SynthCorpus

    cache = tmp_path_factory.mktemp("synth_cache")
    corpus = SynthCorpus(hours=0.006, seed=3, cache_dir=cache, progress=False).load()
    return corpus, cache


def tone(seconds: float = 0.5, sr: int = 16000, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(int(freq))
    return (0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def write_audio(path: Path, seconds: float = 0.5, sr: int = 16000, freq: float = 440.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(seconds, sr, freq), sr)
    return path


def write_librispeech(root: Path, subsets: dict[str, dict[str, dict[str, dict[str, str]]]]) -> Path:
    """Write SUBSET/SPK/CHAP/{UID.flac, SPK-CHAP.trans.txt} from {subset: {spk: {chap: {uid: text}}}}."""
    for subset, speakers in subsets.items():
        for spk, chapters in speakers.items():
            for chap, utts in chapters.items():
                d = root / subset / spk / chap
                for i, uid in enumerate(utts):
                    write_audio(d / f"{uid}.flac", 0.4 + 0.1 * i, freq=200 + 50 * i)
                (d / f"{spk}-{chap}.trans.txt").write_text("".join(f"{u} {t}\n" for u, t in utts.items()))
    return root


def write_kaldi(d: Path, utts: dict[str, tuple[str, str]], relative: bool = False) -> Path:
    """A Kaldi data dir d/{wav.scp,text,utt2spk} with wavs in d/wav; utts = {uid: (speaker, text)}."""
    d.mkdir(parents=True, exist_ok=True)
    scp, text, u2s = [], [], []
    for i, (uid, (spk, words)) in enumerate(utts.items()):
        wav = write_audio(d / "wav" / f"{uid}.wav", 0.3 + 0.1 * i, freq=300 + 40 * i)
        scp.append(f"{uid} {'wav/' + wav.name if relative else wav}\n")
        text.append(f"{uid} {words}\n")
        u2s.append(f"{uid} {spk}\n")
    (d / "wav.scp").write_text("".join(scp))
    (d / "text").write_text("".join(text))
    (d / "utt2spk").write_text("".join(u2s))
    return d
