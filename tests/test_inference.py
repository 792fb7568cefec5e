"""Inference paths equal the materialized product; ``for_inference`` keeps outputs and saves."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import deepthin
from deepthin.layers import CompressedDense
from deepthin.methods.registry import make_method, weight_methods

SHAPES = [(40, 24), (37, 53), (64, 128), (130, 48), (96, 96)]
# (method, options): every inference path of every method
PATHS = [
    ("dense", {}),
    ("lowrank", {}),
    ("hashednet", {}),
    ("pruning", {"inference_path": "sparse"}),
    ("pruning", {"inference_path": "masked"}),
    ("deepthin", {"policy": "paper", "inference_path": "materialize"}),
    ("deepthin", {"policy": "paper", "inference_path": "blocked"}),
    ("deepthin", {"policy": "aligned", "inference_path": "factored"}),
    ("deepthin", {"policy": "aligned", "inference_path": "compact"}),
]


def _built(method, shape, ratio, **options):
    holder = keras.layers.Layer()
    matrix = make_method(method, shape, ratio, **options)
    matrix.build(holder, "kernel", seed=0)
    if method == "pruning":  # a real mask with most entries pruned
        keep = np.random.default_rng(0).random(shape) < ratio
        matrix.mask.assign(keep.astype("float32"))
    return matrix


@pytest.mark.parametrize("method,options", PATHS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("ratio", [0.05, 0.3])
def test_inference_path_equals_materialized_product(method, options, shape, ratio):
    matrix = _built(method, shape, ratio, **options)
    kernel = np.asarray(matrix.kernel(False))
    fn = tf.function(matrix.inference_fn())
    for batch in (1, 5):
        x = np.random.default_rng(batch).normal(size=(batch, shape[0])).astype("float32")
        np.testing.assert_allclose(np.asarray(fn(x)), x @ kernel, rtol=1e-4, atol=1e-4)
    x3 = np.random.default_rng(9).normal(size=(2, 3, shape[0])).astype("float32")  # (B, T, m)
    np.testing.assert_allclose(np.asarray(matrix.inference_fn()(x3)), x3 @ kernel, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("path", ["factored", "compact"])
@pytest.mark.parametrize("shape", [(2048, 2048), (440, 2048), (100, 8192), (2048, 512)])
@pytest.mark.parametrize("ratio", [0.005, 0.01, 0.2])
def test_aligned_factored_path_at_layer_shapes(shape, ratio, path):
    """Multiple and divisor widths, with and without a partly covered last row of X @ Y."""
    matrix = _built("deepthin", shape, ratio, policy="aligned", inference_path=path)
    x = np.random.default_rng(0).normal(size=(3, shape[0])).astype("float32")
    expected = x @ np.asarray(matrix.kernel(False))
    np.testing.assert_allclose(np.asarray(matrix.inference_fn()(x)), expected, rtol=1e-3, atol=1e-4)
    if path == "compact":  # the cache holds each stored factor entry at most once
        cached = sum(int(np.prod(v.shape)) for v in matrix.inference_state().values())
        assert cached <= matrix.stored_params()


def test_aligned_plans_cover_both_alignments():
    kinds = {_built("deepthin", s, r, policy="aligned").alignment[0]
             for s, r in [((2048, 2048), 0.01), ((440, 2048), 0.01)]}
    assert kinds == {"multiple", "divisor"}


def test_factored_path_rejects_a_misaligned_plan():
    for path in ("factored", "compact"):
        with pytest.raises(ValueError, match=f"inference_path='{path}'"):
            make_method("deepthin", (64, 64), 0.1, policy="paper", inference_path=path)
    assert make_method("deepthin", (64, 64), 0.1).inference_path == "materialize"


def test_cache_is_computed_once_and_follows_new_weights():
    matrix = _built("hashednet", (32, 16), 0.2)
    fn = tf.function(matrix.inference_fn())
    x = np.ones((1, 32), "float32")
    before = np.asarray(fn(x))
    cache = matrix.cached("kernel")
    assert matrix.cached("kernel") is cache  # not recomputed per call
    matrix.w.assign(matrix.w * 2.0)
    np.testing.assert_allclose(np.asarray(fn(x)), before)  # stale until refreshed, by design
    matrix.refresh_inference()
    np.testing.assert_allclose(np.asarray(fn(x)), 2.0 * before, rtol=1e-5)  # traced fn sees it


def _dense_model(method, **options):
    inputs = keras.Input((None, 20))
    x = keras.layers.Dense(48, activation="relu", name="h1")(inputs)
    x = keras.layers.Dense(48, activation="relu", name="h2")(x)
    outputs = keras.layers.Dense(5, name="out")(x)
    model = keras.Model(inputs, outputs)
    return deepthin.compress(model, method, 0.1, layers=["h1", "h2"], **options)


def _lstm_model(method, **options):
    inputs = keras.Input((None, 12))
    x = keras.layers.Bidirectional(keras.layers.LSTM(16, return_sequences=True, name="lstm"), name="lstm")(
        inputs
    )
    x = keras.layers.LSTM(8, name="uni")(x)
    model = keras.Model(inputs, keras.layers.Dense(3, name="out")(x))
    return deepthin.compress(model, method, 0.2, layers=["lstm", "uni"], **options)


def _perturb(model):
    """Give every weight (pruning masks included) non-initial values, as training would."""
    rng = np.random.default_rng(3)
    weights = []
    for w in model.get_weights():
        if w.dtype.kind == "f" and w.ndim == 2 and set(np.unique(w)) <= {0.0, 1.0}:
            weights.append((rng.random(w.shape) < 0.3).astype(w.dtype))  # a pruning mask
        elif w.dtype.kind == "f":
            weights.append(w + 0.05 * rng.normal(size=w.shape).astype(w.dtype))
        else:
            weights.append(w)
    model.set_weights(weights)


@pytest.mark.parametrize("build", [_dense_model, _lstm_model])
@pytest.mark.parametrize(
    "method,options",
    [("deepthin", {"policy": "aligned"}), ("deepthin", {}), ("lowrank", {}), ("hashednet", {}),
     ("pruning", {}), ("dense", {})],
)
def test_for_inference_keeps_outputs_and_round_trips(build, method, options, tmp_path):
    model = build(method, **options)
    _perturb(model)
    x = np.random.default_rng(0).normal(size=(2, 7, model.input_shape[-1])).astype("float32")
    expected = np.asarray(model(x, training=False))
    fast = deepthin.for_inference(model)
    assert all(layer.inference for layer in fast._flatten_layers() if hasattr(layer, "inference"))
    np.testing.assert_allclose(np.asarray(fast(x)), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fast.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
    path = tmp_path / "fast.keras"
    fast.save(path)
    model.save(tmp_path / "trained.keras")
    assert path.stat().st_size <= (tmp_path / "trained.keras").stat().st_size * 1.05 + 4096
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(x)), expected, rtol=1e-4, atol=1e-5)


def test_load_weights_refreshes_the_caches(tmp_path):
    model = _dense_model("hashednet")
    fast = deepthin.for_inference(model)
    x = np.ones((1, 2, 20), "float32")
    before = fast.predict(x, verbose=0)  # traces predict with the old caches
    _perturb(model)
    model.save_weights(tmp_path / "new.weights.h5")
    fast.load_weights(tmp_path / "new.weights.h5")
    after = fast.predict(x, verbose=0)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, np.asarray(model(x)), rtol=1e-4, atol=1e-5)


def test_training_path_is_unchanged_by_the_switch():
    layer = CompressedDense(16, method="lowrank", ratio=0.2, seed=0, inference=True)
    x = tf.random.normal((4, 30))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) ** 2)
    assert all(g is not None for g in tape.gradient(loss, layer.trainable_variables))
    assert layer.get_config()["inference"] is True
    assert set(weight_methods()) == {m for m, _ in PATHS}
