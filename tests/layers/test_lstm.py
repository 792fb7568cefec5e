import keras
import numpy as np
import pytest

from deepthin.layers import CompressedLSTM
from deepthin.methods import weight_methods


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_dense_method_reproduces_keras_lstm(go_backwards, return_sequences):
    x = np.random.randn(3, 9, 12).astype("float32")
    mask = np.ones((3, 9), bool)
    mask[1, 6:] = False
    mask[2, 3:] = False
    kwargs = {"go_backwards": go_backwards, "return_sequences": return_sequences}
    reference = keras.layers.LSTM(10, **kwargs)
    reference.build((None, 9, 12))
    ours = CompressedLSTM(10, method="dense", ratio=1.0, **kwargs)
    ours.build((None, 9, 12))
    kernel, recurrent, bias = reference.get_weights()
    ours.kernel_matrix.w.assign(kernel)
    ours.recurrent_matrix.w.assign(recurrent)
    ours.bias.assign(bias)
    np.testing.assert_allclose(ours(x, mask=mask), reference(x, mask=mask), rtol=1e-5, atol=1e-5)


def test_forget_bias_starts_at_one():
    layer = CompressedLSTM(4, method="deepthin", ratio=0.5)
    layer.build((None, 5, 3))
    np.testing.assert_array_equal(layer.bias.numpy(), [0] * 4 + [1] * 4 + [0] * 8)


@pytest.mark.parametrize("method", weight_methods())
def test_bidirectional_compressed_lstm_trains_and_round_trips(method, tmp_path):
    inputs = keras.Input((None, 12))
    hidden = keras.layers.Bidirectional(
        CompressedLSTM(16, method=method, ratio=0.3, return_sequences=True)
    )(inputs)
    model = keras.Model(inputs, keras.layers.Dense(5)(hidden))
    model.compile(optimizer="adam", loss="mse")
    x = np.random.randn(8, 7, 12).astype("float32")
    model.fit(x, np.random.randn(8, 7, 5), epochs=2, verbose=0)
    assert model.output_shape == (None, None, 5)
    path = tmp_path / "bilstm.keras"
    model.save(path)
    np.testing.assert_array_equal(
        keras.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0)
    )
