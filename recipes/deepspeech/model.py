"""DeepSpeech: spliced MFCCs -> 3 clipped-ReLU dense layers -> LSTM -> dense -> logits.

``bidirectional=True`` is v0.1 (the version of the paper's time; its layer 4
is a BiLSTM whose concatenated output is ``2 n_hidden`` wide);
``bidirectional=False`` is the unidirectional form of v0.2 and later.
Compressed by default (``compressed_layers`` of ``conf/model/deepspeech.yaml``): the hidden
weight matrices of ``dense_1``..``dense_3``, the LSTM (input and recurrent kernels) and
``dense_5``; not the logits.
``stride > 1`` runs everything above the splice at a lower frame rate
(our deviation from DeepSpeech, which runs at 100 frames per second).
"""

from __future__ import annotations

import keras

from recipes.layers import clipped_relu, front_end


def build_model(
    num_features: int = 26,
    vocab_size: int = 29,
    context: int = 9,
    stride: int = 1,
    n_hidden: int = 256,
    bidirectional: bool = True,
    dropout: float = 0.05,
    spec_augment: dict[str, int] | None = None,
    width: int | None = None,
) -> keras.Model:
    """Uncompressed model; ``width`` overrides ``n_hidden`` (the hand-tuned baseline)."""
    units = width or n_hidden
    inputs, x, lengths, mask = front_end(num_features, context, stride, spec_augment)
    for i in (1, 2, 3):
        x = keras.layers.Dense(units, activation=clipped_relu, name=f"dense_{i}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    if bidirectional:
        rnn = keras.layers.Bidirectional(
            keras.layers.LSTM(units, return_sequences=True, name="lstm"), name="lstm"
        )
    else:
        rnn = keras.layers.LSTM(units, return_sequences=True, name="lstm")
    x = rnn(x, mask=mask)
    x = keras.layers.Dense(units, activation=clipped_relu, name="dense_5")(x)
    x = keras.layers.Dropout(dropout, name="dropout_5")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(inputs, {"logits": logits, "logit_lengths": lengths}, name="deepspeech")
