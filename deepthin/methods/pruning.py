"""``pruning``: gradual magnitude pruning (Zhu & Gupta 2017, "To prune or not to prune").

The kernel is ``W * mask`` with a non-trainable 0/1 mask. At training step
``t`` the target sparsity is ``s(t) = s_f + (s_i - s_f) (1 - p)^3`` with
``p = clip((t - begin_step) / (end_step - begin_step), 0, 1)`` and
``s_f = 1 - ratio``. The mask is recomputed when ``begin_step <= t <= end_step``
and ``(t - begin_step) % frequency == 0``, as TensorFlow Model Optimization's
``PolynomialDecay`` does, and additionally at ``t = end_step`` so the final
sparsity is reached exactly. After ``end_step`` the mask is frozen.

Implemented natively for Keras 3 (TFMOT only supports legacy Keras 2). The
step counter and mask update live in the layer's training-mode forward pass,
so any training loop prunes correctly without a callback: ``step`` counts the
layer's training-mode calls (0-based), i.e. training steps when each layer is
applied once per step. The new mask keeps the ``k`` largest magnitudes of
the *masked* kernel (``top_k``, exact count), so a pruned weight, being zero,
is never revived.

Storage: ``stored_params`` counts the mask's nonzeros; with index overhead a
CSR layout adds one 32-bit column index per nonzero and ``m + 1`` row
pointers. Saved files hold only the surviving values and their flat indices.

Inference paths (``inference_path=``, for layers switched with
:func:`deepthin.for_inference`): ``masked`` multiplies by ``W * mask``
materialized once (a dense matmul, no faster than the dense layer);
``sparse`` keeps the surviving weights of ``W^T`` as a ``tf.SparseTensor``
built once and runs ``tf.sparse.sparse_dense_matmul`` (work proportional to
the nonzeros, with sparse-kernel overhead per nonzero). ``deepthin-bench``
reports both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from deepthin.methods.base import WeightMethod
from deepthin.methods.registry import register
from deepthin.validation import check_choice

INFERENCE_PATHS = ("sparse", "masked")


def polynomial_sparsity(
    step: Any, begin_step: int, end_step: int, final: float, initial: float = 0.0, power: int = 3
) -> Any:
    """Zhu & Gupta's ``s(t)``; works on Python numbers and on tensors."""
    progress = ops.clip((ops.cast(step, "float32") - begin_step) / (end_step - begin_step), 0, 1)
    return final + (initial - final) * (1.0 - progress) ** power


