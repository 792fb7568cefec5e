"""``for_inference``: switch a trained compressed model to its fast inference paths.

Each compressed layer's config gains ``inference: true``; the model is
rebuilt from that config and given the trained weights. Outside training
the layers then multiply through their methods' inference paths (each
method's :meth:`~deepthin.methods.base.WeightMethod.inference_fn`: factors
instead of ``W``, a sparse matrix, or a kernel materialized once where ``W``
has no cheaper form). Because the switch is part of the config and the caches are
rebuilt from the saved compressed parameters on load, the switched model
round-trips through ``model.save()`` / ``keras.models.load_model()`` and its
file is no larger than the trained model's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from deepthin.size import compressed_layers

_COMPRESSED = {"deepthin>CompressedDense", "deepthin>CompressedLSTM"}
#: ``(method, method_options) -> options to override``: another choice of inference path per layer.
OptionOverrides = Callable[[str, dict[str, Any]], dict[str, Any]]


def _mark(config: Any, overrides: OptionOverrides | None = None) -> int:
    """Set ``inference: True`` in every compressed layer's config, at any depth; return how many."""
    count = 0
    if isinstance(config, dict):
        layer = config.get("config")
        if config.get("registered_name") in _COMPRESSED and isinstance(layer, dict):
            layer["inference"] = True
            if overrides is not None:
                options = dict(layer.get("method_options") or {})
                layer["method_options"] = {**options, **overrides(layer["method"], options)}
            count += 1
        for value in config.values():
            count += _mark(value, overrides)
    elif isinstance(config, list | tuple):
        for value in config:
            count += _mark(value, overrides)
    return count


def for_inference(model: keras.Model, overrides: OptionOverrides | None = None) -> keras.Model:
    """A copy of ``model`` whose compressed layers use their inference paths.

    The copy has the same outputs (to float32 rounding) and no optimizer or
    compile state; the original is left unchanged. Layers that are not
    compressed are copied as they are. Retraining the copy is not supported:
    train the original and switch again. ``overrides`` picks other method
    options (an ``inference_path``) per layer: the fastest path in TensorFlow
    is not always the one a graph converter keeps small (:mod:`deepthin.export`).
    """
    config = keras.saving.serialize_keras_object(model)
    _mark(config, overrides)
    switched = keras.saving.deserialize_keras_object(config)
    if not switched.built:
        raise ValueError(
            f"model {model.name!r} could not be rebuilt from its config (is it built?); "
            "allowed: a built Sequential or functional model"
        )
    switched.set_weights(model.get_weights())
    for layer in compressed_layers(switched):
        layer.refresh_inference()
    return switched
