"""``compress``: turn any Sequential or functional Keras model into a compressed one.

The model is cloned with ``keras.models.clone_model``; each selected ``Dense``
becomes a :class:`CompressedDense` and each selected ``LSTM`` (bare or inside
``Bidirectional``) a :class:`CompressedLSTM`, keeping names, widths and
activations. Layers left alone keep their trained weights; compressed ones
start fresh (compressed models are trained from scratch, as in the paper).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import keras
from keras.src.models.functional import Functional  # no public alias in Keras 3

from deepthin.layers import CompressedDense, CompressedLSTM
from deepthin.methods.registry import get_method
from deepthin.validation import check_ratio

_COMMON_KEYS = ("units", "activation", "use_bias", "name", "dtype", "trainable")
_DENSE_KEYS = _COMMON_KEYS + ("bias_initializer",)
_LSTM_KEYS = _COMMON_KEYS + (
    "recurrent_activation", "unit_forget_bias", "return_sequences", "return_state", "go_backwards",
)
_LSTM_UNSUPPORTED = {"dropout": 0.0, "recurrent_dropout": 0.0, "stateful": False}


def _is_lstm(layer: keras.layers.Layer) -> bool:
    if isinstance(layer, keras.layers.Bidirectional):
        return isinstance(layer.forward_layer, keras.layers.LSTM)
    return isinstance(layer, keras.layers.LSTM)


def eligible(layer: keras.layers.Layer) -> bool:
    """Whether ``compress`` knows how to compress ``layer``."""
    return type(layer) is keras.layers.Dense or _is_lstm(layer)


def _select(model: keras.Model, layers: str | Iterable[str] | None) -> set[str]:
    """Names of the layers to compress, validated against the model."""
    by_name = {layer.name: layer for layer in model.layers}
    if layers is None:
        chosen = {name for name, layer in by_name.items() if eligible(layer)}
    elif isinstance(layers, str):
        pattern = re.compile(layers)
        chosen = {n for n, layer in by_name.items() if pattern.fullmatch(n) and eligible(layer)}
        if not chosen:
            raise ValueError(
                f"layers={layers!r} matches no Dense or LSTM layer; allowed names: "
                f"{', '.join(n for n, layer in by_name.items() if eligible(layer)) or '(none)'}"
            )
    else:
        chosen = set(layers)
        for name in sorted(chosen):
            if name not in by_name:
                raise ValueError(f"layer {name!r} is not in the model; layers: {', '.join(by_name)}")
            if not eligible(by_name[name]):
                raise ValueError(
                    f"layer {name!r} of type {type(by_name[name]).__name__} cannot be compressed; "
                    "allowed: Dense, LSTM, Bidirectional(LSTM)"
                )
    return chosen


def _pick(config: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {k: config[k] for k in keys if k in config}


def _compressed_lstm(lstm: keras.layers.LSTM, **compression: Any) -> CompressedLSTM:
    config = lstm.get_config()
    config["name"] = config["name"].removeprefix("forward_")  # Bidirectional adds it back
    for key, default in _LSTM_UNSUPPORTED.items():
        if config.get(key, default) != default:
            raise ValueError(
                f"LSTM layer {lstm.name!r} has {key}={config[key]!r}, which CompressedLSTM does "
                f"not support; allowed: {key}={default!r}"
            )
    return CompressedLSTM(**_pick(config, _LSTM_KEYS), **compression)


def _convert(layer: keras.layers.Layer, compression: dict[str, Any]) -> keras.layers.Layer:
    if isinstance(layer, keras.layers.Bidirectional):
        return keras.layers.Bidirectional(
            _compressed_lstm(layer.forward_layer, **compression),
            merge_mode=layer.merge_mode, name=layer.name,
        )
    if isinstance(layer, keras.layers.LSTM):
        return _compressed_lstm(layer, **compression)
    return CompressedDense(**_pick(layer.get_config(), _DENSE_KEYS), **compression)


def compress(
    model: keras.Model,
    method: str,
    ratio: float,
    layers: str | Iterable[str] | None = None,
    **method_options: Any,
) -> keras.Model:
    """A new model whose selected Dense/LSTM layers store their kernels with ``method``.

    Args:
        model: a Sequential or functional Keras model (subclassed models cannot
            be cloned layer by layer and are rejected).
        method: a per-matrix method name (``deepthin.METHODS`` less ``handtuned``).
        ratio: stored / original parameters of every compressed matrix, in (0, 1].
        layers: ``None`` for every eligible layer; a list of layer names (each
            must exist and be Dense, LSTM or Bidirectional(LSTM)); or a regular
            expression matched in full against layer names, selecting among
            the eligible layers.
        **method_options: passed to the method, e.g. ``policy="aligned"``.
    """
    get_method(method)
    ratio = check_ratio(ratio)
    if not isinstance(model, keras.Sequential | Functional):
        raise ValueError(
            f"model of type {type(model).__name__} is not supported; allowed: "
            "a Sequential or functional keras.Model"
        )
    chosen = _select(model, layers)
    compression = {"method": method, "ratio": ratio, **method_options}

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        if layer.name in chosen:
            return _convert(layer, compression)
        return layer.__class__.from_config(layer.get_config())

    new_model = keras.models.clone_model(model, clone_function=clone)
    if model.built and new_model.built:
        for layer in model.layers:
            if layer.name not in chosen and layer.weights:
                new_model.get_layer(layer.name).set_weights(layer.get_weights())
    return new_model
