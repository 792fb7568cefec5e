import logging
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from deepthin.data import SPLITS, Corpus
from deepthin.data import synth as synth_mod
from deepthin.data.synth import SynthCorpus, load_words


def test_word_list_is_shipped_and_large():
    words = load_words()
    assert len(words) >= 1000 and len(set(words)) == len(words)
    assert all(re.fullmatch(r"[a-z']+", w) for w in words)


def test_default_has_twenty_plus_voices_and_disjoint_speaker_splits(tmp_path):
    c = SynthCorpus(cache_dir=tmp_path)
    assert len(c.speakers) >= 20
    parts = c.split_speakers()
    assert set(parts["test"]).isdisjoint(parts["train"]) and set(parts["dev"]).isdisjoint(parts["train"])
    assert set(parts["test"]).isdisjoint(parts["dev"]) and len(parts["test"]) == 12


def test_tiny_corpus_content(tiny_synth):
    corpus, cache = tiny_synth
    assert isinstance(corpus, Corpus) and set(corpus.splits) == set(SPLITS)
    words = set(load_words())
    spk = {s: {u.speaker for u in corpus.splits[s]} for s in SPLITS}
    assert spk["test"] and spk["train"] and spk["test"].isdisjoint(spk["train"])
    assert spk["dev"].isdisjoint(spk["train"])
    for s in SPLITS:
        for u in corpus.splits[s]:
            assert 3 <= len(u.text.split()) <= 12 and set(u.text.split()) <= words
            info = sf.info(u.audio)
            assert info.samplerate == 16000 and info.channels == 1
            assert abs(info.frames / 16000 - u.duration) < 1e-6
            assert Path(u.audio).is_relative_to(cache)
    assert corpus.words() == load_words()  # the decoder's lexicon: the whole list, not just the drawn words
    total = corpus.summary().set_index("split").loc["total", "hours"]
    assert 0.006 <= total < 0.006 + 12 / 3600  # stops within one utterance of the target


def test_summary_columns(tiny_synth):
    df = tiny_synth[0].summary()
    assert list(df.columns) == ["split", "utterances", "hours", "speakers", "resampled"]
    assert list(df["split"]) == ["train", "dev", "test", "total"]
    assert df["utterances"].iloc[3] == sum(len(v) for v in tiny_synth[0].splits.values())


def largest_sample_difference(a: str, b: str) -> int:
    """How far apart two wavs are, in PCM-16 steps: tells a rounding flip from different audio."""
    x, y = (sf.read(p, dtype="int32")[0] for p in (a, b))
    return int(np.abs(x - y).max()) if len(x) == len(y) else -1


def test_same_seed_same_corpus_any_worker_count(tiny_synth, tmp_path):
    corpus, _ = tiny_synth
    again = SynthCorpus(hours=0.006, seed=3, cache_dir=tmp_path, num_workers=1, progress=False).load()
    for s in SPLITS:
        a, b = corpus.splits[s], again.splits[s]
        assert [(u.uid, u.speaker, u.text, u.duration) for u in a] == [
            (u.uid, u.speaker, u.text, u.duration) for u in b
        ]
        differ = {
            x.uid: largest_sample_difference(x.audio, y.audio)
            for x, y in zip(a, b, strict=True)
            if Path(x.audio).read_bytes() != Path(y.audio).read_bytes()
        }
        assert not differ, f"audio differs (uid: largest sample difference): {differ}"
    other = SynthCorpus(hours=0.006, seed=4, cache_dir=tmp_path, progress=False).load()
    assert [u.text for u in other.splits["train"]] != [u.text for u in again.splits["train"]]


def test_cache_reused_and_new_config_new_cache(tiny_synth, monkeypatch):
    corpus, cache = tiny_synth

    def boom(*a, **k):
        raise AssertionError("regenerated although cached")

    monkeypatch.setattr(synth_mod, "render", boom)
    again = SynthCorpus(hours=0.006, seed=3, cache_dir=cache, progress=False).load()
    assert again.splits == corpus.splits
    with pytest.raises(AssertionError, match="regenerated"):
        SynthCorpus(hours=0.007, seed=3, cache_dir=cache, progress=False).load()
    assert (
        SynthCorpus(hours=0.007, seed=3, cache_dir=cache).directory
        != SynthCorpus(hours=0.006, seed=3, cache_dir=cache).directory
    )
    assert not list((cache / "synth").glob(".*"))  # failed generation left no partial directory


def test_cache_with_missing_files_is_rebuilt(tmp_path, caplog):
    c = SynthCorpus(hours=0.002, seed=1, cache_dir=tmp_path, progress=False)
    first = c.load()
    Path(first.splits["train"][0].audio).unlink()
    with caplog.at_level(logging.WARNING, logger="deepthin.data"):
        second = c.load()
    assert "regenerating" in caplog.text and Path(second.splits["train"][0].audio).is_file()


def test_missing_espeak_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(synth_mod.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install espeak-ng"):
        SynthCorpus(hours=0.001, cache_dir=tmp_path, progress=False).load()


def test_bad_config_values(tmp_path):
    with pytest.raises(ValueError, match="hours"):
        SynthCorpus(hours=0, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="dev_voices"):
        SynthCorpus(dev_voices=50, test_voices=50, cache_dir=tmp_path)
