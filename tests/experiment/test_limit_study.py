"""The limit study's runs (issue 27, point 6): hand-designed nets at other depths on the recipe's budget,
fit-only runs (fitted, 0 epochs), and the study's subtree of results/."""

import json

import pytest

from deepthin.conf_dir import study_prefix
from deepthin.experiment.handtuned import compressed_budget
from deepthin.experiment.run import check_overrides
from deepthin.experiment.strategies import HandTuned
from recipes.presets import model_builder, model_config


@pytest.mark.parametrize("ratio", [0.005, 0.05])
def test_handtuned_at_each_depth_stores_the_recipes_budget_within_two_percent(ratio):
    config = model_config("tfkaldi", "cpu")  # 4 x 512: the budget of every depth
    builder = model_builder(config, 29)
    budget = compressed_budget(builder(), ratio, config.compressed_layers)
    widths = []
    for depth in (1, 2, 3, 4):
        strategy = HandTuned(f"handtuned-d{depth}", hidden_layers=depth)
        built = strategy.build(builder, ratio, config.compressed_layers, total_steps=100)
        model = built.model
        assert built.target_params == budget  # the recipe's model's, not the shallower net's own
        assert [layer.name for layer in model.layers if layer.name.startswith("hidden_")] == [
            f"hidden_{i}" for i in range(1, depth + 1)]
        assert model.count_params() == pytest.approx(budget, rel=0.02), depth
        width = model.get_layer("hidden_1").units
        assert strategy.details(100) == {"hidden_layers": depth, "width": width}
        widths.append(width)
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]  # deeper: narrower


def test_handtuned_depth_refuses_a_bad_depth_and_a_recipe_without_one():
    tfkaldi = model_builder(model_config("tfkaldi", "tiny"), 29)
    for depth in (0, "two", True):
        message = rf"^method.hidden_layers={depth!r} is not a depth; allowed: a whole number >= 1$"
        with pytest.raises(ValueError, match=message):
            HandTuned(hidden_layers=depth).build(tfkaldi, 0.3, "hidden_.*", 10)
    deepspeech = model_builder(model_config("deepspeech", "tiny"), 29)
    with pytest.raises(ValueError, match="this recipe's model has no hidden_layers; allowed: a recipe "):
        HandTuned(hidden_layers=2).build(deepspeech, 0.3, "dense_.*", 10)


def test_a_study_is_one_directory_name():
    assert [study_prefix(s) for s in (None, "limit", "tuning-2")] == ["", "limit/", "tuning-2/"]
    for bad in ("../up", "a/b", "", ".hidden"):
        with pytest.raises(ValueError, match=f"^study={bad!r} is not a directory name; allowed: "):
            check_overrides([f"study={bad}"])
    check_overrides(["study=limit", "study=null"])


@pytest.mark.slow
def test_a_fit_only_run_records_the_fitted_models_metrics(dense_run, deepthin_run, cache_dir, tiny, tmp_path):
    """0 epochs: nothing trained; results.json's metrics are the fitted model's (as its metrics_at_fit),
    with its dev loss, in the limit study's subtree and its 0-epoch setting."""
    proc = deepthin_run(["-m", "model=tfkaldi", "method=lowrank,pruning", "ratio=0.3", "init=fit",
                         f"from_run={dense_run}", "trainer.epochs=0", "study=limit",
                         f"hydra.sweep.dir={tmp_path}", *tiny], cache_dir, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for method in ("lowrank", "pruning"):
        path = tmp_path / "limit/synth/tfkaldi-tiny-0epochs" / f"{method}+fit" / "ratio=0.3" / "seed=0"
        results = json.loads((path / "results.json").read_text())
        metrics, at_fit = results["metrics"], results["metrics_at_fit"]
        assert results["complete"] and results["from_run"] == str(dense_run)
        assert (metrics["epochs_run"], metrics["train_steps"], metrics["best_epoch"]) == (0, 0, -1)
        assert results["history"] == [{"epoch": 0, "dev_loss": pytest.approx(at_fit["dev_loss"], rel=1e-5)}]
        for key in ("dev_loss", "test_loss", "wer_lexicon", "wer_greedy", "cer_greedy"):
            assert metrics[key] == pytest.approx(at_fit[key], rel=1e-5), (method, key)
        assert results["size"]["stored_vs_target"] == pytest.approx(1.0, abs=0.02), method  # pruned at fit
