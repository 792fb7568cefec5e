"""Fitting a method's stored form to a trained dense kernel: the shared numerics.

``deepthin.compress(model, method, ratio, init="fit")`` starts a compressed model from a trained
one instead of from random factors, so a user with a trained model fine-tunes it rather than
training from scratch (the workflow of TFMOT's ``prune_low_magnitude`` on a trained model, or of
Xue et al.'s SVD-then-fine-tune). Each method's own ``fit`` (in its module) says how its form is
fitted; what several of them share lives here. The relative error ``||W - W_hat||_F / ||W||_F`` of
each fitted matrix is kept by its layer (``fit_errors``) and shown by ``deepthin.size_report``.
"""

from __future__ import annotations

import numpy as np


def relative_error(reference: np.ndarray, approx: np.ndarray) -> float:
    """``||reference - approx||_F / ||reference||_F`` (0 for two zero matrices)."""
    norm = float(np.linalg.norm(reference))
    diff = float(np.linalg.norm(reference - approx))
    return diff / norm if norm else diff


def best_rank_factors(matrix: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """``(A, B)``, ``A @ B`` the best rank-``rank`` approximation of ``matrix`` (Eckart-Young).

    The singular values are split evenly (``A = U sqrt(S)``, ``B = sqrt(S) V^T``) so both factors
    have the same scale, as freshly initialized ones have (``factor_std``): Adam then moves both
    at comparable relative rates during fine-tuning.
    """
    u, s, vt = np.linalg.svd(np.asarray(matrix, dtype="float64"), full_matrices=False)
    root = np.sqrt(s[:rank])
    a, b = u[:, :rank] * root, root[:, None] * vt[:rank]
    if rank > len(s):  # a rank beyond the matrix's: the extra components are zero
        a = np.pad(a, [(0, 0), (0, rank - len(s))])
        b = np.pad(b, [(0, rank - len(s)), (0, 0)])
    return a, b


def low_rank_with_partial_row(
    rows: np.ndarray, last: np.ndarray, rank: int, sweeps: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, Y)`` with ``X @ Y`` fitting ``rows`` (complete) and the first ``len(last)`` entries
    of one more row, the rest of that row free (least squares on the observed entries only).

    Starts from the truncated SVD of the complete rows and the partial row's least-squares
    coefficients (exact when the data are exactly rank ``rank``), then runs ``sweeps`` sweeps of
    alternating least squares, each of which can only lower the error on the observed entries.
    """
    tail = len(last)
    x, y = best_rank_factors(rows, rank)
    x_last = np.linalg.lstsq(y[:, :tail].T, last, rcond=None)[0]
    for _ in range(sweeps):
        both = np.vstack([x, x_last])
        y = np.hstack([np.linalg.lstsq(both, np.vstack([rows[:, :tail], last]), rcond=None)[0],
                       np.linalg.lstsq(x, rows[:, tail:], rcond=None)[0]])
        x = np.linalg.lstsq(y.T, rows.T, rcond=None)[0].T
        x_last = np.linalg.lstsq(y[:, :tail].T, last, rcond=None)[0]
    return np.vstack([x, x_last]), y
