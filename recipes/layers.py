"""Small layers both recipes use: frame splicing (with optional subsampling), lengths, clipped ReLU."""

from __future__ import annotations

from typing import Any

import keras
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
class LengthMask(keras.layers.Layer):
    """Boolean ``[B, T]`` mask from per-utterance frame counts, for padded batches."""

    def call(self, frames: Any, lengths: Any) -> Any:
        steps = ops.shape(frames)[1]
        return ops.arange(steps)[None, :] < ops.cast(lengths, "int32")[:, None]

    def compute_output_shape(self, frames_shape: tuple, lengths_shape: tuple) -> tuple:
        return tuple(frames_shape[:2])


def inputs(num_features: int) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The two inputs every recipe takes: padded features and their lengths."""
    features = keras.Input((None, num_features), name="features")
    lengths = keras.Input((), dtype="int32", name="feature_lengths")
    return features, lengths


def front_end(
    num_features: int, context: int, stride: int
) -> tuple[dict[str, keras.KerasTensor], keras.KerasTensor, keras.KerasTensor, keras.KerasTensor]:
    """Inputs, spliced (and subsampled) frames, their lengths and their padding mask.

    Both recipes start the same way; the model's outputs are ``{"logits",
    "logit_lengths"}`` so that CTC and the decoders see the subsampled lengths.
    """
    features, lengths = inputs(num_features)
    frames = Splice(context, stride, name="splice")(features, lengths)
    out_lengths = SubsampledLengths(stride, name="logit_lengths")(lengths)
    mask = LengthMask(name="mask")(frames, out_lengths)
    return {"features": features, "feature_lengths": lengths}, frames, out_lengths, mask
