"""The recipes' front end: splicing within each utterance, subsampled lengths, masked normalization."""

import keras
import numpy as np
import pytest

from recipes.layers import LengthMask, PackFrames, SpecAugment, Splice, SubsampledLengths, UnpackFrames
from recipes.presets import build
from recipes.tfkaldi.model import build_model


def _utterance(steps: int, dim: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(steps, dim)).astype("float32")


def _padded(utterances: list[np.ndarray], steps: int) -> tuple[np.ndarray, np.ndarray]:
    batch = np.zeros((len(utterances), steps, utterances[0].shape[1]), "float32")
    for i, u in enumerate(utterances):
        batch[i, : len(u)] = u
    return batch, np.array([len(u) for u in utterances], "int32")


@pytest.mark.parametrize("stride", [1, 3])
def test_splice_repeats_each_utterances_own_edge_frames_whatever_the_padding(stride):
    short, long = _utterance(5), _utterance(11, seed=1)
    splice = Splice(context=2, stride=stride)
    alone = np.asarray(splice(*_padded([short], 5)))
    batched = np.asarray(splice(*_padded([short, long], 11)))
    kept = -(-5 // stride)
    np.testing.assert_allclose(batched[0, :kept], alone[0])
    # the last kept frame's right context is the utterance's last frame, repeated
    last = (kept - 1) * stride
    expected = np.concatenate([short[min(max(last + k, 0), 4)] for k in range(-2, 3)])
    np.testing.assert_allclose(alone[0, -1], expected)


def test_splice_keeps_every_stride_th_frame_and_lengths_round_up():
    frames, lengths = _padded([_utterance(7), _utterance(3, seed=2)], 7)
    out = np.asarray(Splice(context=0, stride=3)(frames, lengths))
    assert out.shape == (2, 3, 3)
    np.testing.assert_allclose(out[0], frames[0, [0, 3, 6]])
    np.testing.assert_array_equal(np.asarray(SubsampledLengths(3)(lengths)), [3, 1])


def test_masked_batch_norm_leaves_real_frames_unchanged_when_padding_is_added():
    model = build("tfkaldi", "tiny", vocab_size=5)
    utterances = [_utterance(30, 40, seed=s) for s in range(3)]
    tight = _padded(utterances, 30)
    loose = _padded(utterances, 90)  # two thirds of every row is padding
    outputs = [model({"features": f, "feature_lengths": n}, training=True) for f, n in (tight, loose)]
    lengths = np.asarray(outputs[0]["logit_lengths"])
    np.testing.assert_array_equal(lengths, np.asarray(outputs[1]["logit_lengths"]))
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(np.asarray(outputs[1]["logits"])[i, :n],
                                   np.asarray(outputs[0]["logits"])[i, :n], rtol=1e-4, atol=1e-4)
    keras.backend.clear_session()


def test_pack_frames_keeps_valid_frames_in_order_and_unpack_puts_them_back_with_zero_padding():
    frames, lengths = _padded([_utterance(4), _utterance(2, seed=1), _utterance(3, seed=2)], 4)
    valid = LengthMask()(frames, lengths)
    packed = np.asarray(PackFrames()(frames, valid))
    np.testing.assert_allclose(packed, np.concatenate([frames[0, :4], frames[1, :2], frames[2, :3]]))
    unpacked = np.asarray(UnpackFrames()(packed, valid))
    np.testing.assert_allclose(unpacked, frames)  # _padded pads with zeros


@pytest.mark.parametrize("training", [False, True])
def test_frame_packing_gives_the_masked_models_logits_on_every_valid_frame(training):
    """Packed and masked TFKaldi, same weights: the same logits wherever CTC reads them, batch norm too."""
    kwargs = dict(num_features=40, vocab_size=5, context=3, stride=3, hidden_layers=2, hidden_units=16)
    masked, packed = build_model(frame_packing=False, **kwargs), build_model(frame_packing=True, **kwargs)
    packed.set_weights(masked.get_weights())
    x = _padded([_utterance(s, 40, seed=s) for s in (45, 20, 7)], 45)
    outputs = [m({"features": x[0], "feature_lengths": x[1]}, training=training) for m in (masked, packed)]
    lengths = np.asarray(outputs[0]["logit_lengths"])
    assert [o["logits"].shape for o in outputs][0] == outputs[1]["logits"].shape
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(np.asarray(outputs[1]["logits"])[i, :n],
                                   np.asarray(outputs[0]["logits"])[i, :n], rtol=1e-4, atol=1e-5)
    keras.backend.clear_session()


def test_spec_augment_masks_whole_bands_and_spans_within_each_utterance_only_in_training():
    frames, lengths = _padded([_utterance(80, dim=20), _utterance(30, dim=20, seed=1)], steps=80)
    frames = (frames + 10.0 * (frames != 0)).astype("float32")  # no real value is 0 by chance
    layer = SpecAugment(freq_masks=2, freq_width=5, time_masks=2, time_width=10, seed=0)
    np.testing.assert_array_equal(np.asarray(layer(frames, lengths, training=False)), frames)
    masked = np.asarray(layer(frames, lengths, training=True)) == 0
    for i, length in enumerate(lengths):
        real = masked[i, :length]
        bands, spans = real.all(axis=0), real.all(axis=1)
        assert np.array_equal(real, bands[None, :] | spans[:, None])  # nothing but whole bands and spans
        assert 0 < bands.sum() <= 2 * 5 and spans.sum() <= 2 * min(10, length // 5)
    assert masked[0, :80].all(axis=1).sum() > 0  # an 80-frame utterance gets a time mask


def test_a_recipe_with_spec_augment_saves_and_loads(tmp_path):
    masks = {"freq_masks": 1, "freq_width": 3, "time_masks": 1, "time_width": 4}
    model = build("tfkaldi", "tiny", spec_augment=masks)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.get_layer("spec_augment").get_config() == model.get_layer("spec_augment").get_config()
