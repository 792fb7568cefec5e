"""``compress_output``: which layers a run compresses, for every method alike, and where its runs go
(deepthin.experiment.layer_set)."""

import json
import re

import pytest

from deepthin.compress import _select
from deepthin.data import VOCAB
from deepthin.experiment.handtuned import compressed_budget
from deepthin.experiment.layer_set import check_compress_output, compressed_layer_pattern
from deepthin.experiment.run import build_model, check_overrides
from deepthin.experiment.start import variant_suffix
from deepthin.size import model_stored_bytes, size_report
from recipes.presets import build, compose_config, model_builder

HIDDEN = {"tfkaldi": {"hidden_1", "hidden_2"},
          "deepspeech": {"dense_1", "dense_2", "dense_3", "lstm", "dense_5"}}


def config(*overrides):
    return compose_config(["preset=tiny", *overrides])


@pytest.mark.parametrize("recipe", list(HIDDEN))
@pytest.mark.parametrize("compress_output", [False, True])
def test_the_output_layer_joins_the_recipes_compressed_layers(recipe, compress_output):
    cfg = config(f"model={recipe}", f"compress_output={str(compress_output).lower()}")
    chosen = _select(build(recipe, "tiny"), compressed_layer_pattern(cfg))
    assert chosen == HIDDEN[recipe] | ({"logits"} if compress_output else set())


def test_every_method_budgets_and_compresses_the_same_layers():
    ratio, builder = 0.3, model_builder(config("model=tfkaldi").model, VOCAB.size)
    base = builder()
    layers = "hidden_\\d+|logits"
    built = {method: build_model(config("model=tfkaldi", f"method={method}", "compress_output=true",
                                        f"ratio={ratio}"), builder, ratio, 10)[1]
             for method in ("dense", "deepthin", "lowrank", "handtuned")}
    budget = compressed_budget(base, ratio, layers)
    assert budget < compressed_budget(base, ratio, "hidden_\\d+")  # the output layer is in the budget
    assert {m: b.target_params for m, b in built.items()} == {
        "dense": base.count_params(), "deepthin": budget, "lowrank": budget, "handtuned": budget}
    assert {b.dense_params for b in built.values()} == {base.count_params()}
    for method in ("deepthin", "lowrank"):
        assert "logits/kernel" in set(size_report(built[method].model)["layer"])
        assert model_stored_bytes(built[method].model) / 4 == pytest.approx(budget, rel=0.02)


@pytest.mark.parametrize("value, expected", [(True, True), (False, False), ("TRUE", True), ("false", False)])
def test_compress_output_is_a_boolean(value, expected):
    assert check_compress_output(value) is expected


def test_a_bad_compress_output_is_one_line_before_hydra_starts():
    with pytest.raises(ValueError, match="^compress_output='maybe' is not a boolean; allowed: true, false$"):
        check_overrides(["method=deepthin", "compress_output=true,maybe"])
    with pytest.raises(ValueError, match="^compress_output=1 is not a boolean"):
        check_compress_output(1)


def test_runs_with_the_output_layer_compressed_are_named_apart():
    assert [variant_suffix("random", "uniform", flag) for flag in (False, True)] == ["", "+out"]
    assert variant_suffix("fit", "sensitivity", True) == "+fit+alloc+out"


@pytest.mark.slow
def test_a_run_with_the_output_layer_compressed(cache_dir, tmp_path, deepthin_run, tiny, dense_run):
    """A tiny deepthin run with ``compress_output=true``: its own run directory and method name,
    ``logits`` compressed, and ``model_ratio`` its whole model's bytes over the dense model's."""
    sweep = tmp_path / "sweep"
    proc = deepthin_run(["-m", "model=tfkaldi", "method=deepthin", "ratio=0.3", "compress_output=true",
                         "trainer.epochs=1", f"hydra.sweep.dir={sweep}", *tiny], cache_dir, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = sweep.rglob("results.json")
    assert re.fullmatch(r"synth/tfkaldi-tiny[^/]*/deepthin\+out/ratio=0\.3/seed=0",
                        str(path.parent.relative_to(sweep)))
    results = json.loads(path.read_text())
    assert results["method"] == "deepthin+out" and results["config"]["compress_output"] is True
    size = results["size"]
    assert "logits/kernel" in {row["layer"] for row in size["size_report"]}
    assert size["model_ratio"] == size["stored_bytes"] / (4 * build("tfkaldi", "tiny").count_params()) < 0.5
    dense = json.loads((dense_run / "results.json").read_text())  # the dense run stores the whole model
    assert dense["size"]["model_ratio"] == 1.0
