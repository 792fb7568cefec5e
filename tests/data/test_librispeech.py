import logging

import pytest
import soundfile as sf

from deepthin.data.librispeech import LibriSpeechCorpus

from .conftest import write_audio, write_librispeech

LAYOUT = {
    "train-clean-100": {
        "19": {"198": {"19-198-0000": "NORTHANGER ABBEY", "19-198-0001": "THIS LITTLE WORK'S END"}},
        "26": {"495": {"26-495-0000": "HE SAID"}},
    },
    "dev-clean": {"84": {"121": {"84-121-0000": "GO DO YOU HEAR"}}},
    "test-clean": {"61": {"70": {"61-70-0000": "YOUNG FITZOOTH HAD BEEN COMMANDED"}}},
}


@pytest.fixture
def libri(tmp_path):
    return write_librispeech(tmp_path / "LibriSpeech", LAYOUT)


def test_layout_loads(libri):
    c = LibriSpeechCorpus(root=libri).load()
    assert c.name == "librispeech"
    train = {u.uid: u for u in c.splits["train"]}
    assert set(train) == {"19-198-0000", "19-198-0001", "26-495-0000"}
    assert train["19-198-0001"].text == "this little work's end" and train["19-198-0001"].speaker == "19"
    assert abs(train["19-198-0001"].duration - 0.5) < 1e-6 and train["19-198-0001"].audio.endswith(".flac")
    assert [u.speaker for u in c.splits["test"]] == ["61"]
    df = c.summary().set_index("split")
    assert df.loc["train", "speakers"] == 2 and df.loc["total", "utterances"] == 5
    # the decoder's lexicon: the training transcripts' words only (dev/test words would leak answers)
    assert c.words() == ["abbey", "end", "he", "little", "northanger", "said", "this", "work's"]


def test_split_mapping_and_missing_subset(libri):
    c = LibriSpeechCorpus(root=libri, splits={"train": "train-clean-100", "dev": None, "test": []}).load()
    assert len(c.splits["train"]) == 3 and c.splits["dev"] == [] and c.splits["test"] == []
    with pytest.raises(FileNotFoundError, match="train-other-500"):
        LibriSpeechCorpus(root=libri, splits={"train": ["train-other-500"]}).load()
    with pytest.raises(ValueError, match="unknown split names"):
        LibriSpeechCorpus(root=libri, splits={"valid": ["dev-clean"]})


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="LibriSpeech root directory not found"):
        LibriSpeechCorpus(root=tmp_path / "nope").load()


def test_empty_corpus(tmp_path):
    for s in ("train-clean-100", "dev-clean", "test-clean"):
        (tmp_path / s).mkdir()
    with pytest.raises(ValueError, match="empty corpus"):
        LibriSpeechCorpus(root=tmp_path).load()


def test_transcript_outside_vocabulary(libri):
    t = libri / "dev-clean/84/121/84-121.trans.txt"
    t.write_text("84-121-0000 GO, DO YOU HEAR 2\n")
    with pytest.raises(ValueError, match=r"84-121.trans.txt:1: bad transcript: 84-121-0000: .*',2'"):
        LibriSpeechCorpus(root=libri).load()


def test_corrupt_and_missing_audio_and_other_rates(libri, caplog, tmp_path):
    (libri / "train-clean-100/19/198/19-198-0000.flac").write_bytes(b"fLaC broken")
    with pytest.raises(ValueError, match="19-198-0000.flac: unreadable audio"):
        LibriSpeechCorpus(root=libri).load()
    (libri / "test-clean/61/70/61-70-0000.flac").unlink()
    write_audio(libri / "dev-clean/84/121/84-121-0000.flac", seconds=0.3, sr=44100)
    with caplog.at_level(logging.WARNING, logger="deepthin.data"):
        c = LibriSpeechCorpus(root=libri, on_error="skip", cache_dir=tmp_path / "cache").load()
    msgs = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(msgs) == 1 and "skipped 2 bad files (1 missing audio, 1 unreadable audio)" in msgs[0]
    assert len(c.splits["train"]) == 2 and c.splits["test"] == []
    dev = c.splits["dev"][0]  # 44.1 kHz: resampled, not refused
    assert sf.info(dev.audio).samplerate == 16000 and abs(dev.duration - 0.3) < 1e-6
    assert c.summary().set_index("split").loc["total", "resampled"] == 1
