import numpy as np
import tensorflow as tf

from deepthin.layers import CompressedDense
from deepthin.methods.hashednet import hash_positions


def test_entries_share_buckets_as_the_hash_says():
    layer = CompressedDense(48, method="hashednet", ratio=0.1, method_options={"hash_seed": 7}, seed=0)
    layer.build((None, 32))
    matrix = layer.kernel_matrix
    w = matrix.w.numpy()
    index, sign = hash_positions((32, 48), matrix.buckets, 7)
    np.testing.assert_allclose(matrix.kernel().numpy(), sign * w[index], rtol=1e-6)
    assert matrix.buckets == round(0.1 * 32 * 48) == w.size
    assert set(np.unique(index)) <= set(range(matrix.buckets))
    assert len(np.unique(index)) > 0.9 * matrix.buckets  # the hash spreads over buckets


def test_signs_are_plus_minus_one_and_balanced():
    _, sign = hash_positions((100, 100), 50, 2)
    assert set(np.unique(sign)) == {-1.0, 1.0}
    assert 0.45 < (sign > 0).mean() < 0.55


def test_same_seed_same_hash_other_seed_other_hash():
    a = hash_positions((64, 32), 100, 3)
    b = hash_positions((64, 32), 100, 3)
    c = hash_positions((64, 32), 100, 4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert (a[0] != c[0]).mean() > 0.9


def test_bucket_gradient_is_signed_sum():
    import tensorflow as tf

    layer = CompressedDense(8, method="hashednet", ratio=0.25, use_bias=False, seed=0)
    layer.build((None, 8))
    matrix = layer.kernel_matrix
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(matrix.kernel())
    grad = tape.gradient(loss, matrix.w.value)
    grad = tf.convert_to_tensor(grad).numpy()
    index, sign = hash_positions((8, 8), matrix.buckets, 2)
    expected = np.zeros(matrix.buckets, dtype="float32")
    np.add.at(expected, index.reshape(-1), sign.reshape(-1))
    np.testing.assert_allclose(grad, expected, atol=1e-6)


def test_bucket_gradient_is_the_signed_sum_over_its_positions():
    layer = CompressedDense(24, method="hashednet", ratio=0.2, seed=0)
    layer.build((None, 16))
    matrix = layer.kernel_matrix
    upstream = np.random.default_rng(0).normal(size=(16, 24)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(matrix.kernel(True) * upstream)
    grad = tape.gradient(loss, matrix.w.value)
    index, sign = hash_positions((16, 24), matrix.buckets, 2)
    expected = np.zeros(matrix.buckets, "float32")
    np.add.at(expected, index.ravel(), (sign * upstream).ravel())
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(np.asarray(grad), expected, rtol=1e-5, atol=1e-6)
