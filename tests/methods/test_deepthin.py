import math
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from deepthin.experiment.layer_set import compressed_layer_pattern
from deepthin.layers import CompressedDense
from deepthin.methods.base import RATIO_TOLERANCE
from deepthin.methods.deepthin import DeepThinMethod
from deepthin.methods.deepthin_plans import plan_aligned, plan_paper
from deepthin.methods.lowrank import LowRankMethod
from recipes.presets import build, compose_config

#: The matrices the recipes compress, by preset (conf/model/*/*.yaml): TFKaldi's spliced input and
#: hidden layers; DeepSpeech's dense_1..3, its BiLSTM's input and recurrent kernels (width x 4 width)
#: and dense_5 (2 width x width); last, each one's output layer ``logits`` (compress_output=true).
RECIPE_SHAPES = {
    ("tfkaldi", "cpu"): [(1240, 512), (512, 512), (512, 29)],
    ("deepspeech", "cpu"): [(494, 256), (256, 256), (256, 1024), (512, 256), (256, 29)],
    ("tfkaldi", "paper"): [(440, 2048), (2048, 2048), (2048, 29)],
    ("deepspeech", "paper"): [(494, 2048), (2048, 2048), (2048, 8192), (4096, 2048), (2048, 29)],
}
PLAN_RATIOS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
ALL_SHAPES = sorted({shape for shapes in RECIPE_SHAPES.values() for shape in shapes})
#: Shapes whose kernel is differentiated at every ratio in a moment: the cpu presets', plus two of the
#: paper's at 0.005, their lowest rank (the rest of the paper's, up to 2048x8192, take seconds each:
#: their reads are checked by the plan's arithmetic only).
CPU_SHAPES = sorted({s for (_, preset), shapes in RECIPE_SHAPES.items() if preset == "cpu" for s in shapes})
PAPER_GRADIENT_SHAPES = [(440, 2048), (2048, 2048)]


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


def all_read_totals(m: int, n: int) -> np.ndarray:
    """Brute force: ``m' + n'`` of every coprime width ``n'`` at the height whose every row is read."""
    widths = np.arange(1, m * n + 1, dtype=np.int64)
    widths = widths[np.gcd(widths, n) == 1]
    return widths + -(-(m * n) // widths)


def expected_plan(m: int, n: int, ratio: float) -> tuple[int, int]:
    """Brute force: ``(rank, stored)`` of the largest rank storing within tolerance of the budget,
    never over, storing the most; else of the plan storing the most under the budget; else rank 1 at
    the smallest total (the layer is too small for the ratio)."""
    budget, totals = ratio * m * n, all_read_totals(m, n)
    ranks = range(int(budget // totals.min()), 0, -1)
    for rank in ranks:
        stored = rank * totals[(rank * totals <= budget) & (rank * totals >= (1 - RATIO_TOLERANCE) * budget)]
        if stored.size:
            return rank, int(stored.max())
    under = [(int((rank * totals[rank * totals <= budget]).max()), rank) for rank in ranks]
    return (max(under)[1], max(under)[0]) if under else (1, int(totals.min()))


@pytest.mark.parametrize("recipe", ["tfkaldi", "deepspeech"])
def test_recipe_shapes_are_what_the_cpu_recipes_compress(recipe):
    cfg = compose_config([f"model={recipe}", "preset=cpu", "compress_output=true"])
    pattern = compressed_layer_pattern(cfg)
    shapes = {tuple(w.shape) for layer in build(recipe, "cpu").layers if re.fullmatch(pattern, layer.name)
              for w in layer.weights if len(w.shape) == 2}
    assert shapes == set(RECIPE_SHAPES[recipe, "cpu"])


@pytest.mark.parametrize("ratio", PLAN_RATIOS)
@pytest.mark.parametrize("shape", ALL_SHAPES)
def test_paper_plan_reads_every_stored_entry_within_budget(shape, ratio):
    """Rows never line up (coprime ``n'``), every row of ``X`` and column of ``Y`` is read, and the
    stored count is within tolerance of the budget and never over it, or flagged as the nearest."""
    (m, n), matrix = shape, DeepThinMethod(shape, ratio)
    plan, budget = matrix.plan, ratio * m * n
    assert math.gcd(plan.n_aux, n) == 1
    assert (plan.m_aux - 1) * plan.n_aux < m * n <= plan.m_aux * plan.n_aux  # the last row of X is read
    assert plan.n_aux <= m * n  # so is every column of Y
    if matrix.ratio_note(RATIO_TOLERANCE):  # a small layer: the nearest achievable, checked by brute force
        assert (plan.rank, plan.params) == expected_plan(m, n, ratio)
    else:
        assert (1 - RATIO_TOLERANCE) * budget <= plan.params <= budget


@pytest.mark.parametrize("ratio", [0.01, 0.05, 0.2, 0.3])
@pytest.mark.parametrize("shape", [(30, 7), (64, 64), (200, 32), (32, 29), (130, 16), (512, 29)])
def test_paper_plan_is_the_largest_rank_storing_the_most(shape, ratio):
    plan = plan_paper(*shape, ratio)
    assert (plan.rank, plan.params) == expected_plan(*shape, ratio)


def factor_gradients(shape: tuple[int, int], ratio: float) -> list[np.ndarray]:
    """The gradient of a random linear function of the kernel with respect to each stored factor.

    In float64: a float32 sum of thousands of terms of either sign lands on exactly 0 once in some
    ten thousand entries, which a 2048-wide factor holds.
    """
    matrix = DeepThinMethod(shape, ratio)
    matrix.build(keras.layers.Layer(dtype="float64"), "kernel", seed=0)
    weights = tf.constant(np.random.default_rng(0).normal(size=shape), "float64")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(matrix.kernel(True) * weights)
    return [np.asarray(g) for g in tape.gradient(loss, matrix.variables)]


@pytest.mark.parametrize("shape, ratio", [(s, r) for s in CPU_SHAPES for r in PLAN_RATIOS]
                         + [(s, 0.005) for s in PAPER_GRADIENT_SHAPES])
def test_every_stored_factor_entry_gets_a_gradient(shape, ratio):
    plan, gradients = DeepThinMethod(shape, ratio).plan, factor_gradients(shape, ratio)
    assert [g.shape for g in gradients] == [(plan.m_aux, plan.rank), (plan.rank, plan.n_aux)]
    for gradient in gradients:
        assert np.count_nonzero(gradient) == gradient.size


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
