"""``lowrank``: rank factorization ``W = U V`` trained from scratch.

Sainath et al. (2013) / Xue et al. (2013) style: ``r = floor(ratio m n / (m + n))``
full components. An integer rank alone can miss the budget by up to
``(m + n)`` parameters (2.3% at 2048x2048, ratio 0.01), which would hand
the other methods more storage than this one; so the leftover budget, when it
is at least two parameters, buys one *partial* component ``u v^T`` on the
top-left ``a x b`` block with ``a + b`` = leftover. The kernel still has rank
at most ``r + 1``, which is what the comparison with DeepThin is about.

The factored route (inference always; training and evaluation when cheaper,
see ``training_path`` in :mod:`deepthin.methods.base`) computes
``(x U') V'`` with the partial component folded in as one more column of
``U'`` (``u`` padded to ``m``) and row of ``V'`` (``v`` padded to ``n``):
``(r + 1) (m + n)`` multiply-adds per input vector and two matmuls; inference
lays ``U'``, ``V'`` out once, training once per layer call.

Fitting to a trained kernel (:meth:`LowRankMethod.fit`): ``U V`` is the truncated SVD, the best
rank-``r`` approximation in Frobenius norm (Eckart-Young); the partial component is then the best
rank-1 approximation of the residual on its ``a x b`` block, so it only ever lowers the error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from deepthin.methods.base import TRAINING_PATHS, WeightMethod, factor_std, factored_matmul
from deepthin.methods.fitting import best_rank_factors
from deepthin.methods.registry import register


def lowrank_plan(m: int, n: int, ratio: float) -> tuple[int, int, int]:
    """``(r, a, b)``: full rank ``r`` plus a partial ``a x b`` component (``a = b = 0``: none)."""
    budget = max(2, round(ratio * m * n))
    rank, leftover = divmod(budget, m + n)
    if leftover < 2:
        return rank, 0, 0
    a = min(m, max(1, round(leftover * m / (m + n))))
    b = leftover - a
    if b > n:
        a, b = leftover - n, n
    if b < 1:
        a, b = leftover - 1, 1
    return rank, a, b


@register
class LowRankMethod(WeightMethod):
    """Factors ``U (m x r)`` and ``V (r x n)``, plus a partial component; ``rank(W) <= r + 1``."""

    name = "lowrank"
    option_defaults = {"training_path": TRAINING_PATHS[0]}

    def __init__(self, shape: tuple[int, int], ratio: float, **options: Any) -> None:
        super().__init__(shape, ratio, **options)
        m, n = self.shape
        self.rank, self.part_rows, self.part_cols = lowrank_plan(m, n, self.ratio)
        self.planned_params = self.rank * (m + n) + self.part_rows + self.part_cols
        self._check_training_path()

    @property
    def max_rank(self) -> int:
        """Upper bound on the rank of the kernel."""
        return self.rank + (1 if self.part_rows else 0)

    def create_variables(self, layer: keras.layers.Layer, prefix: str) -> list[keras.Variable]:
        m, n = self.shape
        std = factor_std(self.shape, self.max_rank)
        variables = []
        if self.rank:
            self.u = layer.add_weight(
                name=f"{prefix}_u", shape=(m, self.rank), initializer=self._initializer(std)
            )
            self.v = layer.add_weight(
                name=f"{prefix}_v", shape=(self.rank, n), initializer=self._initializer(std)
            )
            variables += [self.u, self.v]
        if self.part_rows:
            self.part_u = layer.add_weight(
                name=f"{prefix}_part_u", shape=(self.part_rows,), initializer=self._initializer(std)
            )
            self.part_v = layer.add_weight(
                name=f"{prefix}_part_v", shape=(self.part_cols,), initializer=self._initializer(std)
            )
            variables += [self.part_u, self.part_v]
        return variables

    def kernel(self, training: bool = False) -> Any:
        m, n = self.shape
        kernel = ops.matmul(self.u, self.v) if self.rank else ops.zeros(self.shape)
        if self.part_rows:
            block = ops.outer(self.part_u, self.part_v)
            kernel = kernel + ops.pad(block, [[0, m - self.part_rows], [0, n - self.part_cols]])
        return kernel

    def fit(self, dense_kernel: np.ndarray) -> list[np.ndarray]:
        """Truncated SVD, then the residual's best rank-1 part on the partial block (module doc)."""
        values: list[np.ndarray] = []
        residual = np.asarray(dense_kernel, dtype="float64")
        if self.rank:
            u, v = best_rank_factors(residual, self.rank)
            values += [u, v]
            residual = residual - u @ v
        if self.part_rows:
            u, v = best_rank_factors(residual[: self.part_rows, : self.part_cols], 1)
            values += [u[:, 0], v[0]]
        return values

    @property
    def factored_width(self) -> int:
        return self.max_rank

    def reconstruct_macs(self) -> int:
        m, n = self.shape
        return self.rank * m * n + self.part_rows * self.part_cols

    def factors(self) -> tuple[Any, Any]:
        """``U'`` and ``V'``: ``U``, ``V`` with the partial component as one more column and row."""
        m, n = self.shape
        us, vs = [], []
        if self.rank:
            us.append(self.u)
            vs.append(self.v)
        if self.part_rows:
            us.append(ops.pad(self.part_u, [[0, m - self.part_rows]])[:, None])
            vs.append(ops.pad(self.part_v, [[0, n - self.part_cols]])[None, :])
        return ops.concatenate(us, axis=1), ops.concatenate(vs, axis=0)

    def inference_state(self) -> dict[str, Any]:
        a, b = self.factors()
        return {"a": a, "b": b}

    def inference_fn(self) -> Callable[[Any], Any]:
        return factored_matmul(self.cached("a"), self.cached("b"))
