"""LiteRT export: the .tflite file computes what Keras computes, and stays as small as the stored form."""

import keras
import numpy as np
import pytest

import deepthin
from deepthin.export import export_options, export_tflite, litert_runner, main, save_for_inference
from deepthin.methods.registry import get_method, make_method, weight_methods
from deepthin.size import compressed_layers
from recipes.presets import build, model_config

RATIO = 0.1
#: (label, method, options): every method, DeepThin under both policies.
METHODS = [
    ("dense", "dense", {}),
    ("lowrank", "lowrank", {}),
    ("deepthin-aligned", "deepthin", {"policy": "aligned"}),
    ("deepthin-paper", "deepthin", {"policy": "paper"}),
    ("hashednet", "hashednet", {}),
    ("pruning", "pruning", {}),
]
RECIPES = ["tfkaldi", "deepspeech"]


def _model(recipe, method, options):
    base = build(recipe, "tiny")
    if method == "dense":
        return base
    model = deepthin.compress(base, method, RATIO, layers=model_config(recipe).compressed_layers, **options)
    for layer in compressed_layers(model):  # as a finished training leaves them (pruning: its mask)
        for matrix in layer.matrices.values():
            matrix.apply_final_state()
    return model


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Every (recipe, method) exported once: (model, TfliteExport)."""
    out = tmp_path_factory.mktemp("tflite")
    done = {}
    for recipe in RECIPES:
        for label, method, options in METHODS:
            model = _model(recipe, method, options)
            done[recipe, label] = model, export_tflite(model, out / f"{recipe}-{label}.tflite")
    return done


@pytest.mark.parametrize("label", [m[0] for m in METHODS])
@pytest.mark.parametrize("recipe", RECIPES)
def test_litert_outputs_match_keras(exports, recipe, label):
    model, result = exports[recipe, label]
    run = litert_runner(result.path.read_bytes())
    deployed = deepthin.for_inference(model)
    features = model.input["features"].shape[-1]
    rng = np.random.default_rng(0)
    for frames, valid in [(30, 22), (11, 11)]:  # padding after the valid frames; a new length
        x = rng.normal(size=(1, frames, features)).astype("float32")
        lengths = np.array([valid], "int32")
        got = run(x, lengths)
        want = deployed({"features": x, "feature_lengths": lengths}, training=False)
        assert got["logits"].shape == tuple(want["logits"].shape)
        np.testing.assert_allclose(got["logits"], np.asarray(want["logits"]), rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(got["logit_lengths"], np.asarray(want["logit_lengths"]))


def _extra_params(model, label):
    """Float32 values the file may hold beyond the stored parameters, per the export's design."""
    extra = 0
    for layer in compressed_layers(model):
        for matrix in layer.matrices.values():
            m, n = matrix.shape
            if label == "lowrank":  # the partial component, zero-padded to a full column and row
                extra += m + n
            elif label == "pruning":  # one column index per value, one row pointer per row
                extra += matrix.stored_params() + n + 1
    return extra


@pytest.mark.parametrize("label", ["lowrank", "deepthin-aligned", "pruning"])
@pytest.mark.parametrize("recipe", RECIPES)
def test_factored_export_size_follows_stored_params(exports, recipe, label):
    """Weights in the file: the stored form (plus its index); the rest: ops and names, as for dense."""
    _, dense = exports[recipe, "dense"]
    model, result = exports[recipe, label]
    extra = _extra_params(model, label)
    assert result.constant_bytes <= 4 * (result.stored_params + extra) + 1024
    dense_graph = dense.size_bytes - dense.constant_bytes
    assert result.size_bytes - result.constant_bytes <= 1.5 * dense_graph + 4 * extra
    assert result.size_bytes < dense.size_bytes and dense.constant_bytes > 3 * result.constant_bytes
    assert not result.materialized


@pytest.mark.parametrize("label", ["deepthin-paper", "hashednet"])
def test_materialized_methods_say_so(exports, label):
    model, result = exports["tfkaldi", label]
    assert result.materialized == [layer.name for layer in compressed_layers(model)]
    lines = result.lines()
    assert len(lines) == 2 and "materialized" in lines[1] and f"{result.size_bytes:,} bytes" in lines[1]


def test_cli_exports_a_run_directory_with_int8_weights(tmp_path, capsys):
    model = _model("tfkaldi", "lowrank", {})
    save_for_inference(model, tmp_path / "model.keras")
    assert main([str(tmp_path), "--format", "tflite", "--quantize", "int8"]) == 0
    written = tmp_path / "model-int8.tflite"
    assert f"wrote {written}" in capsys.readouterr().out
    x = np.random.default_rng(1).normal(size=(1, 12, model.input["features"].shape[-1])).astype("float32")
    got = litert_runner(written.read_bytes())(x, np.array([12], "int32"))["logits"]
    inputs = {"features": x, "feature_lengths": np.array([12], "int32")}
    want = np.asarray(deepthin.for_inference(model)(inputs, training=False)["logits"])
    assert np.abs(got - want).max() < 0.05 * np.abs(want).max()  # int8 weights: close, not equal


@pytest.mark.parametrize("argv,named", [
    (["{dir}", "--format", "onnx"], "'onnx'"),
    (["{dir}", "--format", "tflite", "--quantize", "int4"], "'int4'"),
    (["{dir}/missing", "--format", "tflite"], "no model found"),
    (["{dir}/plain.keras", "--format", "tflite"], "not a recipe model"),
    (["{dir}/lowrank.keras", "--format", "tflite", "--out", "{dir}/no/such/m.tflite"], "does not exist"),
])
def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys, argv, named):
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    save_for_inference(plain, tmp_path / "plain.keras")
    save_for_inference(_model("tfkaldi", "lowrank", {}), tmp_path / "lowrank.keras")
    with pytest.raises(SystemExit) as exit_info:
        main([a.format(dir=tmp_path) for a in argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named in err
    assert "allowed" in err or "choose from" in err


@pytest.mark.parametrize("method, options, expected", [
    ("deepthin", {"policy": "aligned"}, {"inference_path": "compact"}),
    ("deepthin", {}, {"inference_path": "materialize"}),
    ("pruning", {"inference_path": "sparse"}, {"inference_path": "masked"}),
    ("lowrank", {}, {}),
    ("hashednet", {}, {}),
    ("dense", {}, {}),
])
def test_each_method_names_its_export_path(method, options, expected):
    assert export_options(method, options) == expected
    make_method(method, (64, 128), 0.1, **{**options, **expected})  # a path the method has


def test_only_pruning_asks_for_the_sparsity_pass_and_only_unfactored_w_is_materialized():
    assert [name for name in weight_methods() if get_method(name).export_sparse] == ["pruning"]
    materialized = {(label, method) for label, method, options in METHODS
                    if make_method(method, (64, 128), 0.1, **options).exports_dense_kernel}
    assert materialized == {("deepthin-paper", "deepthin"), ("hashednet", "hashednet")}
