"""``hashednet``: HashedNets (Chen et al. 2015, "Compressing Neural Networks
with the Hashing Trick").

A virtual ``m x n`` matrix backed by ``K = round(ratio m n)`` real weights:
``W[i, j] = s(i, j) * w[h(i, j)]`` with ``h`` a hash to ``[0, K)`` and ``s`` a
hash to ``+-1``. Both hashes are pure functions of ``(i, j)`` and the
recorded ``seed``: they are computed once when the layer is built, kept as
constants outside the saved weights, and recomputed on load, so no index is
ever stored. A bucket's gradient is the signed sum of its positions'
gradients, computed as one weighted ``bincount`` (see :func:`spread`).

Hash function: public ports hash the string ``"i_j"`` with xxHash32; hashing
33M strings in Python is too slow for a 4096x8192 layer, so we apply
MurmurHash3's 32-bit finalizer to the linear index ``i n + j`` mixed with the
seed, vectorized in numpy. It has the property HashedNets needs (a uniform,
seed-dependent, fixed assignment), not bit-compatibility with those ports.

Fitting to a trained kernel (:meth:`HashedNetMethod.fit`): each shared weight is the
least-squares value of the entries that hash to it, ``w[k] = mean of s(i, j) W[i, j]`` over its
positions (``s^2 = 1``, so the sign-corrected mean minimizes ``sum (s w[k] - W[i, j])^2``); a bucket
no position hashes to is 0.

Inference materializes ``W`` once (the base class's cache): a gather over
``m n`` positions per call would cost more than the dense matmul it feeds.
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

_GOLDEN = np.uint32(0x9E3779B1)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finalizer: a bijective avalanche on uint32."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def hash_positions(shape: tuple[int, int], buckets: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Bucket index ``h(i, j)`` (int32) and sign ``s(i, j)`` (float32, +-1) of every entry."""
    m, n = shape
    keys = np.arange(m * n, dtype=np.uint32).reshape(m, n)
    with np.errstate(over="ignore"):
        seed_bucket = _fmix32(np.array([seed * 2 + 1], dtype=np.uint32) * _GOLDEN)[0]
        seed_sign = _fmix32(np.array([seed * 2 + 2], dtype=np.uint32) * _GOLDEN)[0]
        bucket = _fmix32(keys * _GOLDEN ^ seed_bucket) % np.uint32(buckets)
        sign_bit = _fmix32(keys * _GOLDEN ^ seed_sign) >> np.uint32(31)
    sign = np.where(sign_bit == 1, np.float32(-1.0), np.float32(1.0))
    return bucket.astype(np.int32), sign


@register
class HashedNetMethod(WeightMethod):
    """``K`` shared weights spread over the matrix by a fixed, seeded hash."""

    name = "hashednet"
    option_defaults = {"hash_seed": 2}

    def __init__(self, shape: tuple[int, int], ratio: float, **options: Any) -> None:
        super().__init__(shape, ratio, **options)
        self.buckets = max(1, round(self.ratio * self.original_params))
        self.planned_params = self.buckets

    @property
    def hash_seed(self) -> int:
        """The option's seed, offset by the matrix's index in its layer: an LSTM's input and recurrent
        kernels must not share a hash pattern."""
        return int(self.options["hash_seed"]) + self.matrix_index

    @property
    def exports_dense_kernel(self) -> bool:
        """Always: a hashed ``W`` has no product form a graph op runs (see :mod:`deepthin.methods.traits`)."""
        return True

    def create_variables(self, layer: keras.layers.Layer, prefix: str) -> list[keras.Variable]:
        m, n = self.shape
        limit = float(np.sqrt(6.0 / (m + n)))  # entries are +-w, so w gets Glorot's variance
        init = keras.initializers.RandomUniform(-limit, limit, seed=self._next_seed())
        self.w = layer.add_weight(name=f"{prefix}_w", shape=(self.buckets,), initializer=init)
        index, sign = hash_positions(self.shape, self.buckets, self.hash_seed)
        with tf.init_scope():  # eager constants, captured by reference, never saved
            self.index = tf.constant(index)
            self.sign = tf.constant(sign)
        return [self.w]

    def fit(self, dense_kernel: np.ndarray) -> list[np.ndarray]:
        """Each bucket's sign-corrected mean of the kernel entries hashed to it (module doc)."""
        index, sign = hash_positions(self.shape, self.buckets, self.hash_seed)
        total = np.bincount(index.ravel(), weights=(sign * dense_kernel).ravel(), minlength=self.buckets)
        count = np.bincount(index.ravel(), minlength=self.buckets)
        return [total / np.maximum(count, 1)]

    def kernel(self, training: bool = False) -> Any:
        return spread(tf.convert_to_tensor(self.w), self.index, self.sign)


def spread(w: Any, index: Any, sign: Any) -> Any:
    """``sign * w[index]``, with the bucket gradient as one weighted ``bincount``.

    The gradient TensorFlow derives for a gather is sparse (one slice per
    entry of ``W``, ``m n`` in all); turning it into the dense gradient of
    ``w`` took an ``unsorted_segment_sum`` that ran at 4-5x the cost of the
    layer's dense matmuls (2048x2048, ratio 0.01, measured here) and made a
    HashedNets training step 1.4-2x a dense one. A weighted bincount sums
    the same signed entries into the same buckets several times faster.
    """
    buckets = w.shape[0]

    @tf.custom_gradient
    def apply(values: Any) -> tuple[Any, Callable[[Any], Any]]:
        def grad(upstream: Any) -> Any:
            weights = ops.reshape(sign * upstream, (-1,))
            return tf.math.bincount(ops.reshape(index, (-1,)), weights=weights, minlength=buckets,
                                    maxlength=buckets)

        return sign * ops.take(values, index), grad

    return apply(w)
