"""The TFKaldi DNN: spliced log-mel frames -> fully connected ReLU stack -> softmax.

Layer names are stable (``hidden_1`` .. ``hidden_N``, ``logits``) because
compression selects layers by name: the paper compresses the hidden weight
matrices (440x2048 and five 2048x2048 in the paper preset), the pattern
``compressed_layers`` of ``conf/model/tfkaldi.yaml``.

BatchNormalization takes the padding mask: FSDD batches are about half
padding, and statistics averaged over padded frames (where the bias-free
``hidden_1`` outputs exactly 0) are not the statistics the model sees on
real speech; that mismatch kept every run on CTC's all-blank plateau
(``recipes/tfkaldi/README.md``). With ``frame_packing`` (the default) the
MLP runs on the valid frames only (:class:`~recipes.layers.PackFrames`), so
batch norm sees real frames without a mask and no work is spent on padding.
"""

from __future__ import annotations

import keras

from recipes.layers import PackFrames, UnpackFrames, front_end


def build_model(
    num_features: int = 40,
    vocab_size: int = 29,
    context: int = 5,
    stride: int = 1,
    hidden_layers: int = 4,
    hidden_units: int = 512,
    batch_norm: bool = True,
    batch_norm_momentum: float = 0.9,
    batch_norm_mask: bool = True,
    frame_packing: bool = True,
    dropout: float = 0.0,
    spec_augment: dict[str, int] | None = None,
    width: int | None = None,
) -> keras.Model:
    """Uncompressed model; ``width`` overrides ``hidden_units`` (the hand-tuned baseline)."""
    units = width or hidden_units
    inputs, x, lengths, mask = front_end(num_features, context, stride, spec_augment)
    if frame_packing:
        x = PackFrames(name="pack_frames")(x, mask)
    bn_mask = mask if batch_norm_mask and not frame_packing else None
    for i in range(1, hidden_layers + 1):
        x = keras.layers.Dense(units, use_bias=not batch_norm, name=f"hidden_{i}")(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(momentum=batch_norm_momentum, name=f"batch_norm_{i}")(
                x, mask=bn_mask
            )
        x = keras.layers.ReLU(name=f"relu_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    if frame_packing:
        logits = UnpackFrames(name="unpack_frames")(logits, mask)
    return keras.Model(inputs, {"logits": logits, "logit_lengths": lengths}, name="tfkaldi")
