"""DeepThin's auxiliary-shape plans: ``(m, n, ratio)`` to ``(m', n', r)`` for each policy.

Pure integer arithmetic, kept apart from :mod:`deepthin.methods.deepthin` (which says why each
policy chooses as it does) so that the method's module holds its storage, routes and fitting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class AuxPlan:
    """Auxiliary shape ``(m_aux, n_aux)`` and rank of a DeepThin matrix."""

    m_aux: int
    n_aux: int
    rank: int

    @property
    def params(self) -> int:
        return self.rank * (self.m_aux + self.n_aux)


def _coprime_split(total: int, m: int, n: int) -> tuple[int, int] | None:
    """Split ``total = m' + n'`` as squarely as possible with ``gcd(n', n) = 1``
    and ``m' n' >= m n``; ``None`` if no such split exists."""
    half = total // 2
    for offset in range(total):
        candidates = {half - offset, total - half + offset}
        feasible = [c for c in candidates if 1 <= c < total and (total - c) * c >= m * n]
        if not feasible:
            return None  # moving further from square only shrinks the product
        coprime = [c for c in sorted(feasible) if math.gcd(c, n) == 1]
        if coprime:
            n_aux = coprime[0]
            return total - n_aux, n_aux
    return None


def _min_coprime_total(m: int, n: int) -> int:
    """Smallest ``m' + n'`` admitting a coprime split that covers ``m n`` entries."""
    total = 2 * math.isqrt(m * n)
    while _coprime_split(total, m, n) is None:
        total += 1
    return total


def plan_paper(m: int, n: int, ratio: float) -> AuxPlan:
    """The ``paper`` policy: near-square, misaligned auxiliary shape."""
    budget = ratio * m * n
    smallest = _min_coprime_total(m, n)
    rank = max(1, int(budget // smallest))
    while True:
        total = max(smallest, round(budget / rank))
        split = _coprime_split(total, m, n)
        if split is not None:
            return AuxPlan(split[0], split[1], rank)
        rank -= 1  # a wider total always has a split; only rounding can miss


def _aligned_candidates(m: int, n: int) -> list[tuple[int, int, int]]:
    """``(k, n_aux, minimal m_aux)`` for every multiple and divisor width of ``n``."""
    out = []
    for k in range(1, m + 1):  # n' = k n: one row of X@Y covers k rows of W
        out.append((k, k * n, math.ceil(m / k)))
    for k in range(2, n + 1):  # n' = n / k: one row of W is k rows of X@Y
        if n % k == 0:
            out.append((k, n // k, m * k))
    return out


def plan_aligned(m: int, n: int, ratio: float) -> AuxPlan:
    """The ``aligned`` policy: the paper's near-square auxiliary shape with an aligned ``n'``."""
    budget = ratio * m * n
    candidates = _aligned_candidates(m, n)
    k, n_aux, m_min = min(candidates, key=lambda c: (abs(math.log(c[1] / c[2])), c[0]))
    rank = int(budget // (m_min + n_aux))
    if rank < 1:  # too small: r = 1 at the cheapest aligned shape
        k, n_aux, m_min = min(candidates, key=lambda c: c[1] + c[2])
        return AuxPlan(m_min, n_aux, 1)
    return AuxPlan(max(m_min, round(budget / rank) - n_aux), n_aux, rank)  # spare rows fill the budget


PLANNERS = {"paper": plan_paper, "aligned": plan_aligned}
