"""Fair comparisons: at the cpu presets every method stores what the ratio allows."""

from functools import partial

import pytest

from deepthin.experiment.strategies import HandTuned, PerMatrix, Pruning, Uncompressed
from deepthin.report import model_stored_params
from recipes.presets import build, model_config


@pytest.mark.parametrize("recipe", ["tfkaldi", "deepspeech"])
@pytest.mark.parametrize("ratio", [0.01, 0.1])
def test_every_method_stores_within_two_percent_of_target(recipe, ratio):
    config = model_config(recipe)
    builder = partial(build, config, "cpu", 29)
    layers = config.compressed_layers
    strategies = [PerMatrix("deepthin"), PerMatrix("deepthin", policy="aligned"), PerMatrix("lowrank"),
                  PerMatrix("hashednet")]
    for strategy in strategies:
        model = strategy.build(builder, ratio, layers, total_steps=100)
        target = strategy.target_params(builder, ratio, layers)
        assert model_stored_params(model) == pytest.approx(target, rel=0.02), strategy.name
    handtuned = HandTuned()
    target = handtuned.target_params(builder, ratio, layers)
    miss = abs(model_stored_params(handtuned.build(builder, ratio, layers, 100)) - target)
    width = handtuned.build(builder, ratio, layers, 100).get_layer("logits").kernel.shape[0]
    # within 2%, or (a tiny model at 1%) the integer width nearest to the target
    assert miss <= 0.02 * target or all(
        abs(builder(width=w).count_params() - target) >= miss for w in (width - 1, width + 1)
    )
    dense = Uncompressed()
    assert model_stored_params(dense.build(builder, ratio, layers, 100)) == dense.target_params(
        builder, ratio, layers)


def test_pruning_schedule_spans_the_configured_fraction_of_training():
    options = Pruning(begin_fraction=0.1, end_fraction=0.6, updates=10).method_options(total_steps=1000)
    assert options == {"begin_step": 100, "end_step": 599, "frequency": 49}


def test_bad_pruning_fractions_are_rejected():
    with pytest.raises(ValueError, match="begin_fraction=0.5, end_fraction=0.5"):
        Pruning(begin_fraction=0.5, end_fraction=0.5)
