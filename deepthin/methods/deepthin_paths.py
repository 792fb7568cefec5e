"""DeepThin's inference paths that read ``X`` and ``Y`` themselves, not a laid-out ``A B``.

Used by :class:`deepthin.methods.deepthin.DeepThinMethod` for
``inference_path='compact'`` and ``'blocked'`` (the ``factored`` layout, shared
with training, stays on the method as ``factors()``). Shapes: ``X (m' x r)``,
``Y (r x n')``, target ``(m, n)``; the alignment is ``("multiple", k)`` for
``n' = k n`` or ``("divisor", k)`` for ``n' = n / k``.

``compact``
    ``x @ W`` from ``X`` and ``Y`` as stored, only re-viewed: the minimal
    ``r (m' + n')`` route (see ``factored`` in :mod:`deepthin.methods.deepthin`).
    Multiple: ``x`` (zero-padded to ``k ceil(m/k)``) viewed as
    ``(ceil(m/k), k)`` is contracted with ``X`` (``Z[t, p] = sum_q X[q, t]
    x[q k + p]``), then ``Z`` viewed as ``(k r,)`` times ``Y`` viewed as
    ``(k r, n)`` (its row ``t k + p`` is ``Y[t, p n : (p+1) n]``). Divisor:
    ``Z = x X'`` with ``X'`` = ``X[:m k]`` viewed as ``(m, k r)``, then ``Z``
    viewed as ``(k, r)`` times ``Y``. No block copies of ``X`` or ``Y``, so a
    graph of this path holds exactly the factors (less ``X``'s spare rows):
    what the LiteRT export (:mod:`deepthin.export`) uses, where the file size
    is the point. Needs an aligned ``n'``.
``blocked``
    Rebuilds ``W`` tile by tile (about 1 MiB of rows at a time, from the rows
    of ``X Y`` the tile covers) and multiplies each tile as it is made, so
    ``W`` is never whole in memory. Every call pays ``r m' n'`` for the
    reconstruction, ``r`` times the dense matmul's work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keras import ops

#: Bytes of ``W`` rebuilt at a time by the ``blocked`` inference path (about an L2 cache).
BLOCK_BYTES = 1 << 20


def blocked_matmul(x_f: Any, y_f: Any, shape: tuple[int, int], n_aux: int) -> Callable[[Any], Any]:
    """``x @ W`` with ``W`` rebuilt from ``x_f @ y_f`` a tile of rows at a time (``blocked``)."""
    m, n = shape
    rows = max(1, BLOCK_BYTES // (4 * n))

    def apply(x: Any) -> Any:
        lead = ops.shape(x)[:-1]
        x2 = ops.reshape(x, (-1, m))
        out = None
        for i0 in range(0, m, rows):
            i1 = min(m, i0 + rows)
            q0, q1 = (i0 * n) // n_aux, -(-(i1 * n) // n_aux)  # rows of X Y this tile reads
            flat = ops.reshape(ops.matmul(x_f[q0:q1], y_f), (-1,))
            start = i0 * n - q0 * n_aux
            tile = ops.reshape(flat[start : start + (i1 - i0) * n], (i1 - i0, n))
            part = ops.matmul(x2[:, i0:i1], tile)
            out = part if out is None else out + part
        return ops.reshape(out, (*lead, n))

    return apply


def compact_state(
    x_f: Any, y_f: Any, shape: tuple[int, int], rank: int, alignment: tuple[str, int]
) -> dict[str, Any]:
    """The factors re-viewed for the ``compact`` path (module doc): no entry is copied twice."""
    m, n = shape
    kind, k = alignment
    if kind == "multiple":
        return {"xt": ops.transpose(x_f[: -(-m // k)]), "y": ops.reshape(y_f, (rank * k, n))}
    return {"a": ops.reshape(x_f[: m * k], (m, k * rank)), "y": y_f}


def compact_matmul(
    cached: Callable[[str], Any], shape: tuple[int, int], rank: int, alignment: tuple[str, int]
) -> Callable[[Any], Any]:
    """``x @ W`` from :func:`compact_state`'s entries, read through ``cached(key)``."""
    m, n = shape
    r = rank
    kind, k = alignment
    y = cached("y")
    if kind == "multiple":
        xt = cached("xt")
        width = xt.shape[1] * k

        def contract(x2: Any) -> Any:
            if width > m:
                x2 = ops.pad(x2, [[0, 0], [0, width - m]])
            z = ops.matmul(xt, ops.reshape(x2, (-1, width // k, k)))  # (N, r, k)
            return ops.matmul(ops.reshape(z, (-1, r * k)), y)
    else:
        a = cached("a")

        def contract(x2: Any) -> Any:
            return ops.matmul(ops.reshape(ops.matmul(x2, a), (-1, r)), y)  # (N k, n / k)

    def apply(x: Any) -> Any:
        lead = ops.shape(x)[:-1]
        return ops.reshape(contract(ops.reshape(x, (-1, m))), (*lead, n))

    return apply
