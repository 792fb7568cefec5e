import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from deepthin.data.kaldi import KaldiCorpus

from .conftest import tone, write_kaldi


@pytest.fixture
def kaldi_root(tmp_path):
    root = tmp_path / "data"
    write_kaldi(root / "train", {"spk1-u1": ("spk1", "HELLO WORLD"), "spk2-u1": ("spk2", "it's fine")})
    write_kaldi(root / "dev", {"spk3-u1": ("spk3", "good morning")}, relative=True)
    write_kaldi(root / "test", {"spk4-u1": ("spk4", "see you")})
    return root


def test_loads_data_dirs(kaldi_root):
    c = KaldiCorpus(root=kaldi_root).load()
    assert [u.text for u in c.splits["train"]] == ["hello world", "it's fine"]
    assert [u.speaker for u in c.splits["train"]] == ["spk1", "spk2"]
    dev = c.splits["dev"][0]
    assert dev.audio == str(kaldi_root / "dev" / "wav" / "spk3-u1.wav") and abs(dev.duration - 0.3) < 1e-6
    assert c.summary().set_index("split").loc["total", "speakers"] == 4


def test_without_utt2spk_speaker_is_uid_prefix(kaldi_root):
    (kaldi_root / "train" / "utt2spk").unlink()
    c = KaldiCorpus(root=kaldi_root, splits={"train": "train", "dev": None, "test": None}).load()
    assert [u.speaker for u in c.splits["train"]] == ["spk1", "spk2"] and c.splits["test"] == []


def test_missing_dir_and_files(kaldi_root, tmp_path):
    with pytest.raises(FileNotFoundError, match="Kaldi data root directory not found"):
        KaldiCorpus(root=tmp_path / "nope").load()
    (kaldi_root / "test" / "text").unlink()
    with pytest.raises(FileNotFoundError, match="test has no text"):
        KaldiCorpus(root=kaldi_root).load()


def test_empty_corpus(tmp_path):
    for s in ("train", "dev", "test"):
        (tmp_path / s).mkdir()
        (tmp_path / s / "wav.scp").write_text("")
        (tmp_path / s / "text").write_text("")
    with pytest.raises(ValueError, match="empty corpus"):
        KaldiCorpus(root=tmp_path).load()


def test_8khz_stereo_wav_is_resampled_to_16khz_mono_and_counted(kaldi_root, tmp_path):
    left = tone(0.5, sr=8000, freq=440.0)
    source = kaldi_root / "dev" / "wav" / "spk3-u1.wav"
    sf.write(source, np.stack([left, 0.5 * left], axis=1), 8000)  # stereo, 16-bit: mono is 0.75 left
    cache = tmp_path / "cache"
    c = KaldiCorpus(root=kaldi_root, cache_dir=cache).load()
    utt = c.splits["dev"][0]
    assert Path(utt.audio).parent == cache / "resampled" and abs(utt.duration - 0.5) < 1e-6
    audio, rate = sf.read(utt.audio, always_2d=True)
    assert rate == 16000 and audio.shape == (16000 // 2, 1)
    expected = soxr.resample(0.75 * left, 8000, 16000)
    np.testing.assert_allclose(audio[:, 0], expected, atol=1e-4)  # the source has 16-bit samples
    spectrum = np.abs(np.fft.rfft(audio[:, 0]))
    assert abs(np.argmax(spectrum) * rate / len(audio) - 440.0) < 4.0  # the tone kept its pitch
    summary = c.summary().set_index("split")["resampled"]
    assert (summary["train"], summary["dev"], summary["test"], summary["total"]) == (0, 1, 0, 1)
    assert c.splits["train"][0].audio.startswith(str(kaldi_root))  # 16 kHz mono files are used in place
    made = Path(utt.audio).stat().st_mtime_ns
    again = KaldiCorpus(root=kaldi_root, cache_dir=cache).load()
    assert again.splits["dev"][0].audio == utt.audio and Path(utt.audio).stat().st_mtime_ns == made


def test_segments_file_is_rejected_in_one_line(kaldi_root):
    (kaldi_root / "test" / "segments").write_text("spk4-u1 rec1 0.0 0.3\n")
    with pytest.raises(ValueError, match=r"segments: segments files are not supported") as info:
        KaldiCorpus(root=kaldi_root).load()
    assert len(str(info.value).splitlines()) == 1


def test_pipe_entry_is_rejected(kaldi_root):
    (kaldi_root / "test" / "wav.scp").write_text("spk4-u1 sox in.sph -t wav - |\n")
    with pytest.raises(ValueError, match=r"wav.scp:1: unsupported wav.scp entry: spk4-u1"):
        KaldiCorpus(root=kaldi_root).load()


def test_bad_inputs_raise_naming_file(kaldi_root):
    (kaldi_root / "train" / "text").write_text("spk1-u1 HELLO WORLD!\nspk2-u1 it's fine\n")
    with pytest.raises(ValueError, match=r"train/text:1: bad transcript: spk1-u1: .*'!'"):
        KaldiCorpus(root=kaldi_root).load()
    (kaldi_root / "train" / "text").write_text("spk1-u1 hello\nspk2-u1 fine\n")
    (kaldi_root / "train" / "wav" / "spk1-u1.wav").write_bytes(b"RIFF\x00\x00junk")
    with pytest.raises(ValueError, match="spk1-u1.wav: unreadable audio"):
        KaldiCorpus(root=kaldi_root).load()


def test_skip_mode_counts_once(kaldi_root, caplog):
    (kaldi_root / "train" / "text").write_text("spk1-u1 HELLO WORLD!\nspk2-u1 it's fine\n")
    (kaldi_root / "dev" / "wav" / "spk3-u1.wav").write_bytes(b"junk")
    with caplog.at_level(logging.WARNING, logger="deepthin.data"):
        c = KaldiCorpus(root=kaldi_root, on_error="skip").load()
    msgs = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(msgs) == 1 and "skipped 2 bad files (1 bad transcript, 1 unreadable audio)" in msgs[0]
    assert [u.uid for u in c.splits["train"]] == ["spk2-u1"] and c.splits["dev"] == []
