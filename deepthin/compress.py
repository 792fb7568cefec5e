"""``compress``: turn any Sequential or functional Keras model into a compressed one.

The model is cloned with ``keras.models.clone_model``; each selected ``Dense``
becomes a :class:`CompressedDense` and each selected ``LSTM`` (bare or inside
``Bidirectional``) a :class:`CompressedLSTM`, keeping names, widths and
activations. Layers left alone keep their trained weights. Compressed ones
start fresh with ``init="random"`` (the default: trained from scratch, as in
the paper), or with ``init="fit"`` from the trained layer they replace: each
matrix is fitted to its dense kernel by its method (``WeightMethod.fit``), the
biases are copied, so the model can be fine-tuned instead of retrained.
``ratio`` may be one number or one per layer (a budget allocated across
layers, :mod:`deepthin.allocate`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import keras
from keras.src.models.functional import Functional  # no public alias in Keras 3

from deepthin.layers import CompressedDense, CompressedLSTM
from deepthin.methods.registry import get_method
from deepthin.validation import check_choice, check_ratio

#: How compressed layers start: fresh (``random``) or fitted to the trained layer (``fit``).
INITS = ("random", "fit")

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


def _directions(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The layers that hold the weights: both directions of a ``Bidirectional``, else the layer."""
    if isinstance(layer, keras.layers.Bidirectional):
        return [layer.forward_layer, layer.backward_layer]
    return [layer]


def _trained_variables(layer: keras.layers.Layer) -> dict[str, Any]:
    """``kernel``, ``recurrent_kernel`` and ``bias`` of one built Dense or LSTM layer, those it has."""
    holder = layer.cell if isinstance(layer, keras.layers.LSTM) else layer
    names = ("kernel", "recurrent_kernel", "bias")
    return {name: getattr(holder, name) for name in names if getattr(holder, name, None) is not None}


def matrix_shapes(layer: keras.layers.Layer) -> list[tuple[int, int]]:
    """Shapes of the weight matrices ``compress`` compresses in ``layer`` (built and eligible)."""
    return [tuple(v.shape) for d in _directions(layer) for v in _trained_variables(d).values()
            if len(v.shape) == 2]


def _fit_layer(trained: keras.layers.Layer, compressed: keras.layers.Layer) -> None:
    """Fit the built compressed layer (or ``Bidirectional`` of them) to the trained one it replaces."""
    for source, target in zip(_directions(trained), _directions(compressed), strict=True):
        target.fit_weights({name: v.numpy() for name, v in _trained_variables(source).items()})


def _layer_ratios(chosen: set[str], ratio: float | Mapping[str, float]) -> dict[str, float]:
    """Each chosen layer's ratio: the same number for all, or the mapping's (which must cover them)."""
    if not isinstance(ratio, Mapping):
        return dict.fromkeys(chosen, check_ratio(ratio))
    missing = sorted(chosen - set(ratio))
    if missing:
        raise ValueError(f"ratio has no entry for layer(s) {', '.join(missing)}; allowed: a number, "
                         "or a mapping with every compressed layer")
    return {name: check_ratio(ratio[name]) for name in chosen}


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
    ratio: float | Mapping[str, float],
    layers: str | Iterable[str] | None = None,
    init: str = "random",
    **method_options: Any,
) -> keras.Model:
    """A new model whose selected Dense/LSTM layers store their kernels with ``method``.

    Args:
        model: a Sequential or functional Keras model (subclassed models cannot
            be cloned layer by layer and are rejected).
        method: a per-matrix method name (``deepthin.methods.weight_methods()``; the model-level
            ones in ``deepthin.METHODS`` change the architecture and are rejected).
        ratio: stored / original parameters of every compressed matrix, in (0, 1];
            or a mapping from layer name to its ratio (then ``layers=None`` means
            the mapping's layers).
        layers: ``None`` for every eligible layer; a list of layer names (each
            must exist and be Dense, LSTM or Bidirectional(LSTM)); or a regular
            expression matched in full against layer names, selecting among
            the eligible layers.
        init: ``"random"`` (fresh compressed weights) or ``"fit"`` (each matrix
            fitted to the trained kernel it replaces; needs a built model).
        **method_options: passed to the method, e.g. ``policy="aligned"`` (each compressed layer
            keeps them as its ``method_options``).
    """
    get_method(method)
    check_choice("init", init, INITS)
    if layers is None and isinstance(ratio, Mapping):
        layers = list(ratio)
    _check_clonable(model)
    chosen = _select(model, layers)
    ratios = _layer_ratios(chosen, ratio)
    if init == "fit" and not model.built:
        raise ValueError("init='fit' needs a built model with trained weights; allowed: init='random'")

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        if layer.name in chosen:
            return _convert(layer, {"method": method, "ratio": ratios[layer.name],
                                    "method_options": method_options})
        return layer.__class__.from_config(layer.get_config())

    new_model = keras.models.clone_model(model, clone_function=clone)
    if model.built and new_model.built:
        _carry_weights(model, new_model, chosen, fit=init == "fit")
    return new_model


def _check_clonable(model: keras.Model) -> None:
    """Refuse a subclassed model: ``clone_model`` cannot rebuild its layers one by one."""
    if not isinstance(model, keras.Sequential | Functional):
        raise ValueError(
            f"model of type {type(model).__name__} is not supported; allowed: "
            "a Sequential or functional keras.Model"
        )


def _carry_weights(model: keras.Model, new_model: keras.Model, chosen: set[str], fit: bool) -> None:
    """Copy the trained weights of the layers left alone into ``new_model``; with ``fit``, fit each
    compressed layer to the trained layer it replaces (else it keeps its fresh weights)."""
    for layer in model.layers:
        if layer.name not in chosen and layer.weights:
            new_model.get_layer(layer.name).set_weights(layer.get_weights())
        elif layer.name in chosen and fit:
            _fit_layer(layer, new_model.get_layer(layer.name))
