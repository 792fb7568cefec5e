import keras
import numpy as np
import pytest

from deepthin.layers import CompressedDense
from deepthin.methods.pruning import PruningMethod, polynomial_sparsity


def test_schedule_is_zhu_gupta_cubic():
    assert float(polynomial_sparsity(0, 0, 100, 0.9)) == pytest.approx(0.0)
    assert float(polynomial_sparsity(50, 0, 100, 0.9)) == pytest.approx(0.9 * (1 - 0.5**3))
    assert float(polynomial_sparsity(100, 0, 100, 0.9)) == pytest.approx(0.9)
    assert float(polynomial_sparsity(500, 0, 100, 0.9)) == pytest.approx(0.9)


def _train(model, steps):
    x = np.random.randn(steps * 8, 16).astype("float32")
    y = np.random.randn(steps * 8, 32).astype("float32")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)


def test_reaches_target_at_end_step_and_pruned_stay_zero():
    layer = CompressedDense(
        32, method="pruning", ratio=0.1, begin_step=2, end_step=13, frequency=4, seed=0
    )
    model = keras.Sequential([keras.Input((16,)), layer])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    matrix = layer.kernel_matrix
    _train(model, 5)  # steps 0..4: mask updated at step 2 (s=0) only
    assert int(matrix.step.numpy()) == 4
    _train(model, 9)  # steps 5..13: updates at 6, 10 and end_step 13
    assert int(matrix.step.numpy()) == 13
    kernel = matrix.kernel().numpy()
    assert np.count_nonzero(kernel) == matrix.stored_params() == round(0.1 * 16 * 32)
    pruned = kernel == 0
    _train(model, 20)  # after end_step the mask is frozen
    assert np.all(matrix.kernel().numpy()[pruned] == 0)
    assert matrix.stored_params() == round(0.1 * 16 * 32)
    assert matrix.stored_params_with_index() == 2 * matrix.stored_params() + 16 + 1


def test_intermediate_sparsity_follows_schedule():
    layer = CompressedDense(32, method="pruning", ratio=0.2, end_step=10, frequency=5, seed=0)
    model = keras.Sequential([keras.Input((16,)), layer])
    model.compile(optimizer="adam", loss="mse")
    _train(model, 6)  # steps 0..5, last update at step 5
    expected = 1 - float(polynomial_sparsity(5, 0, 10, 0.8))
    assert layer.kernel_matrix.stored_params() == round(expected * 512)


def test_bad_schedule_is_rejected():
    with pytest.raises(ValueError, match="begin_step=5, end_step=5"):
        PruningMethod((8, 8), 0.5, begin_step=5, end_step=5)
