"""Small layers both recipes use: frame splicing (with optional subsampling), lengths, clipped ReLU."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import ops


def subsampled_lengths(lengths: Any, stride: int) -> Any:
    """Frames left after keeping every ``stride``-th one: ``ceil(lengths / stride)``."""
    return (ops.cast(lengths, "int32") + stride - 1) // stride


@keras.saving.register_keras_serializable(package="recipes")
class Splice(keras.layers.Layer):
    """Each kept frame concatenated with its ``context`` neighbours on both sides.

    ``[B, T, F] -> [B, ceil(T / stride), (2 context + 1) F]``. Edges repeat the
    utterance's *own* first/last frame, as Kaldi's ``splice-feats`` does: with
    padded batches, repeating the batch's last row would give every utterance
    shorter than the longest zeros as right context, and make its output depend
    on which utterances share its batch. ``stride > 1`` keeps every
    ``stride``-th spliced frame (a low-frame-rate model, as Kaldi "chain" and
    low-frame-rate CTC systems use): CTC then needs fewer steps to leave its
    all-blank plateau and every layer above does ``stride`` times less work.
    Splicing in the model (not the data pipeline) keeps the cached features
    shared by both recipes.
    """

    def __init__(self, context: int, stride: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if context < 0 or stride < 1:
            raise ValueError(f"Splice context={context}, stride={stride}; allowed: context >= 0, stride >= 1")
        self.context, self.stride = int(context), int(stride)

    def call(self, frames: Any, lengths: Any) -> Any:
        batch, steps, dim = ops.shape(frames)[0], ops.shape(frames)[1], frames.shape[-1]
        kept = subsampled_lengths(steps, self.stride)
        centres = ops.arange(kept, dtype="int32") * self.stride
        offsets = ops.arange(-self.context, self.context + 1, dtype="int32")
        last = ops.maximum(ops.cast(lengths, "int32") - 1, 0)[:, None, None]
        within = ops.minimum(ops.maximum((centres[:, None] + offsets[None, :])[None], 0), last)
        rows = within + ops.arange(batch, dtype="int32")[:, None, None] * steps  # [B, T', 2c+1]
        spliced = ops.take(ops.reshape(frames, (-1, dim)), ops.reshape(rows, (-1,)), axis=0)
        return ops.reshape(spliced, (batch, kept, (2 * self.context + 1) * dim))

    def compute_output_shape(self, frames_shape: tuple, lengths_shape: tuple) -> tuple:
        steps = frames_shape[1]
        kept = None if steps is None else -(-steps // self.stride)
        return (frames_shape[0], kept, frames_shape[2] * (2 * self.context + 1))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "context": self.context, "stride": self.stride}


@keras.saving.register_keras_serializable(package="recipes")
class SubsampledLengths(keras.layers.Layer):
    """The lengths of :class:`Splice`'s output, which CTC and the decoders need."""

    def __init__(self, stride: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stride = int(stride)

    def call(self, lengths: Any) -> Any:
        return subsampled_lengths(lengths, self.stride)

    def compute_output_shape(self, lengths_shape: tuple) -> tuple:
        return tuple(lengths_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stride": self.stride}


@keras.saving.register_keras_serializable(package="recipes")
def clipped_relu(x: Any) -> Any:
    """DeepSpeech's activation: ReLU clipped at 20, which keeps LSTM inputs bounded."""
    return ops.clip(x, 0.0, 20.0)


@keras.saving.register_keras_serializable(package="recipes")
class SpecAugment(keras.layers.Layer):
    """Zero random frequency bands and time spans of each training utterance (SpecAugment's masks).

    Why: the synth corpus tests on voices never heard in training, and with
    about an hour of audio the models learn the training voices long before
    the test error stops falling (``recipes/deepspeech/README.md``). Masking
    bands and spans (Park et al., 2019; no time warping) is the regularizer
    small speech corpora are trained with. Features are normalized per
    utterance, so 0 is each band's mean. Time spans are at most a fifth of
    the utterance's own length and never touch padding; outside training the
    layer is the identity.
    """

    def __init__(
        self, freq_masks: int = 2, freq_width: int = 4, time_masks: int = 2, time_width: int = 10,
        seed: int | None = None, **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if min(freq_masks, freq_width, time_masks, time_width) < 0:
            raise ValueError("SpecAugment mask counts and widths must be >= 0")
        self.freq_masks, self.freq_width = int(freq_masks), int(freq_width)
        self.time_masks, self.time_width = int(time_masks), int(time_width)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _spans(self, batch: Any, count: int, width: Any, extent: Any, size: Any) -> Any:
        """``[batch, size]``: True inside ``count`` random spans of up to ``width`` within ``extent``."""
        shape = (batch, count)
        widths = ops.floor(keras.random.uniform(shape, seed=self.seed_generator) * (width + 1))
        room = ops.maximum(extent - widths, 0.0)
        starts = ops.floor(keras.random.uniform(shape, seed=self.seed_generator) * (room + 1))
        positions = ops.cast(ops.arange(size), "float32")[None, None, :]
        inside = (positions >= starts[..., None]) & (positions < (starts + widths)[..., None])
        return ops.any(inside, axis=1)

    def call(self, frames: Any, lengths: Any, training: bool | None = None) -> Any:
        if not training or (self.freq_masks == 0 and self.time_masks == 0):
            return frames
        batch, steps, dim = ops.shape(frames)[0], ops.shape(frames)[1], frames.shape[-1]
        real = ops.cast(lengths, "float32")[:, None]
        bands = self._spans(batch, self.freq_masks, float(self.freq_width), float(dim), dim)
        widest = ops.minimum(float(self.time_width), real // 5)
        spans = self._spans(batch, self.time_masks, widest, real, steps)
        keep = ops.logical_not(bands[:, None, :] | spans[:, :, None])
        return frames * ops.cast(keep, frames.dtype)

    def compute_output_shape(self, frames_shape: tuple, lengths_shape: tuple) -> tuple:
        return tuple(frames_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "freq_masks": self.freq_masks, "freq_width": self.freq_width,
            "time_masks": self.time_masks, "time_width": self.time_width, "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="recipes")
class LengthMask(keras.layers.Layer):
    """Boolean ``[B, T]`` mask from per-utterance frame counts, for padded batches."""

    def call(self, frames: Any, lengths: Any) -> Any:
        steps = ops.shape(frames)[1]
        return ops.arange(steps)[None, :] < ops.cast(lengths, "int32")[:, None]

    def compute_output_shape(self, frames_shape: tuple, lengths_shape: tuple) -> tuple:
        return tuple(frames_shape[:2])


def _valid_rows(valid: Any) -> Any:
    """Row numbers of the valid frames in the ``[B * T]`` flattening of a ``[B, T]`` mask, in order.

    ``tf.where`` rather than ``keras.ops.nonzero``: the latter unstacks int64
    indices, an op LiteRT's converter cannot lower (``deepthin-export``).
    """
    return tf.reshape(tf.where(tf.reshape(tf.cast(valid, "bool"), (-1,))), (-1,))


@keras.saving.register_keras_serializable(package="recipes")
class PackFrames(keras.layers.Layer):
    """``[B, T, D]`` padded frames -> ``[N, D]``, the ``N`` valid ones (issue 29's frame packing).

    Why: a frame-level network (TFKaldi's MLP) treats frames independently, so
    running it on the valid frames only gives the same outputs for them while
    spending no work on padding (about half of an FSDD batch), and batch norm
    over the packed matrix is Keras' plain one: the statistics a masked batch
    norm computes, without its per-element weighting, the larger part of a
    compressed model's step (``recipes/tfkaldi/README.md``).
    """

    def call(self, frames: Any, valid: Any) -> Any:
        return ops.take(ops.reshape(frames, (-1, frames.shape[-1])), _valid_rows(valid), axis=0)

    def compute_output_shape(self, frames_shape: tuple, valid_shape: tuple) -> tuple:
        return (None, frames_shape[-1])


@keras.saving.register_keras_serializable(package="recipes")
class UnpackFrames(keras.layers.Layer):
    """The inverse of :class:`PackFrames`: ``[N, D]`` back to ``[B, T, D]``, zeros at the padding.

    CTC and the decoders read each utterance's first ``length`` steps only, so
    the zeros at the padding are never read.
    """

    def call(self, packed: Any, valid: Any) -> Any:
        batch, steps, dim = ops.shape(valid)[0], ops.shape(valid)[1], packed.shape[-1]
        rows = ops.cast(_valid_rows(valid), "int32")[:, None]
        return ops.reshape(ops.scatter(rows, packed, (batch * steps, dim)), (batch, steps, dim))

    def compute_output_shape(self, packed_shape: tuple, valid_shape: tuple) -> tuple:
        return (*valid_shape[:2], packed_shape[-1])


def inputs(num_features: int) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The two inputs every recipe takes: padded features and their lengths."""
    features = keras.Input((None, num_features), name="features")
    lengths = keras.Input((), dtype="int32", name="feature_lengths")
    return features, lengths


def front_end(
    num_features: int, context: int, stride: int, spec_augment: dict[str, int] | None = None
) -> tuple[dict[str, keras.KerasTensor], keras.KerasTensor, keras.KerasTensor, keras.KerasTensor]:
    """Inputs, spliced (and subsampled) frames, their lengths and their padding mask.

    Both recipes start the same way; the model's outputs are ``{"logits",
    "logit_lengths"}`` so that CTC and the decoders see the subsampled lengths.
    ``spec_augment`` (the :class:`SpecAugment` arguments) masks the features
    before splicing, so that a masked span is masked in every frame that sees it.
    """
    features, lengths = inputs(num_features)
    frames = features
    if spec_augment:
        frames = SpecAugment(**spec_augment, name="spec_augment")(frames, lengths)
    frames = Splice(context, stride, name="splice")(frames, lengths)
    out_lengths = SubsampledLengths(stride, name="logit_lengths")(lengths)
    mask = LengthMask(name="mask")(frames, out_lengths)
    return {"features": features, "feature_lengths": lengths}, frames, out_lengths, mask
