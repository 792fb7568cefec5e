import logging
import shutil
from collections import Counter

import pytest
import soundfile as sf

from deepthin.data import SPLITS
from deepthin.data.fsdd import DIGITS, FSDDCorpus

from .conftest import write_audio


@pytest.fixture(scope="module")
def fsdd_takes(fsdd_root, tmp_path_factory):
    return FSDDCorpus(root=fsdd_root, cache_dir=tmp_path_factory.mktemp("fsdd")).load()


def _digit_count(utts):
    return sum(len(u.text.split()) for u in utts)


def test_real_fsdd_takes_split(fsdd_takes):
    c = fsdd_takes
    # each recording used once: 6 speakers x 10 digits x (5 test takes | 5 dev takes | 40 train takes)
    assert [_digit_count(c.splits[s]) for s in ("test", "dev", "train")] == [300, 300, 2400]
    for s in SPLITS:
        assert {u.speaker for u in c.splits[s]} == {
            "george",
            "jackson",
            "lucas",
            "nicolas",
            "theo",
            "yweweler",
        }
        for u in c.splits[s]:
            assert 1 <= len(u.text.split()) <= 7 and set(u.text.split()) <= set(DIGITS)
    u = c.splits["test"][0]
    info = sf.info(u.audio)
    assert info.samplerate == 16000 and info.channels == 1 and abs(info.frames / 16000 - u.duration) < 1e-6
    lengths = Counter(len(u.text.split()) for u in c.splits["train"])
    assert set(lengths) == set(range(1, 8))
    assert c.words() == list(DIGITS)  # the decoder's lexicon: the ten digit words


def test_real_fsdd_speaker_split_is_disjoint(fsdd_root, tmp_path):
    c = FSDDCorpus(
        root=fsdd_root, split="speakers", test_speakers=["theo"], dev_speakers=["lucas"], cache_dir=tmp_path
    ).load()
    assert {u.speaker for u in c.splits["test"]} == {"theo"}
    assert {u.speaker for u in c.splits["dev"]} == {"lucas"}
    assert {"theo", "lucas"}.isdisjoint({u.speaker for u in c.splits["train"]})
    assert _digit_count(c.splits["test"]) == 500


def test_deterministic_from_seed(fsdd_root, fsdd_takes, tmp_path):
    again = FSDDCorpus(root=fsdd_root, cache_dir=tmp_path).load()
    assert [(u.text, u.duration) for u in again.splits["dev"]] == [
        (u.text, u.duration) for u in fsdd_takes.splits["dev"]
    ]
    other = FSDDCorpus(root=fsdd_root, seed=1, cache_dir=tmp_path).load()
    assert [u.text for u in other.splits["dev"]] != [u.text for u in again.splits["dev"]]


def test_cache_reused(fsdd_root, fsdd_takes, monkeypatch):
    cache = __import__("pathlib").Path(fsdd_takes.splits["train"][0].audio).parents[3]
    monkeypatch.setattr(FSDDCorpus, "_build", lambda *a: (_ for _ in ()).throw(AssertionError("rebuilt")))
    assert FSDDCorpus(root=fsdd_root, cache_dir=cache).load().splits == fsdd_takes.splits


@pytest.fixture
def small_fsdd(fsdd_root, tmp_path):
    d = tmp_path / "recordings"
    d.mkdir()
    for name in ["0_theo_0.wav", "1_theo_7.wav", "2_theo_20.wav", "3_george_1.wav", "4_george_30.wav"]:
        shutil.copy(fsdd_root / name, d / name)
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
    (small_fsdd / "5_theo_9.wav").write_bytes(b"garbage")
    write_audio(small_fsdd / "6_theo_11.wav", sr=22050)
    with caplog.at_level(logging.WARNING, logger="deepthin.data"):
        c = FSDDCorpus(root=small_fsdd, on_error="skip", cache_dir=tmp_path).load()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "skipped 2 bad files" in warnings[0].getMessage()
    assert sum(_digit_count(c.splits[s]) for s in SPLITS) == 5


def test_bad_options(fsdd_root, tmp_path):
    with pytest.raises(ValueError, match="split='random'; allowed: takes, speakers"):
        FSDDCorpus(root=fsdd_root, split="random")
    with pytest.raises(ValueError, match="on_error='ignore'"):
        FSDDCorpus(root=fsdd_root, on_error="ignore")
    with pytest.raises(ValueError, match=r"speakers \['bob'\]"):
        FSDDCorpus(root=fsdd_root, split="speakers", test_speakers=["bob"], cache_dir=tmp_path).load()
