"""The factored route equals reconstruct-then-multiply in value and gradient; ``auto`` picks the cheaper."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deepthin.layers import CompressedDense, CompressedLSTM
from deepthin.methods.registry import make_method

# (method, options, shape, ratio): m != n, multiple and divisor widths, spare rows of X, a last row of
# X @ Y only partly used (35 = 11 * 3 + 2), lowrank with and without a partial component
CASES = [
    ("deepthin", {"policy": "aligned"}, (35, 6), 0.3),  # multiple k=3, rank 2, 2 spare rows
    ("deepthin", {"policy": "aligned"}, (123, 6), 0.3),  # multiple k=5, rank 4, no spare rows
    ("deepthin", {"policy": "aligned"}, (181, 6), 0.3),  # multiple k=6, rank 4, 14 spare rows
    ("deepthin", {"policy": "aligned"}, (6, 114), 0.3),  # divisor k=6, rank 3, 13 spare rows
    ("deepthin", {"policy": "aligned"}, (6, 69), 0.3),  # divisor k=3, rank 3, no spare rows
    ("lowrank", {}, (37, 53), 0.1),
    ("lowrank", {}, (130, 48), 0.3),
    ("lowrank", {}, (64, 32), 0.46875),  # budget 960 = 10 (m + n): no partial component
]


def _built(method, shape, ratio, **options):
    matrix = make_method(method, shape, ratio, **options)
    matrix.build(keras.layers.Layer(), "kernel", seed=0)
    return matrix


def _value_and_grads(fn, matrix, x, upstream):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
        loss = tf.reduce_sum(y * upstream)
    grads = tape.gradient(loss, [x, *matrix.variables])
    return [np.asarray(y)] + [np.asarray(tf.convert_to_tensor(g)) for g in grads]


@pytest.mark.parametrize("method,options,shape,ratio", CASES)
def test_factored_route_matches_reconstruction_in_value_and_gradient(method, options, shape, ratio):
    matrix = _built(method, shape, ratio, training_path="factored", **options)
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=(2, 5, shape[0])).astype("float32"))
    upstream = tf.constant(rng.normal(size=(2, 5, shape[1])).astype("float32"))
    factored = _value_and_grads(lambda v: matrix.matmul_fn(True, rows=10)(v), matrix, x, upstream)
    reconstructed = _value_and_grads(lambda v: v @ matrix.kernel(True), matrix, x, upstream)
    assert len(factored) == 2 + len(matrix.variables)
    for got, expected in zip(factored, reconstructed, strict=True):
        scale = float(np.abs(expected).max())
        assert scale > 0
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale)


def test_cases_cover_both_alignments_and_spare_rows():
    plans = [_built(m, s, r, **o) for m, o, s, r in CASES if m == "deepthin"]
    assert {p.alignment[0] for p in plans} == {"multiple", "divisor"}
    assert any(p.plan.m_aux * p.plan.n_aux - p.shape[0] * p.shape[1] >= p.plan.n_aux for p in plans)
    lowrank = [_built(m, s, r) for m, o, s, r in CASES if m == "lowrank"]
    assert {bool(p.part_rows) for p in lowrank} == {True, False}


@pytest.mark.parametrize("method,options", [("lowrank", {}), ("deepthin", {"policy": "aligned"})])
def test_auto_takes_the_factored_route_on_a_wide_layer_at_one_percent(method, options, monkeypatch):
    matrix = _built(method, (2048, 2048), 0.01, **options)
    costs = matrix.route_costs(rows=16 * 34)
    assert costs["factored"] * 20 < costs["reconstruct"]
    assert matrix.route(16 * 34) == "factored"
    monkeypatch.setattr(matrix, "kernel", lambda training=False: pytest.fail("W was built"))
    x = np.random.default_rng(0).normal(size=(3, 2048)).astype("float32")
    a, b = (np.asarray(f) for f in matrix.factors())
    np.testing.assert_allclose(np.asarray(matrix.matmul(x, training=True)), x @ a @ b, rtol=1e-4,
                               atol=1e-5)


def test_auto_reconstructs_where_that_is_cheaper():
    # divisor k=6, rank 3: R (m + n) = 18 * 120 > m n = 684 multiply-adds per row
    wide_rank = _built("deepthin", (6, 114), 0.3, policy="aligned")
    assert wide_rank.factored_width * sum(wide_rank.shape) > np.prod(wide_rank.shape)
    assert wide_rank.route(rows=512) == "reconstruct"
    # a tiny recurrent kernel at batch 4: the factored route's second matmul per step costs more than
    # the few multiply-adds it saves
    tiny = _built("lowrank", (16, 64), 0.05)
    costs = tiny.route_costs(rows=4 * 30, uses=30)
    assert costs["reconstruct"] < costs["factored"]
    assert tiny.route(rows=4 * 30, uses=30) == "reconstruct"
    assert tiny.route(rows=4 * 30, uses=1) == "factored"


def test_methods_without_factors_always_reconstruct():
    for method, options in [("deepthin", {"policy": "paper"}), ("hashednet", {}), ("pruning", {})]:
        matrix = _built(method, (2048, 2048), 0.01, **options)
        assert matrix.factored_width is None and matrix.route(512) == "reconstruct"


def test_training_path_is_checked_and_kept_in_the_config():
    with pytest.raises(ValueError, match="unknown lowrank training_path 'fast'; allowed: auto, factored"):
        make_method("lowrank", (8, 8), 0.5, training_path="fast")
    with pytest.raises(ValueError, match="training_path='factored' needs a factored form"):
        make_method("deepthin", (64, 64), 0.1, policy="paper", training_path="factored")
    layer = CompressedDense(8, method="lowrank", ratio=0.5, method_options={"training_path": "reconstruct"})
    restored = CompressedDense.from_config(layer.get_config())
    assert restored.method_options == {"training_path": "reconstruct"}


@pytest.mark.parametrize("method,options", [("lowrank", {}), ("deepthin", {"policy": "aligned"})])
def test_lstm_outputs_and_gradients_agree_across_routes(method, options):
    x = np.random.default_rng(2).normal(size=(3, 6, 40)).astype("float32")
    results = []
    for path in ("factored", "reconstruct"):
        layer = CompressedLSTM(24, method=method, ratio=0.1, seed=5, return_sequences=True,
                               method_options={"training_path": path, **options})
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x, training=True) ** 2)
        grads = tape.gradient(loss, layer.trainable_variables)
        results.append([np.asarray(loss)] + [np.asarray(g) for g in grads])
    for got, expected in zip(*results, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
