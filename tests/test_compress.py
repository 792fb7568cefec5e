import keras
import numpy as np
import pytest

import deepthin
from deepthin.layers import CompressedDense, CompressedLSTM


def functional_model():
    inputs = keras.Input((10, 20))
    x = keras.layers.Dense(32, activation="relu", name="pre")(inputs)
    x = keras.layers.LSTM(24, return_sequences=True, name="rnn")(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(8, return_sequences=True), name="birnn")(x)
    x = keras.layers.LayerNormalization(name="norm")(x)
    outputs = keras.layers.Dense(6, name="logits")(x)
    return keras.Model(inputs, outputs)


def test_compress_functional_model_with_dense_and_lstm():
    model = functional_model()
    x = np.random.randn(2, 10, 20).astype("float32")
    small = deepthin.compress(model, "deepthin", 0.25)
    assert small(x).shape == model(x).shape
    assert isinstance(small.get_layer("pre"), CompressedDense)
    assert isinstance(small.get_layer("rnn"), CompressedLSTM)
    assert isinstance(small.get_layer("birnn").forward_layer, CompressedLSTM)
    report = deepthin.size_report(small)
    # pre, logits: 1 matrix each; rnn: 2; birnn: 2 directions x 2
    assert len(report) == 8 + 1 and report.iloc[-1]["layer"] == "total"
    assert report.iloc[-1]["ratio"] == pytest.approx(0.25, rel=0.05)
    assert set(report["method"][:-1]) == {"deepthin"}
    # the untouched layer kept its weights
    np.testing.assert_array_equal(
        small.get_layer("norm").get_weights()[0], model.get_layer("norm").get_weights()[0]
    )


def test_layer_selection_by_names_and_regex():
    model = functional_model()
    by_names = deepthin.compress(model, "lowrank", 0.2, layers=["pre", "birnn"])
    assert isinstance(by_names.get_layer("pre"), CompressedDense)
    assert isinstance(by_names.get_layer("logits"), keras.layers.Dense)
    assert isinstance(by_names.get_layer("rnn"), keras.layers.LSTM)
    by_regex = deepthin.compress(model, "hashednet", 0.2, layers=r"rnn|pre")
    assert isinstance(by_regex.get_layer("rnn"), CompressedLSTM)
    assert isinstance(by_regex.get_layer("pre"), CompressedDense)
    assert isinstance(by_regex.get_layer("birnn").forward_layer, keras.layers.LSTM)


def test_compress_sequential_model_keeps_predictions_shape_and_trains():
    model = keras.Sequential([
        keras.Input((16,)),
        keras.layers.Dense(64, activation="relu", name="h"),
        keras.layers.Dense(3, name="o"),
    ])
    small = deepthin.compress(model, "pruning", 0.1, layers=["h"], end_step=5, frequency=1)
    small.compile(optimizer="adam", loss="mse")
    small.fit(np.random.randn(64, 16), np.random.randn(64, 3), batch_size=8, verbose=0)
    row = deepthin.size_report(small).iloc[0]
    assert row["stored_params"] == round(0.1 * 16 * 64 * 4 / 6)  # what the bytes buy with relative16 indices
    assert deepthin.model_stored_params(small) == row["stored_params"] + 64 + 3 * 64 + 3


@pytest.mark.parametrize(
    "layers, message",
    [
        (["norm"], r"layer 'norm' of type LayerNormalization cannot be compressed; allowed: Dense"),
        (["nope"], r"layer 'nope' is not in the model"),
        ("conv.*", r"layers='conv.\*' matches no Dense or LSTM layer"),
    ],
)
def test_bad_selection_is_rejected(layers, message):
    with pytest.raises(ValueError, match=message):
        deepthin.compress(functional_model(), "deepthin", 0.1, layers=layers)


def test_bad_method_and_ratio_are_rejected():
    with pytest.raises(ValueError, match="unknown method 'thin'; allowed: deepthin, dense"):
        deepthin.compress(functional_model(), "thin", 0.1)
    with pytest.raises(ValueError, match=r"ratio=2.0 is outside \(0, 1\]"):
        deepthin.compress(functional_model(), "deepthin", 2.0)


def test_subclassed_model_is_rejected():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = keras.layers.Dense(4)

        def call(self, x):
            return self.d(x)

    with pytest.raises(ValueError, match="model of type Net is not supported"):
        deepthin.compress(Net(), "deepthin", 0.1)


def trained_functional_model():
    model = functional_model()
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(scale=0.3, size=w.shape).astype("float32") for w in model.get_weights()])
    return model


def test_init_fit_with_dense_reproduces_the_trained_model_including_lstm_kernels():
    model = trained_functional_model()
    x = np.random.randn(2, 10, 20).astype("float32")
    copy = deepthin.compress(model, "dense", 1.0, init="fit")
    np.testing.assert_allclose(copy(x), model(x), atol=1e-5)
    report = deepthin.size_report(copy)
    assert "fit_error" in report and (report["fit_error"][:-1] == 0).all()


def test_init_fit_sets_every_matrix_and_survives_save_and_load(tmp_path):
    model = trained_functional_model()
    x = np.random.randn(2, 10, 20).astype("float32")
    fresh = deepthin.compress(model, "lowrank", 0.3, init="random")
    fitted = deepthin.compress(model, "lowrank", 0.3, init="fit")
    assert "fit_error" not in deepthin.size_report(fresh)
    report = deepthin.size_report(fitted)
    # pre, logits, rnn (kernel, recurrent_kernel), birnn (2 directions x 2): every one fitted
    assert len(report) == 9 and report["fit_error"][:-1].between(0.05, 0.99).all(), report
    rnn = fitted.get_layer("rnn")
    recurrent = model.get_layer("rnn").cell.recurrent_kernel.numpy()
    fitted_recurrent = rnn.recurrent_matrix.kernel().numpy()
    assert rnn.fit_errors["recurrent_kernel"] == pytest.approx(
        np.linalg.norm(recurrent - fitted_recurrent) / np.linalg.norm(recurrent), rel=1e-4)
    np.testing.assert_array_equal(rnn.bias.numpy(), model.get_layer("rnn").cell.bias.numpy())
    # a fit is closer to the trained model than a fresh start
    assert np.abs(fitted(x) - model(x)).mean() < np.abs(fresh(x) - model(x)).mean()
    fitted.save(tmp_path / "fitted.keras")
    loaded = keras.models.load_model(tmp_path / "fitted.keras")
    np.testing.assert_allclose(loaded(x), fitted(x), atol=1e-6)
    assert deepthin.size_report(loaded)["fit_error"].equals(report["fit_error"])


def test_per_layer_ratios_and_bad_init():
    model = trained_functional_model()
    small = deepthin.compress(model, "hashednet", {"pre": 0.5, "logits": 0.1}, init="fit")
    report = deepthin.size_report(small).set_index("layer")
    assert report.loc["pre/kernel", "target_ratio"] == 0.5
    assert report.loc["logits/kernel", "target_ratio"] == 0.1
    assert len(report) == 3
    with pytest.raises(ValueError, match="unknown init 'svd'; allowed: random, fit"):
        deepthin.compress(model, "lowrank", 0.3, init="svd")
    with pytest.raises(ValueError, match="ratio has no entry for layer"):
        deepthin.compress(model, "lowrank", {"pre": 0.5}, layers=["pre", "logits"])
