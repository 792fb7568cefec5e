"""``deepthin``: a low-rank product at an auxiliary shape, reshaped to the target.

Two trainable factors ``X (m' x r)`` and ``Y (r x n')`` with ``m' n' >= m n``.
The kernel is the first ``m n`` entries of the row-major flattening of
``X @ Y``, reshaped (row-major) to ``(m, n)``. Row ``i`` of ``W`` is then a
window of the flat product that straddles rows of ``X @ Y`` unless ``n'``
lines up with ``n``; that misalignment is what lets ``rank(W)`` exceed ``r``.
With row-major filling, ``rank(W) <= min(m, n, r (n/g + n'/g - 1))`` where
``g = gcd(n, n')`` (see ``shared/PAPER.md``): ``n' = n`` is plain rank ``r``,
``n' = k n`` gives about ``k r``, and ``n'`` coprime with ``n`` allows full rank
at the parameter count ``r (m' + n')`` of a rank-``r`` factorization.

Auxiliary-shape policies (``policy=``):

``paper`` (default)
    A width ``n'`` with ``gcd(n', n) = 1``, so rows never line up, and the
    height ``m' = ceil(m n / n')``, the one at which every row of ``X`` and
    every column of ``Y`` is read. The rank ``r`` is the largest for which such
    a shape stores ``r (m' + n')`` within ``RATIO_TOLERANCE``
    (:mod:`deepthin.methods.base`) of the budget ``ratio m n``, never above it; of
    those shapes, the one storing the most, then with the least padding
    ``m' n' - m n`` (under one row). So the shape is as far from square as
    spending the budget at rank ``r`` needs (1240 x 512 at 0.005: 215 x 2959,
    rank 1), which costs no rank: a coprime ``n'`` allows full rank at any
    width. This policy first took a near-square ``m' + n' = round(budget /
    r)`` and let ``m'`` grow past ``ceil(m n / n')`` to spend the budget: those
    rows were stored and counted but never read (1240 x 512 at 0.005: 1587 x
    1587 with 401 rows read, 37% of the stored parameters; TFKaldi ``cpu``:
    27.5% of its compressed parameters at 0.005), so at the same stored count
    DeepThin trained with less than the other methods.

``aligned``
    ``n'`` is a multiple ``k n`` or a divisor ``n / k`` of ``n``. Each row of
    ``W`` is then a slice of one row of ``X @ Y`` (multiple) or a
    concatenation of ``k`` whole rows (divisor), so ``x @ W`` can be computed
    from the factors with about ``r (m' + n')`` multiply-adds. The rank is at
    most ``k r``. ``n'`` is the aligned width whose ``m' x n'`` is nearest to
    square, as in the paper's policy, and ``r`` the largest rank the budget
    allows (``k = 1``, plain rank ``r``, on a square ``W``). Not the ``k`` that
    maximizes the rank bound ``k min(r, m', n')``, as this policy first did: that
    chose ``k = 25, r = 1`` for a 512 x 512 layer at 0.05 (every row of ``W`` a
    scalar times one of 25 vectors), which trained far worse than plain rank
    factorization at equal storage (TFKaldi cpu on FSDD, seed 0: greedy test
    CER 0.54 against 0.086) and fitted trained kernels worse at every ``k > 1``
    tried (truncated SVD of the laid-out kernel: relative error 0.77 at
    ``k = 1`` rising to 0.97 at ``k = 25``). Where the integer rank leaves the
    budget short, ``X`` gets spare rows (stored, counted, never read) so the
    stored count still meets the ratio.

Where no rank lands within the tolerance (small layers), the ``paper`` plan
is the one storing the most under the budget. When even ``r = 1`` exceeds the
budget the layer is too small for the ratio: both policies keep ``r = 1`` at
the smallest feasible shape and :func:`deepthin.size_report` flags the nearest
achievable ratio.

Training and evaluation outside inference mode (``training_path=``, see
:mod:`deepthin.methods.base`): with an aligned ``n'`` the ``factored`` route
below runs in training too, ``A`` and ``B`` laid out once per layer call and
gradients reaching ``X`` and ``Y`` through the layout; ``auto`` (default)
takes it where it needs fewer multiply-adds than materializing ``W``
(``r m' n'``) and multiplying by it. Otherwise ``W`` is materialized.

Inference paths (``inference_path=``, used by layers switched with
:func:`deepthin.for_inference`):

``factored``
    ``x @ W`` straight from the factors, never building ``W``: ``y = (x A) B``
    with ``A (m, k r)`` and ``B (k r, n)`` laid out once from ``X`` and ``Y``
    when the layer is switched or loaded. Multiple ``n' = k n``:
    ``W[i] = (X Y)[i // k, (i % k) n : (i % k + 1) n]``, so input ``i = q k + p``
    feeds block ``p`` of ``Z = x A`` through ``X[q]`` (``A[q k + p, p r + t] =
    X[q, t]``; the last row of ``X Y`` may be partly used and spare rows of
    ``X`` are never read), and ``B`` stacks the ``k`` column blocks of ``Y``.
    Divisor ``n' = n / k``: ``W[i]`` is rows ``i k .. i k + k - 1`` of ``X Y``,
    so ``A`` is ``X[:m k]`` viewed as ``(m, k r)`` and ``B`` is block-diagonal
    with ``k`` copies of ``Y``. ``k r (m + n)`` multiply-adds per input vector
    instead of ``m n``; ``A`` and ``B`` hold at most ``(1 + m/n)`` (multiple) or
    ``(1 + n/m)`` (divisor) times the stored parameters. This costs more
    multiply-adds than the minimal ``r (m' + n')`` route (``x`` viewed as
    ``(m/k, k)``, contracted with ``X``, then with ``Y``) but is two plain
    matmuls with no pad, transpose or reshape of ``x``; measured, the minimal
    route was 4x slower at batch 1 (2048x2048, ratio 0.01), where per-op cost
    dominates. Needs an aligned ``n'`` (the ``aligned`` policy).
``compact``, ``blocked``
    The minimal ``r (m' + n')`` route above with ``X`` and ``Y`` only
    re-viewed (what the LiteRT export uses), and a tile-by-tile rebuild of
    ``W``: see :mod:`deepthin.methods.deepthin_paths`.
``materialize``
    ``W`` built once when the layer is switched or loaded; then one dense
    matmul. Measured by ``deepthin-bench``: faster than ``blocked`` at every
    shape, ratio and batch tried, hence the ``paper`` policy's default.
``auto`` (default)
    ``factored`` when ``n'`` is a multiple or divisor of ``n``, else
    ``materialize``.

Fitting to a trained kernel (:meth:`DeepThinMethod.fit`): ``X Y`` is the truncated SVD of ``W``
laid out row-major at the auxiliary shape (:func:`materialize`'s fill order). The ``m' n' - m n``
free entries past ``W`` are a tail: whole free rows (left out; their rows of ``X`` are zero, which
changes nothing) and the end of one partly used row, which is fitted on its used entries only by
:data:`ALS_SWEEPS` sweeps of alternating least squares
(:func:`~deepthin.methods.fitting.low_rank_with_partial_row`) rather than zero-filled: a zero fill
cannot recover a kernel that is exactly rank ``r`` at the auxiliary shape. Measured with ``python
scripts/deepthin_fill.py``: on such a kernel (48x64, ratio 0.2) relative error 3.8e-2 with zero
fill, 6.4e-8 with the sweeps; on power-law-spectrum kernels plus noise (440x512, 512x512, both
policies, ratios 0.02 and 0.1) they differ by at most 2.6e-4 (0.88646 vs 0.88620).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from deepthin.methods.base import TRAINING_PATHS, WeightMethod, factor_std, factored_matmul
from deepthin.methods.deepthin_paths import blocked_matmul, compact_matmul, compact_state
from deepthin.methods.deepthin_plans import PLANNERS
from deepthin.methods.fitting import best_rank_factors, low_rank_with_partial_row
from deepthin.methods.registry import register
from deepthin.validation import check_choice

POLICIES = ("paper", "aligned")
INFERENCE_PATHS = ("auto", "factored", "compact", "blocked", "materialize")
#: Alternating least-squares sweeps of a fit's partly used row (module doc).
ALS_SWEEPS = 3


def materialize(x: Any, y: Any, shape: tuple[int, int]) -> Any:
    """First ``m n`` entries of row-major ``flatten(x @ y)``, reshaped to ``shape``."""
    m, n = shape
    flat = ops.reshape(ops.matmul(x, y), (-1,))
    return ops.reshape(flat[: m * n], (m, n))


@register
class DeepThinMethod(WeightMethod):
    """DeepThin factors ``X``, ``Y`` at the auxiliary shape chosen by ``policy``."""

    name = "deepthin"
    option_defaults = {"policy": "paper", "inference_path": "auto", "training_path": TRAINING_PATHS[0]}

    def __init__(self, shape: tuple[int, int], ratio: float, **options: Any) -> None:
        super().__init__(shape, ratio, **options)
        policy = check_choice("deepthin policy", self.options["policy"], POLICIES)
        self.plan = PLANNERS[policy](*self.shape, self.ratio)
        self.planned_params = self.plan.params
        path = check_choice("deepthin inference_path", self.options["inference_path"], INFERENCE_PATHS)
        if path == "auto":
            path = "factored" if self.alignment is not None else "materialize"
        if path in ("factored", "compact") and self.alignment is None:
            raise ValueError(
                f"deepthin inference_path={path!r} needs n' a multiple or divisor of n, but the "
                f"plan has n'={self.plan.n_aux}, n={self.shape[1]}; allowed: policy='aligned', or "
                "inference_path='blocked'/'materialize'"
            )
        self.inference_path = path
        self._check_training_path()

    @property
    def alignment(self) -> tuple[str, int] | None:
        """``("multiple", k)`` for ``n' = k n``, ``("divisor", k)`` for ``n' = n / k``, else ``None``."""
        n, n_aux = self.shape[1], self.plan.n_aux
        if n_aux % n == 0:
            return "multiple", n_aux // n
        if n % n_aux == 0:
            return "divisor", n // n_aux
        return None

    # ------------------------------------------------ traits (deepthin.methods.traits)
    @classmethod
    def variants(cls) -> dict[str, dict[str, Any]]:
        """Both policies: the same budget in two layouts, compared side by side."""
        return {f"deepthin-{policy}": {"policy": policy} for policy in ("aligned", "paper")}

    @classmethod
    def inference_variants(cls) -> dict[str, dict[str, Any]]:
        """The aligned policy's factors, and both ways the paper policy uses ``W``."""
        return {"deepthin-aligned": {"policy": "aligned", "inference_path": "factored"},
                "deepthin-paper": {"policy": "paper", "inference_path": "materialize"},
                "deepthin-paper-blocked": {"policy": "paper", "inference_path": "blocked"}}

    @classmethod
    def export_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Aligned: ``compact``, ``X`` and ``Y`` as stored (``factored`` copies blocks of them).
        Paper: ``materialize``, since a misaligned ``W`` has no product form a graph op runs."""
        aligned = {**cls.option_defaults, **options}["policy"] == "aligned"
        return {"inference_path": "compact" if aligned else "materialize"}

    @property
    def exports_dense_kernel(self) -> bool:
        return self.options["policy"] != "aligned"

    def create_variables(self, layer: keras.layers.Layer, prefix: str) -> list[keras.Variable]:
        std = factor_std(self.shape, self.plan.rank)
        p = self.plan
        self.x = layer.add_weight(
            name=f"{prefix}_x", shape=(p.m_aux, p.rank), initializer=self._initializer(std)
        )
        self.y = layer.add_weight(
            name=f"{prefix}_y", shape=(p.rank, p.n_aux), initializer=self._initializer(std)
        )
        return [self.x, self.y]

    def kernel(self, training: bool = False) -> Any:
        return materialize(self.x, self.y, self.shape)

    def fit(self, dense_kernel: np.ndarray) -> list[np.ndarray]:
        """``[X, Y]`` fitted to ``W`` laid out at the auxiliary shape, free entries left out (module doc)."""
        p = self.plan
        flat = np.ravel(dense_kernel).astype("float64")
        full, tail = divmod(flat.size, p.n_aux)  # complete rows of X @ Y, used entries of the next
        rows = flat[: full * p.n_aux].reshape(full, p.n_aux)
        if full and tail:
            x, y = low_rank_with_partial_row(rows, flat[full * p.n_aux :], p.rank, ALS_SWEEPS)
        else:  # no partly used row, or only one (whose free end a rank-1 factor reproduces exactly)
            x, y = best_rank_factors(np.pad(flat, (0, -flat.size % p.n_aux)).reshape(-1, p.n_aux), p.rank)
        return [np.pad(x, [(0, p.m_aux - len(x)), (0, 0)]), y]

    # ---------------------------------------------------------------- routes
    @property
    def factored_width(self) -> int | None:
        """``k r`` where ``n'`` is aligned with ``n`` (see ``factored`` in the module doc), else ``None``."""
        if self.alignment is None:
            return None
        return self.alignment[1] * self.plan.rank

    def reconstruct_macs(self) -> int:
        return self.plan.rank * self.plan.m_aux * self.plan.n_aux

    def factors(self) -> tuple[Any, Any]:
        """``A (m, k r)`` and ``B (k r, n)`` laid out from ``X`` and ``Y`` (module doc, ``factored``)."""
        m, n = self.shape
        r = self.plan.rank
        kind, k = self.alignment
        eye = ops.eye(k, dtype=self.x.dtype)
        if kind == "multiple":
            m_min = -(-m // k)
            # A[q k + p, p r + t] = X[q, t]: input i = q k + p feeds block p of Z
            a = ops.reshape(ops.einsum("qt,ps->qpst", self.x[:m_min], eye), (m_min * k, k * r))[:m]
            # B[p r + t] = Y[t, p n : (p+1) n]
            b = ops.reshape(ops.transpose(ops.reshape(self.y, (r, k, n)), (1, 0, 2)), (k * r, n))
        else:
            a = ops.reshape(self.x[: m * k], (m, k * r))  # A[i, p r + t] = X[i k + p, t]
            # B[p r + t, p n' + j] = Y[t, j]: block-diagonal, block p fills columns of row part p
            b = ops.reshape(ops.einsum("ps,tj->ptsj", eye, self.y), (k * r, n))
        return a, b

    # ------------------------------------------------------------ inference
    def inference_state(self) -> dict[str, Any]:
        if self.inference_path == "materialize":
            return super().inference_state()
        if self.inference_path == "blocked":
            return {}
        if self.inference_path == "compact":
            return compact_state(self.x, self.y, self.shape, self.plan.rank, self.alignment)
        a, b = self.factors()
        return {"a": a, "b": b}

    def inference_fn(self) -> Callable[[Any], Any]:
        if self.inference_path == "materialize":
            return super().inference_fn()
        if self.inference_path == "blocked":
            return blocked_matmul(self.x, self.y, self.shape, self.plan.n_aux)
        if self.inference_path == "compact":
            return compact_matmul(self.cached, self.shape, self.plan.rank, self.alignment)
        return factored_matmul(self.cached("a"), self.cached("b"))
