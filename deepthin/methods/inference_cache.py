"""The inference cache of a weight method: what its inference path precomputes, kept out of its files.

What a method's inference path precomputes from its trained variables (a materialized kernel,
re-laid-out factors, a sparse index) lives here: untracked, non-trainable ``tf.Variable`` s that are
never saved (files keep the compressed parameters only), filled by :meth:`InferenceCache.refresh_inference`
once after the weights are final. Compiled functions read the cache variables, so a refresh after
loading new weights is seen by functions traced before it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import tensorflow as tf


class InferenceCache:
    """Holds the tensors of :meth:`inference_state` as variables; mixed into ``WeightMethod``."""

    #: Inference-cache entries whose size may change between refreshes (e.g. a sparse index).
    dynamic_cache_keys: ClassVar[frozenset[str]] = frozenset()

    def inference_state(self) -> dict[str, Any]:
        """Tensors the inference path precomputes from the current variables."""
        raise NotImplementedError

    def refresh_inference(self) -> None:
        """(Re)compute the inference cache from the variables; call after they change."""
        with tf.init_scope():  # eager, even when first needed while a function is traced
            state = {key: tf.convert_to_tensor(value) for key, value in self.inference_state().items()}
            cache = getattr(self, "_inference_cache", None)
            if cache is None or set(cache) != set(state) or any(
                not cache[k].shape.is_compatible_with(v.shape) for k, v in state.items()
            ):
                self._inference_cache = {
                    key: tf.Variable(
                        value, trainable=False,
                        shape=tf.TensorShape(None) if key in self.dynamic_cache_keys else value.shape,
                    )
                    for key, value in state.items()
                }
            else:
                for key, value in state.items():
                    cache[key].assign(value)

    def cached(self, key: str) -> Any:
        """Cache entry ``key``, filling the cache first if it was never filled."""
        if getattr(self, "_inference_cache", None) is None:
            self.refresh_inference()
        return self._inference_cache[key]

    def inference_variables(self) -> list[tf.Variable]:
        """The cache's variables (none before it is filled): what a graph of the inference path reads,
        and what an exporter must track, since the layer does not."""
        return list((getattr(self, "_inference_cache", None) or {}).values())

    def drop_inference_cache(self) -> None:
        """Free the cache; the next :meth:`cached` rebuilds it."""
        self._inference_cache = None
