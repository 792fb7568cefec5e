import numpy as np
import pytest

from deepthin.data import (
    SPLITS,
    VOCAB,
    Corpus,
    Example,
    FeatureConfig,
    Utterance,
    compute_features,
    extract_features,
)
from deepthin.data import features as feat_mod

from .conftest import tone, write_audio


@pytest.fixture
def two_speaker_corpus(tmp_path):
    def utt(uid, spk, text, sec, f):
        p = write_audio(tmp_path / "wav" / f"{uid}.wav", sec, freq=f)
        return Utterance(uid=uid, speaker=spk, text=text, audio=str(p), duration=sec)

    return Corpus(
        name="toy",
        splits={
            "train": [utt("a1", "a", "one two", 1.0, 300), utt("b1", "b", "three", 0.5, 900)],
            "dev": [utt("a2", "a", "four", 0.7, 500)],
            "test": [],
        },
    )


def test_config_defaults_and_validation():
    c = FeatureConfig()
    assert (c.kind, c.num_features, c.sample_rate, c.win_ms, c.hop_ms, c.normalize) == (
        "fbank",
        40,
        16000,
        25.0,
        10.0,
        "utterance",
    )
    with pytest.raises(ValueError, match="kind='plp'"):
        FeatureConfig(kind="plp")
    with pytest.raises(ValueError, match="normalize='global'"):
        FeatureConfig(normalize="global")


@pytest.mark.parametrize("kind,dim", [("fbank", 40), ("mfcc", 26), ("fbank", 23)])
def test_shapes(kind, dim):
    f = compute_features(tone(1.0), 16000, FeatureConfig(kind=kind, num_features=dim))
    assert f.shape == (101, dim) and f.dtype == np.float32 and np.isfinite(f).all()


def test_fbank_sees_the_tone_band():
    f = compute_features(tone(1.0, freq=300.0), 16000, FeatureConfig())
    g = compute_features(tone(1.0, freq=4000.0), 16000, FeatureConfig())
    assert f.mean(0).argmax() < g.mean(0).argmax()


def test_resamples_other_rates():
    f = compute_features(tone(1.0, sr=8000), 8000, FeatureConfig())
    assert f.shape == (101, 40)


def test_extract_normalizes_and_labels(two_speaker_corpus, tmp_path):
    out = extract_features(two_speaker_corpus, FeatureConfig(), cache_dir=tmp_path / "c", progress=False)
    assert set(out) == set(SPLITS) and out["test"] == []
    ex = out["train"][0]
    assert isinstance(ex, Example) and ex.uid == "a1" and ex.text == "one two"
    assert ex.features.shape == (101, 40)
    np.testing.assert_array_equal(ex.labels, VOCAB.encode("one two"))
    np.testing.assert_allclose(ex.features.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(ex.features.std(0), 1, atol=1e-2)


def test_speaker_normalization(two_speaker_corpus, tmp_path):
    out = extract_features(
        two_speaker_corpus, FeatureConfig(normalize="speaker"), cache_dir=tmp_path, progress=False
    )
    a = out["train"][0].features
    np.testing.assert_allclose(a.mean(0), 0, atol=1e-4)  # speaker a has one train utterance
    raw = extract_features(
        two_speaker_corpus, FeatureConfig(normalize="none"), cache_dir=tmp_path, progress=False
    )
    assert abs(raw["train"][0].features.mean()) > 1


def test_cached_by_corpus_and_config(two_speaker_corpus, tmp_path, monkeypatch):
    first = extract_features(
        two_speaker_corpus, FeatureConfig(kind="mfcc", num_features=26), cache_dir=tmp_path, progress=False
    )
    monkeypatch.setattr(
        feat_mod, "_features_of", lambda *a: (_ for _ in ()).throw(AssertionError("recomputed"))
    )
    again = extract_features(
        two_speaker_corpus, FeatureConfig(kind="mfcc", num_features=26), cache_dir=tmp_path, progress=False
    )
    for s in SPLITS:
        for x, y in zip(first[s], again[s], strict=True):
            assert (x.uid, x.speaker, x.text) == (y.uid, y.speaker, y.text)
            np.testing.assert_array_equal(x.features, y.features)
            np.testing.assert_array_equal(x.labels, y.labels)
    with pytest.raises(AssertionError, match="recomputed"):  # other config: new features
        extract_features(
            two_speaker_corpus,
            FeatureConfig(kind="mfcc", num_features=13),
            cache_dir=tmp_path,
            progress=False,
        )
    write_audio(tmp_path / "wav" / "a1.wav", 1.2)  # changed audio: new features
    with pytest.raises(AssertionError, match="recomputed"):
        extract_features(
            two_speaker_corpus,
            FeatureConfig(kind="mfcc", num_features=26),
            cache_dir=tmp_path,
            progress=False,
        )


def test_corrupt_audio_names_file(two_speaker_corpus, tmp_path):
    (tmp_path / "wav" / "b1.wav").write_bytes(b"not a wav")
    with pytest.raises(ValueError, match="b1.wav: unreadable audio"):
        extract_features(two_speaker_corpus, FeatureConfig(), cache_dir=tmp_path / "c", progress=False)


def test_tiny_synth_features(tiny_synth, tmp_path):
    corpus, _ = tiny_synth
    out = extract_features(corpus, FeatureConfig(), cache_dir=tmp_path, progress=False)
    for s in SPLITS:
        for u, e in zip(corpus.splits[s], out[s], strict=True):
            assert e.uid == u.uid and abs(len(e.features) - u.duration * 100) <= 2


def test_dither_lifts_digital_silence_off_the_log_floor_deterministically():
    audio = np.concatenate([np.zeros(8000, np.float32), tone(0.5)])
    plain = compute_features(audio, 16000, FeatureConfig())
    dithered = compute_features(audio, 16000, FeatureConfig(dither=1e-4))
    assert plain[:40].min() == pytest.approx(np.log(1e-10))  # silence sits at the floor
    assert np.median(dithered[:40]) > np.log(1e-10) + 3
    np.testing.assert_array_equal(dithered, compute_features(audio, 16000, FeatureConfig(dither=1e-4)))
    np.testing.assert_allclose(dithered[-20:], plain[-20:], atol=0.05)  # speech is left as it was
    with pytest.raises(ValueError, match="dither=-1"):
        FeatureConfig(dither=-1)
