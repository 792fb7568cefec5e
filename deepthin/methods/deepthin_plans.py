"""DeepThin's auxiliary-shape plans: ``(m, n, ratio)`` to ``(m', n', r)`` for each policy.

Pure integer arithmetic, kept apart from :mod:`deepthin.methods.deepthin` (which says why each
policy chooses as it does) so that the method's module holds its storage, routes and fitting.

The kernel is the first ``m n`` entries of ``X @ Y`` (``X: m' x r``, ``Y: r x n'``), so row ``q``
of ``X`` is read iff ``q n' < m n`` and every column of ``Y`` iff ``n' <= m n``: a width ``n'``
has exactly one height whose every row is read, :func:`aux_rows`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from deepthin.methods.base import RATIO_TOLERANCE


@dataclass(frozen=True)
class AuxPlan:
    """Auxiliary shape ``(m_aux, n_aux)`` and rank of a DeepThin matrix."""

    m_aux: int
    n_aux: int
    rank: int

    @property
    def params(self) -> int:
        return self.rank * (self.m_aux + self.n_aux)


def aux_rows(m: int, n: int, n_aux: int) -> int:
    """Rows of ``X @ Y`` the kernel reads at width ``n_aux``: ``ceil(m n / n')``."""
    return -(-m * n // n_aux)


def _widths(mn: int, total: int) -> range:
    """Widths ``n'`` whose every-row-read shape has ``m' + n' <= total``.

    ``n' + ceil(mn / n') <= total`` iff ``n' (total - n') >= mn``: an interval around ``sqrt(mn)``
    (empty below ``2 sqrt(mn)``), found from the quadratic's roots and corrected by the exact test.
    """
    disc = total * total - 4 * mn
    if disc < 0:
        return range(0)
    root = math.isqrt(disc)
    low, high = max(1, (total - root) // 2), min(mn, (total + root + 1) // 2)
    while low <= high and low * (total - low) < mn:
        low += 1
    while high >= low and high * (total - high) < mn:
        high -= 1
    return range(low, high + 1)


def _coprime(widths: range, n: int) -> list[int]:
    """The widths whose rows never line up with ``W``'s (``gcd(n', n) = 1``)."""
    return [w for w in widths if math.gcd(w, n) == 1]


def _padding(mn: int, width: int) -> int:
    """Entries of ``X @ Y`` past the kernel, ``m' n' - m n``: computed, never used."""
    return -mn % width


def _min_total(m: int, n: int) -> int:
    """The smallest ``m' + n'`` of a coprime width with every row read (``>= 2 sqrt(mn)``)."""
    total = 2 * math.isqrt(m * n)
    while not _coprime(_widths(m * n, total), n):
        total += 1
    return total


def _within_tolerance(m: int, n: int, rank: int, budget: float) -> int | None:
    """The coprime width whose rank-``rank`` plan stores the most between ``(1 - RATIO_TOLERANCE)
    budget`` and ``budget`` (then: the least padding), or ``None``.

    The totals allowed form ``[low, high]``; their widths are those within ``high`` less those within
    ``low - 1`` (both intervals around ``sqrt(mn)``), so only the two rims are scanned.
    """
    mn = m * n
    high, low = math.floor(budget / rank), math.ceil((1 - RATIO_TOLERANCE) * budget / rank)
    outer, inner = _widths(mn, high), _widths(mn, low - 1)
    if not inner:
        rims = [outer]
    else:
        rims = [range(outer.start, inner.start), range(inner.stop, outer.stop)]
    widths = [w for rim in rims for w in _coprime(rim, n)]
    if not widths:
        return None
    return min(widths, key=lambda w: (-(w + aux_rows(m, n, w)), _padding(mn, w), w))


def _nearest_under(m: int, n: int, max_rank: int, budget: float) -> AuxPlan:
    """The plan storing the most without exceeding ``budget``: for each rank, ``m' + n'`` falls
    from either end of its width interval towards ``sqrt(mn)``, so the first coprime width from
    each end is that rank's largest."""
    plans = []
    for rank in range(1, max_rank + 1):
        widths = _widths(m * n, math.floor(budget / rank))
        ends = [next((w for w in side if math.gcd(w, n) == 1), None) for side in (widths, reversed(widths))]
        plans += [AuxPlan(aux_rows(m, n, w), w, rank) for w in ends if w is not None]
    return max(plans, key=lambda p: (p.params, p.rank, -_padding(m * n, p.n_aux)))


def plan_paper(m: int, n: int, ratio: float) -> AuxPlan:
    """The ``paper`` policy: a misaligned auxiliary shape whose every stored entry is read.

    The largest rank with a coprime width within tolerance of the budget (never over), at the width
    storing the most (then: of least padding); else the plan storing the most under the budget; else
    (even rank 1 at the smallest total overshoots) rank 1 at that total, the nearest achievable.
    Why each choice: :mod:`deepthin.methods.deepthin`.
    """
    budget, mn = ratio * m * n, m * n
    smallest = _min_total(m, n)
    max_rank = int(budget // smallest)
    for rank in range(max_rank, 0, -1):
        width = _within_tolerance(m, n, rank, budget)
        if width is not None:
            return AuxPlan(aux_rows(m, n, width), width, rank)
    if max_rank:
        return _nearest_under(m, n, max_rank, budget)
    width = min(_coprime(_widths(mn, smallest), n), key=lambda w: (_padding(mn, w), w))
    return AuxPlan(aux_rows(m, n, width), width, 1)


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
