"""Audio named on a command line as a corpus: loose files, a Kaldi directory, a LibriSpeech subset."""

import numpy as np
import pytest
import soundfile as sf

from deepthin.data.audio import directory_corpus, directory_kind, files_corpus

from .conftest import tone, write_audio, write_kaldi, write_librispeech


def test_files_are_a_test_split_each_its_own_speaker(tmp_path):
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.stack([tone(0.5, 44100), tone(0.5, 44100, 220.0)], axis=1), 44100)
    flac = write_audio(tmp_path / "low.flac", 0.25, sr=8000)
    corpus = files_corpus([str(stereo), flac])
    assert corpus.splits["train"] == corpus.splits["dev"] == []
    test = corpus.splits["test"]
    assert [u.uid for u in test] == [str(stereo), str(flac)]
    assert len({u.speaker for u in test}) == 2 and all(u.text == "" for u in test)
    assert [u.duration for u in test] == pytest.approx([0.5, 0.25])


@pytest.mark.parametrize("make, expected", [
    (lambda p: p.with_suffix(".wav").write_bytes(b"RIFF...."), "unreadable audio"),
    (lambda p: sf.write(p.with_suffix(".wav"), np.zeros(0, "float32"), 16000), "empty audio"),
])
def test_bad_file_is_one_line_naming_it(tmp_path, make, expected):
    make(tmp_path / "bad")
    with pytest.raises(ValueError, match=expected) as error:
        files_corpus([tmp_path / "bad.wav"])
    assert str(tmp_path / "bad.wav") in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(FileNotFoundError, match="audio file not found"):
        files_corpus([tmp_path / "absent.wav"])


def test_kaldi_directory_as_its_test_split(tmp_path):
    data = write_kaldi(tmp_path / "eval92", {"a-1": ("a", "one two"), "b-1": ("b", "three")}, relative=True)
    sf.write(data / "wav" / "b-1.wav", tone(0.3, 8000), 8000)  # another rate: resampled to a copy
    assert directory_kind(data) == "kaldi"
    corpus = directory_corpus(data, cache_dir=tmp_path / "cache")
    assert corpus.splits["train"] == corpus.splits["dev"] == []
    assert [(u.uid, u.speaker, u.text) for u in corpus.splits["test"]] == [("a-1", "a", "one two"),
                                                                           ("b-1", "b", "three")]
    assert corpus.resampled["test"] == 1
    assert corpus.splits["test"][1].audio.startswith(str(tmp_path / "cache" / "resampled"))


def test_librispeech_subset_and_unknown_layout(tmp_path):
    layout = {"dev-other": {"7": {"11": {"7-11-0000": "hello there"}}}}
    subset = write_librispeech(tmp_path, layout) / "dev-other"
    assert directory_kind(subset) == "librispeech"
    (utterance,) = directory_corpus(subset, cache_dir=tmp_path / "cache").splits["test"]
    assert (utterance.uid, utterance.speaker, utterance.text) == ("7-11-0000", "7", "hello there")
    with pytest.raises(ValueError, match="no audio of a known layout; allowed: an audio file, a Kaldi"):
        directory_kind(tmp_path / "dev-other" / "7")
