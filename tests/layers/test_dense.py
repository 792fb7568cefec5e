
import keras
import numpy as np
import pytest

from deepthin.export import save_for_inference
from deepthin.layers import CompressedDense, CompressedLSTM
from deepthin.methods import weight_methods


def _model(method, ratio, **options):
    return keras.Sequential([
        keras.Input((64,)),
        CompressedDense(256, method=method, ratio=ratio, activation="relu", seed=0, method_options=options),
        CompressedDense(256, method=method, ratio=ratio, seed=1, method_options=options),
    ])


@pytest.mark.parametrize("method", weight_methods())
def test_save_load_round_trip_is_exact(method, tmp_path):
    model = _model(method, 0.1, **({"end_step": 3, "frequency": 1} if method == "pruning" else {}))
    model.compile(optimizer="adam", loss="mse")
    x = np.random.randn(32, 64).astype("float32")
    model.fit(x, np.random.randn(32, 256), batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.layers[0].get_config() == model.layers[0].get_config()


@pytest.mark.parametrize("method", ["deepthin", "lowrank", "hashednet", "pruning"])
def test_saved_file_shrinks_with_ratio(method, tmp_path):
    sizes = {}
    for ratio in (0.5, 0.05):
        options = {"end_step": 1, "frequency": 1} if method == "pruning" else {}
        model = _model(method, ratio, **options)
        model.compile(optimizer="adam", loss="mse")
        model.fit(np.zeros((4, 64)), np.zeros((4, 256)), epochs=2, verbose=0)
        path = tmp_path / f"{ratio}.keras"
        sizes[ratio] = save_for_inference(model, path)
    dense_size = save_for_inference(_model("dense", 1.0), tmp_path / "dense.keras")
    dense_bytes = 4 * (64 * 256 + 256 * 256)
    assert sizes[0.05] < sizes[0.5] - 0.3 * dense_bytes
    assert sizes[0.05] < dense_size - 0.8 * dense_bytes


def test_policy_is_a_layer_option():
    layer = CompressedDense(32, method="deepthin", ratio=0.1, method_options={"policy": "aligned"})
    layer.build((None, 440))
    assert layer.kernel_matrix.options["policy"] == "aligned"
    assert layer.get_config()["method_options"] == {"policy": "aligned"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ratio": 0.0}, r"ratio=0.0 is outside \(0, 1\]; allowed: a number in \(0, 1\]"),
        ({"ratio": 1.5}, r"ratio=1.5 is outside \(0, 1\]"),
        ({"ratio": -0.1}, r"ratio=-0.1 is outside"),
        ({"method": "svd"}, r"unknown method 'svd'; allowed: deepthin, dense"),
        ({"method": "handtuned"}, r"method 'handtuned' changes the whole model"),
        ({"method": "lowrank", "method_options": {"policy": "paper"}},
         r"unknown option\(s\) policy for method"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layer = CompressedDense(8, **{"method": "deepthin", "ratio": 0.1, **kwargs})
        layer.build((None, 8))


def test_non_2d_kernel_is_rejected():
    from deepthin.methods.registry import make_method

    with pytest.raises(ValueError, match=r"weight shape \(3, 4, 5\) is not supported; allowed: a 2-D"):
        make_method("deepthin", (3, 4, 5), 0.1)


#: Configs as ``get_config`` wrote them before ``method_options`` was an argument (options then
#: rode in ``**kwargs``): a saved model holds these, so they must still build the same layer.
OLD_CONFIGS = [
    (CompressedDense, {
        "name": "h1", "trainable": True, "dtype": "float32", "units": 8, "activation": "linear",
        "use_bias": True, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                                               "config": {}, "registered_name": None},
        "method": "deepthin", "ratio": 0.25, "seed": 1, "method_options": {"policy": "aligned"},
        "inference": True, "fit_errors": {"kernel": 0.5},
    }),
    (CompressedLSTM, {
        "name": "l1", "trainable": True, "dtype": "float32", "units": 4, "activation": "tanh",
        "recurrent_activation": "sigmoid", "use_bias": True, "unit_forget_bias": True,
        "return_sequences": False, "return_state": False, "go_backwards": False,
        "zero_output_for_mask": False, "method": "pruning", "ratio": 0.3, "seed": 2,
        "method_options": {"end_step": 5, "frequency": 1}, "inference": False,
    }),
]


@pytest.mark.parametrize("cls, config", OLD_CONFIGS)
def test_a_config_in_the_old_format_builds_the_same_layer(cls, config):
    layer = cls.from_config(config)
    layer.build((None, 3, 16) if cls is CompressedLSTM else (None, 16))
    assert layer.get_config() == {**config, "dtype": layer.get_config()["dtype"]}
    assert {k: m.options for k, m in layer.matrices.items()} == {
        key: {**type(m).option_defaults, **config["method_options"]} for key, m in layer.matrices.items()
    }
    assert layer.inference is config["inference"]
    assert layer.fit_errors == config.get("fit_errors", {})


def test_method_options_are_not_keyword_arguments():
    with pytest.raises(ValueError, match="policy"):
        CompressedDense(8, method="deepthin", ratio=0.1, policy="aligned")
