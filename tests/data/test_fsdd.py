import logging
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import soundfile as sf

from deepthin.data import SPLITS
from deepthin.data.fsdd import DIGITS, FSDDCorpus

from .conftest import FSDD_SAMPLE, write_audio


@pytest.fixture(scope="module")
def fsdd_takes(fsdd_root, tmp_path_factory):
    return FSDDCorpus(root=fsdd_root, cache_dir=tmp_path_factory.mktemp("fsdd")).load()


def _recordings(root):
    """(speaker, take, digit word) of every recording, read from the file names (the test's own oracle)."""
    names = (re.fullmatch(r"(\d)_([a-z]+)_(\d+)\.wav", p.name) for p in root.glob("*.wav"))
    return [(m[2], int(m[3]), DIGITS[int(m[1])]) for m in names]


def _digit_counts(utts):
    """How often each (speaker, digit word) is spoken in ``utts``."""
    return Counter((u.speaker, word) for u in utts for word in u.text.split())


def _expected_takes_split(root):
    """Digits each split must hold under split=takes: takes 0-4 test, 5-9 dev, the rest train."""
    expected = {s: Counter() for s in SPLITS}
    for speaker, take, word in _recordings(root):
        split = "test" if take <= 4 else "dev" if take <= 9 else "train"
        expected[split][speaker, word] += 1
    return expected


def test_takes_split_uses_each_recording_once_in_its_split(fsdd_root, fsdd_takes):
    expected = _expected_takes_split(fsdd_root)
    for s in SPLITS:
        assert expected[s], f"{fsdd_root} has no recordings for {s}"
        assert _digit_counts(fsdd_takes.splits[s]) == expected[s], s
        for u in fsdd_takes.splits[s]:
            assert 1 <= len(u.text.split()) <= 7 and set(u.text.split()) <= set(DIGITS)
    u = fsdd_takes.splits["test"][0]
    info = sf.info(u.audio)
    assert info.samplerate == 16000 and info.channels == 1 and abs(info.frames / 16000 - u.duration) < 1e-6
    assert fsdd_takes.words() == list(DIGITS)  # the decoder's lexicon: the ten digit words


def test_speaker_split_is_disjoint(fsdd_root, tmp_path):
    c = FSDDCorpus(
        root=fsdd_root, split="speakers", test_speakers=["theo"], dev_speakers=["lucas"], cache_dir=tmp_path
    ).load()
    assert {u.speaker for u in c.splits["test"]} == {"theo"}
    assert {u.speaker for u in c.splits["dev"]} == {"lucas"}
    assert {"theo", "lucas"}.isdisjoint({u.speaker for u in c.splits["train"]})
    theo = sum(speaker == "theo" for speaker, _, _ in _recordings(fsdd_root))
    assert sum(len(u.text.split()) for u in c.splits["test"]) == theo > 0


def test_deterministic_from_seed(fsdd_root, fsdd_takes, tmp_path):
    again = FSDDCorpus(root=fsdd_root, cache_dir=tmp_path).load()
    assert [(u.text, u.duration) for u in again.splits["dev"]] == [
        (u.text, u.duration) for u in fsdd_takes.splits["dev"]
    ]
    other = FSDDCorpus(root=fsdd_root, seed=1, cache_dir=tmp_path).load()
    assert [u.text for u in other.splits["dev"]] != [u.text for u in again.splits["dev"]]


def test_cache_reused(fsdd_root, fsdd_takes, monkeypatch):
    cache = Path(fsdd_takes.splits["train"][0].audio).parents[3]
    monkeypatch.setattr(FSDDCorpus, "_build", lambda *a: (_ for _ in ()).throw(AssertionError("rebuilt")))
    assert FSDDCorpus(root=fsdd_root, cache_dir=cache).load().splits == fsdd_takes.splits


@pytest.fixture
def small_fsdd(tmp_path):
    """Five good recordings of the sample (all of digit 0), for the bad-input tests to spoil."""
    d = tmp_path / "recordings"
    d.mkdir()
    for path in sorted(FSDD_SAMPLE.glob("*.wav"))[:5]:
        shutil.copy(path, d / path.name)
    return d


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found: .*nowhere"):
        FSDDCorpus(root=tmp_path / "nowhere", cache_dir=tmp_path).load()


def test_empty_directory(tmp_path):
    (tmp_path / "rec").mkdir()
    with pytest.raises(ValueError, match="empty corpus"):
        FSDDCorpus(root=tmp_path / "rec", cache_dir=tmp_path).load()


def test_corrupt_file_raises_naming_it(small_fsdd, tmp_path):
    (small_fsdd / "5_theo_9.wav").write_bytes(b"RIFF....not audio")
    with pytest.raises(ValueError, match="5_theo_9.wav: unreadable audio"):
        FSDDCorpus(root=small_fsdd, cache_dir=tmp_path).load()


def test_wrong_sample_rate_raises_naming_it(small_fsdd, tmp_path):
    write_audio(small_fsdd / "6_theo_11.wav", sr=22050)
    with pytest.raises(ValueError, match="6_theo_11.wav: unexpected sample rate: 22050 Hz, expected 8000"):
        FSDDCorpus(root=small_fsdd, cache_dir=tmp_path).load()


def test_skip_counts_with_one_warning(small_fsdd, tmp_path, caplog):
    good = len(list(small_fsdd.glob("*.wav")))
    (small_fsdd / "5_theo_9.wav").write_bytes(b"garbage")
    write_audio(small_fsdd / "6_theo_11.wav", sr=22050)
    with caplog.at_level(logging.WARNING, logger="deepthin.data"):
        c = FSDDCorpus(root=small_fsdd, on_error="skip", cache_dir=tmp_path).load()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "skipped 2 bad files" in warnings[0].getMessage()
    assert sum(_digit_counts(c.splits[s]).total() for s in SPLITS) == good


def test_bad_options(tmp_path):
    with pytest.raises(ValueError, match="split='random'; allowed: takes, speakers"):
        FSDDCorpus(root=FSDD_SAMPLE, split="random")
    with pytest.raises(ValueError, match="on_error='ignore'"):
        FSDDCorpus(root=FSDD_SAMPLE, on_error="ignore")
    with pytest.raises(ValueError, match=r"speakers \['bob'\]"):
        FSDDCorpus(root=FSDD_SAMPLE, split="speakers", test_speakers=["bob"], cache_dir=tmp_path).load()
