import math

import numpy as np
import pytest

from deepthin.layers import CompressedDense
from deepthin.methods.deepthin import DeepThinMethod
from deepthin.methods.deepthin_plans import plan_aligned, plan_paper
from deepthin.methods.lowrank import LowRankMethod


def reference_kernel(x: np.ndarray, y: np.ndarray, m: int, n: int) -> np.ndarray:
    """The definition, in numpy: row-major flatten of X@Y, first m*n entries, reshape."""
    return (x @ y).reshape(-1)[: m * n].reshape(m, n)


@pytest.mark.parametrize("policy", ["paper", "aligned"])
@pytest.mark.parametrize("shape", [(24, 40), (64, 64), (30, 7)])
def test_kernel_matches_numpy_reference(policy, shape):
    layer = CompressedDense(shape[1], method="deepthin", ratio=0.3, method_options={"policy": policy}, seed=3)
    layer.build((None, shape[0]))
    matrix = layer.kernel_matrix
    expected = reference_kernel(matrix.x.numpy(), matrix.y.numpy(), *shape)
    np.testing.assert_allclose(matrix.kernel().numpy(), expected, rtol=1e-5, atol=1e-6)
    x = np.random.randn(5, shape[0]).astype("float32")
    np.testing.assert_allclose(layer(x).numpy(), x @ expected, rtol=1e-4, atol=1e-5)


def test_paper_policy_rows_never_line_up():
    for m, n in [(440, 2048), (2048, 2048), (4096, 8192), (64, 64)]:
        plan = plan_paper(m, n, 0.01)
        assert math.gcd(plan.n_aux, n) == 1
        assert plan.m_aux * plan.n_aux >= m * n
        assert 0.5 < plan.m_aux / plan.n_aux < 2.0  # near-square


def test_aligned_policy_width_is_multiple_or_divisor():
    for m, n in [(440, 2048), (2048, 2048), (4096, 4096), (2048, 8192)]:
        plan = plan_aligned(m, n, 0.01)
        assert plan.n_aux % n == 0 or n % plan.n_aux == 0
        assert plan.m_aux * plan.n_aux >= m * n


def test_core_claim_rank_exceeds_lowrank_at_equal_storage():
    m, n, ratio = 128, 128, 0.1
    lowrank = CompressedDense(n, method="lowrank", ratio=ratio, seed=1)
    lowrank.build((None, m))
    thin = CompressedDense(n, method="deepthin", ratio=ratio, seed=1)
    thin.build((None, m))
    low_m, thin_m = lowrank.kernel_matrix, thin.kernel_matrix
    assert isinstance(low_m, LowRankMethod) and isinstance(thin_m, DeepThinMethod)
    assert abs(low_m.stored_params() - thin_m.stored_params()) <= 0.02 * low_m.stored_params()
    r = thin_m.plan.rank
    assert low_m.max_rank <= r + 1
    low_rank = np.linalg.matrix_rank(low_m.kernel().numpy())
    thin_rank = np.linalg.matrix_rank(thin_m.kernel().numpy())
    assert low_rank <= low_m.max_rank
    assert thin_rank > 4 * low_m.max_rank, (thin_rank, r)


def test_kernel_has_glorot_variance():
    m, n = 512, 256
    layer = CompressedDense(n, method="deepthin", ratio=0.05, seed=5)
    layer.build((None, m))
    var = float(np.var(layer.kernel_matrix.kernel().numpy()))
    assert var == pytest.approx(2.0 / (m + n), rel=0.25)


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match="policy 'square'.*allowed: paper, aligned"):
        DeepThinMethod((64, 64), 0.1, policy="square")
