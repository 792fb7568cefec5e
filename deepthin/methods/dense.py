"""``dense``: the uncompressed baseline, a plain ``m x n`` kernel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from deepthin.methods.base import WeightMethod
from deepthin.methods.registry import register


@register
class DenseMethod(WeightMethod):
    """Stores every entry; the ratio is accepted (so sweeps are uniform) but ignored."""

    name = "dense"
    target_ratio = 1.0

    @classmethod
    def variants(cls) -> dict[str, dict[str, Any]]:
        """None: the baseline every variant is compared with is not one of them."""
        return {}

    def create_variables(self, layer: keras.layers.Layer, prefix: str) -> list[keras.Variable]:
        init = keras.initializers.GlorotUniform(seed=self._next_seed())
        self.w = layer.add_weight(name=prefix, shape=self.shape, initializer=init)
        return [self.w]

    def kernel(self, training: bool = False) -> Any:
        return self.w

    def fit(self, dense_kernel: np.ndarray) -> list[np.ndarray]:
        """The kernel itself: the baseline stores it whole."""
        return [dense_kernel]

    def inference_state(self) -> dict[str, Any]:
        return {}  # the variable already is the kernel: a copy would only double memory

    def inference_fn(self) -> Callable[[Any], Any]:
        return self.matmul_fn(False)
