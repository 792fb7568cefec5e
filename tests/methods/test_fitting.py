"""Fitting each method's stored form to a trained dense kernel (``WeightMethod.fit``)."""

import numpy as np
import pytest

from deepthin.layers import CompressedDense
from deepthin.methods.deepthin import materialize
from deepthin.methods.fitting import relative_error
from deepthin.methods.hashednet import hash_positions


def fitted(method: str, shape: tuple[int, int], ratio: float, kernel: np.ndarray, **options):
    """A built layer holding ``shape`` at ``ratio``, fitted to ``kernel``; returns (matrix, error)."""
    layer = CompressedDense(shape[1], method=method, ratio=ratio, seed=0, method_options=options)
    layer.build((None, shape[0]))
    error = layer.kernel_matrix.fit_to(kernel)
    return layer.kernel_matrix, error


def svd_error(kernel: np.ndarray, rank: int) -> float:
    u, s, vt = np.linalg.svd(kernel, full_matrices=False)
    return relative_error(kernel, (u[:, :rank] * s[:rank]) @ vt[:rank])


def test_lowrank_fit_is_numpys_truncated_svd():
    kernel = np.random.default_rng(0).normal(size=(40, 60)).astype("float32")
    matrix, error = fitted("lowrank", (40, 60), 0.125, kernel)  # budget 300 = 3 (m + n)
    assert matrix.rank == 3 and matrix.part_rows == 0
    assert error == pytest.approx(svd_error(kernel, 3), rel=1e-5)


def test_lowrank_partial_component_only_lowers_the_error():
    kernel = np.random.default_rng(1).normal(size=(40, 60)).astype("float32")
    matrix, error = fitted("lowrank", (40, 60), 0.12, kernel)
    assert matrix.rank == 2 and matrix.part_rows > 0
    assert svd_error(kernel, 3) < error < svd_error(kernel, 2)


@pytest.mark.parametrize("policy", ["paper", "aligned"])
@pytest.mark.parametrize("shape, ratio", [((48, 64), 0.2), ((64, 40), 0.1)])
def test_deepthin_fit_recovers_a_kernel_of_rank_r_at_its_auxiliary_shape(policy, shape, ratio):
    rng = np.random.default_rng(2)
    probe, _ = fitted("deepthin", shape, ratio, np.zeros(shape, "float32"), policy=policy)
    plan = probe.plan
    x = rng.normal(size=(plan.m_aux, plan.rank)).astype("float32")
    y = rng.normal(size=(plan.rank, plan.n_aux)).astype("float32")
    kernel = np.asarray(materialize(x, y, shape))
    matrix, error = fitted("deepthin", shape, ratio, kernel, policy=policy)
    assert error < 1e-5
    # and a generic kernel: no better than the truncated SVD of its own layout, no worse than zero
    generic = rng.normal(size=shape).astype("float32")
    _, generic_error = fitted("deepthin", shape, ratio, generic, policy=policy)
    assert 0 < generic_error < 1


def test_hashednet_fit_recovers_a_hash_shared_kernel_and_is_least_squares():
    shape, ratio = (30, 50), 0.1
    probe, _ = fitted("hashednet", shape, ratio, np.zeros(shape, "float32"))
    index, sign = hash_positions(shape, probe.buckets, 2)
    w = np.random.default_rng(3).normal(size=probe.buckets).astype("float32")
    matrix, error = fitted("hashednet", shape, ratio, sign * w[index])
    assert error < 1e-6
    np.testing.assert_allclose(matrix.w.numpy(), w, rtol=1e-5)
    # on any kernel, moving a shared weight away from its fit only raises the squared error
    kernel = np.random.default_rng(4).normal(size=shape).astype("float32")
    matrix, error = fitted("hashednet", shape, ratio, kernel)
    nudged = matrix.w.numpy().copy()
    nudged[0] += 1e-2
    assert relative_error(kernel, sign * nudged[index]) > error


def test_pruning_fit_keeps_the_largest_magnitudes_at_once_or_prunes_gradually():
    kernel = np.random.default_rng(5).normal(size=(20, 30)).astype("float32")
    matrix, _ = fitted("pruning", (20, 30), 0.1, kernel, end_step=50)
    kept = np.abs(kernel)[matrix.mask.numpy() > 0]
    count = round(0.1 * 600 * 4 / 6)  # the survivors 10% of the dense bytes pays for (relative16 indices)
    assert matrix.stored_params() == count and kept.min() >= np.sort(np.abs(kernel).ravel())[-count]
    assert int(matrix.step.numpy()) == 50 and matrix.ratio_note(0.02) == ""  # schedule over
    gradual, error = fitted("pruning", (20, 30), 0.1, kernel, fit_mode="gradual")
    assert error == 0 and gradual.stored_params() == 600 and int(gradual.step.numpy()) == 0


def test_dense_fit_copies_and_a_wrong_shape_is_refused():
    kernel = np.random.default_rng(6).normal(size=(5, 7)).astype("float32")
    matrix, error = fitted("dense", (5, 7), 1.0, kernel)
    assert error == 0
    with pytest.raises(ValueError, match=r"kernel of shape \(7, 5\) cannot fit a \(5, 7\) matrix"):
        matrix.fit_to(kernel.T)