@register
class PruningMethod(WeightMethod):
    """A full kernel and a magnitude mask tightened on a polynomial schedule."""

    name = "pruning"
    option_defaults = {
        "begin_step": 0, "end_step": 1000, "frequency": 100, "initial_sparsity": 0.0,
        "inference_path": "sparse",
    }
    dynamic_cache_keys = frozenset({"indices", "values"})  # the nonzero count changes on load

    def __init__(self, shape: tuple[int, int], ratio: float, **options: Any) -> None:
        super().__init__(shape, ratio, **options)
        begin, end, freq = (int(self.options[k]) for k in ("begin_step", "end_step", "frequency"))
        if not 0 <= begin < end or freq < 1:
            raise ValueError(
                f"pruning schedule begin_step={begin}, end_step={end}, frequency={freq} is "
                "invalid; allowed: 0 <= begin_step < end_step and frequency >= 1"
            )
        check_choice("pruning inference_path", self.options["inference_path"], INFERENCE_PATHS)
        self.final_sparsity = 1.0 - self.ratio
        self.planned_params = self.keep_count(self.final_sparsity)

    def keep_count(self, sparsity: float) -> int:
        """Weights kept at ``sparsity`` (at least one)."""
        return max(1, round((1.0 - sparsity) * self.original_params))

    def create_variables(self, layer: keras.layers.Layer, prefix: str) -> list[keras.Variable]:
        init = keras.initializers.GlorotUniform(seed=self._next_seed())
        self.w = layer.add_weight(name=prefix, shape=self.shape, initializer=init)
        self.mask = layer.add_weight(
            name=f"{prefix}_mask", shape=self.shape, initializer="ones", trainable=False
        )
        self.step = layer.add_weight(
            name=f"{prefix}_step", shape=(), initializer=keras.initializers.Constant(-1),
            dtype="int64", trainable=False,
        )
        return [self.w, self.mask, self.step]

    # ----------------------------------------------------------- schedule
    def sparsity_at(self, step: Any) -> Any:
        o = self.options
        return polynomial_sparsity(
            step, o["begin_step"], o["end_step"], self.final_sparsity, o["initial_sparsity"]
        )

    def _mask_due(self, step: Any) -> Any:
        begin, end, freq = (int(self.options[k]) for k in ("begin_step", "end_step", "frequency"))
        in_range = ops.logical_and(step >= begin, step <= end)
        on_turn = ops.logical_or(ops.equal((step - begin) % freq, 0), ops.equal(step, end))
        return ops.logical_and(in_range, on_turn)

    def _magnitude_mask(self, step: Any) -> Any:
        size = self.original_params
        keep = ops.cast(ops.round((1.0 - self.sparsity_at(step)) * size), "int32")
        keep = ops.maximum(keep, 1)
        magnitude = ops.reshape(ops.abs(self.w * self.mask), (-1,))
        # sort once, read the keep-th largest value, break ties by position so the
        # count is exact: rank of each entry in descending order < keep.
        order = ops.argsort(-magnitude)
        ranks = ops.scatter(ops.expand_dims(order, 1), ops.arange(size, dtype="int32"), (size,))
        return ops.reshape(ops.cast(ranks < keep, "float32"), self.shape)

    def advance(self) -> None:
        """One training step: bump the counter and tighten the mask if due."""
        step = self.step + 1
        self.step.assign(step)
        self.mask.assign(
            ops.cond(self._mask_due(step), lambda: self._magnitude_mask(step), lambda: self.mask)
        )

    def kernel(self, training: bool = False) -> Any:
        if training:
            self.advance()
        return self.w * self.mask

    # ----------------------------------------------------------- inference
    def inference_state(self) -> dict[str, Any]:
        if self.options["inference_path"] == "masked":
            return super().inference_state()
        # W^T in row-major (canonical) order, so the SparseTensor needs no reorder per call
        indices = tf.where(tf.transpose(self.mask) > 0)
        return {"indices": indices, "values": tf.gather_nd(tf.transpose(self.w), indices)}

    def inference_fn(self) -> Callable[[Any], Any]:
        if self.options["inference_path"] == "masked":
            return super().inference_fn()
        m, n = self.shape
        indices, values = self.cached("indices"), self.cached("values")

        def apply(x: Any) -> Any:
            w_t = tf.SparseTensor(indices, values, dense_shape=(n, m))
            x2 = tf.reshape(x, (-1, m))
            y_t = tf.sparse.sparse_dense_matmul(w_t, x2, adjoint_b=True)  # (n, N) = W^T x^T
            x = tf.convert_to_tensor(x)
            lead = tf.shape(x)[:-1]
            y = tf.reshape(tf.transpose(y_t), tf.concat([lead, [n]], axis=0))
            y.set_shape(x.shape[:-1].concatenate([n]))
            return y

        return apply

    # ---------------------------------------------------------- accounting
    def stored_params(self) -> int:
        if not self._variables:
            return self.planned_params
        return int(np.count_nonzero(self.mask.numpy()))

    def ratio_note(self, tolerance: float) -> str:
        step = int(self.step.numpy()) if self._variables else -1
        if step < int(self.options["end_step"]):
            return f"pruning in progress: step {step} of end_step {self.options['end_step']}"
        return super().ratio_note(tolerance)

    def stored_params_with_index(self) -> int:
        return 2 * self.stored_params() + self.shape[0] + 1

    # --------------------------------------------------------- persistence
    def save_variables(self, store: Any, prefix: str) -> None:
        """Only surviving weights and their flat positions, so files shrink with the ratio."""
        flat_mask = self.mask.numpy().reshape(-1)
        kept = np.flatnonzero(flat_mask).astype(np.int32)
        store[f"{prefix}.values"] = self.w.numpy().reshape(-1)[kept]
        store[f"{prefix}.indices"] = kept
        store[f"{prefix}.step"] = self.step.numpy()

    def load_variables(self, store: Any, prefix: str) -> None:
        kept = np.asarray(store[f"{prefix}.indices"])
        values = np.zeros(self.original_params, dtype="float32")
        mask = np.zeros(self.original_params, dtype="float32")
        values[kept] = np.asarray(store[f"{prefix}.values"])
        mask[kept] = 1.0
        self.w.assign(values.reshape(self.shape))
        self.mask.assign(mask.reshape(self.shape))
        self.step.assign(np.asarray(store[f"{prefix}.step"]))
