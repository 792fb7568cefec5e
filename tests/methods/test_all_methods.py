"""Properties every per-matrix method must have."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deepthin.layers import CompressedDense
from deepthin.methods import METHODS, weight_methods
from deepthin.methods.registry import make_method
from deepthin.ratios import RATIOS, ratio_table

WEIGHT_METHODS = weight_methods()


def test_registry_names():
    assert set(METHODS) == {"dense", "deepthin", "lowrank", "hashednet", "pruning", "handtuned"}


@pytest.mark.parametrize("method", WEIGHT_METHODS)
def test_gradients_reach_every_trainable_variable(method):
    layer = CompressedDense(24, method=method, ratio=0.2, seed=0)
    x = tf.random.normal((6, 40))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) ** 2)
    grads = tape.gradient(loss, layer.trainable_variables)
    assert len(layer.trainable_variables) >= 2
    for variable, grad in zip(layer.trainable_variables, grads, strict=True):
        assert grad is not None, variable.name
        assert float(tf.reduce_sum(tf.abs(tf.convert_to_tensor(grad)))) > 0, variable.name


@pytest.mark.parametrize("method", WEIGHT_METHODS)
def test_tiny_model_learns_a_classification_task(method):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1200, 32)).astype("float32")
    teacher = rng.normal(size=(32, 4))
    y = np.argmax(np.tanh(x @ teacher) + 0.1 * rng.normal(size=(1200, 4)), axis=1)
    options = {"end_step": 150, "frequency": 20} if method == "pruning" else {}
    model = keras.Sequential([
        keras.Input((32,)),
        CompressedDense(128, method=method, ratio=0.25, activation="relu", seed=1, method_options=options),
        CompressedDense(4, method=method, ratio=0.5, seed=2, method_options=options),
    ])
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x[:1000], y[:1000], epochs=8, batch_size=50, verbose=0)
    _, accuracy = model.evaluate(x[1000:], y[1000:], verbose=0)
    majority = np.bincount(y[1000:]).max() / 200
    assert accuracy > max(0.45, majority + 0.15), (accuracy, majority)  # chance: about 0.25


@pytest.mark.parametrize("method", WEIGHT_METHODS)
def test_planned_params_match_built_variables(method):
    matrix = make_method(method, (40, 60), 0.1)
    layer = CompressedDense(60, method=method, ratio=0.1)
    layer.build((None, 40))
    trainable = sum(int(np.prod(v.shape)) for v in layer.kernel_matrix.variables if v.trainable)
    if method == "pruning":  # stores the survivors of a full kernel
        assert trainable == 40 * 60
    else:
        assert trainable == matrix.planned_params == layer.kernel_matrix.stored_params()


def test_every_ratio_within_two_percent_or_too_small():
    table = ratio_table()
    assert set(table.target) == set(RATIOS)
    assert table.within_2pct.mean() > 0.95
    off = table[~table.within_2pct]
    # only tiny layers miss, and then because even the smallest unit of storage
    # (one rank, one bucket, one weight) overshoots or rounds the budget
    assert set(off["shape"]) <= {"64x64"}, off
    assert (off.target <= 0.02).all()
