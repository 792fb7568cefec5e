"""Small layers both recipes use: frame splicing and the clipped ReLU."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="recipes")
class Splice(keras.layers.Layer):
    """Concatenate each frame with its ``context`` neighbours on both sides.

    ``[B, T, F] -> [B, T, (2 context + 1) F]``; edges repeat the first/last
    frame, as Kaldi's ``splice-feats`` does. Doing it in the model (not the
    data pipeline) keeps the cached features shared by both recipes.
    """

    def __init__(self, context: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context = int(context)

    def call(self, frames: Any) -> Any:
        if self.context == 0:
            return frames
        first = ops.repeat(frames[:, :1], self.context, axis=1)
        last = ops.repeat(frames[:, -1:], self.context, axis=1)
        padded = ops.concatenate([first, frames, last], axis=1)
        steps = ops.shape(frames)[1]
        shifted = [padded[:, k : k + steps] for k in range(2 * self.context + 1)]
        return ops.concatenate(shifted, axis=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:2], input_shape[2] * (2 * self.context + 1))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "context": self.context}


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
