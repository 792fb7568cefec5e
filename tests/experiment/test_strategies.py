"""Fair comparisons: at the cpu presets every method stores what the ratio allows."""

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from deepthin.conf_dir import CONF_DIR
from deepthin.experiment.handtuned import compressed_budget
from deepthin.experiment.method_confs import per_matrix_methods
from deepthin.experiment.strategies import HandTuned, PerMatrix, Uncompressed
from deepthin.size import compressed_layers, model_stored_bytes, model_stored_params
from recipes.presets import model_builder, model_config


@pytest.mark.parametrize("recipe", ["tfkaldi", "deepspeech"])
@pytest.mark.parametrize("ratio", [0.01, 0.1])
def test_every_method_stores_within_two_percent_of_target(recipe, ratio):
    config = model_config(recipe, "cpu")
    builder = model_builder(config, 29)
    layers = config.compressed_layers
    base = builder()
    strategies = [PerMatrix("deepthin"), PerMatrix("deepthin-aligned", method="deepthin", policy="aligned"),
                  PerMatrix("lowrank"),
                  PerMatrix("hashednet"), PerMatrix("pruning"), PerMatrix("pruning", index_layout="flat32")]
    for strategy in strategies:
        model, target, _ = strategy.build(builder, ratio, layers, total_steps=100)
        for layer in compressed_layers(model):  # as a finished run leaves them (pruning: its final mask)
            for matrix in layer.matrices.values():
                matrix.apply_final_state()
        assert target == compressed_budget(base, ratio, layers), strategy.name
        # the budget is bytes: the target's weights as float32, each method's indices included
        assert model_stored_bytes(model) == pytest.approx(4 * target, rel=0.02), strategy.name
    model, target, _ = HandTuned().build(builder, ratio, layers, 100)
    assert target == compressed_budget(base, ratio, layers)
    assert model_stored_bytes(model) == 4 * model_stored_params(model)  # all float32: its budget is unchanged
    miss = abs(model_stored_params(model) - target)
    width = model.get_layer("logits").kernel.shape[0]
    # within 2%, or (a tiny model at 1%) the integer width nearest to the target
    assert miss <= 0.02 * target or all(
        abs(builder(width=w).count_params() - target) >= miss for w in (width - 1, width + 1)
    )
    model, target, dense = Uncompressed().build(builder, ratio, layers, 100)
    assert model_stored_params(model) == target == dense == base.count_params()


def test_handtuned_trains_a_narrower_network_from_scratch_only():
    builder = model_builder(model_config("tfkaldi", "tiny"), 29)
    with pytest.raises(ValueError, match="allowed: init=random and allocate=uniform"):
        HandTuned().build(builder, 0.1, "hidden_1", 10, layer_ratios={"hidden_1": 0.1})


def test_a_named_variant_compresses_with_its_method_and_options():
    """``deepthin-aligned`` is DeepThin with the aligned policy under a name of its own."""
    config = model_config("tfkaldi", "tiny")
    variant = PerMatrix("deepthin-aligned", method="deepthin", policy="aligned")
    model = variant.build(model_builder(config, 29), 0.1, config.compressed_layers, total_steps=10).model
    kernels = [layer for layer in model.layers if hasattr(layer, "method_options")]
    assert variant.name == "deepthin-aligned" and kernels
    assert {(k.method, k.method_options.get("policy")) for k in kernels} == {("deepthin", "aligned")}


def pruning(**options) -> PerMatrix:
    """The strategy ``conf/method/pruning.yaml`` builds (with other options)."""
    return PerMatrix("pruning", **options)


def test_pruning_schedule_spans_the_configured_fraction_of_training():
    options = pruning(begin_fraction=0.1, end_fraction=0.6, updates=10).method_options(total_steps=1000)
    assert options == {"begin_step": 100, "end_step": 600, "frequency": 50, "index_layout": "relative16"}
    details = pruning(begin_fraction=0.1, end_fraction=0.6, updates=10).details(total_steps=1000)
    assert details == {**options, "step_convention": "tfmot"}
    assert list(details) == ["begin_step", "end_step", "frequency", "index_layout", "step_convention"]
    # the committed CPU grids: 47 batches x 6 epochs, 39 x 15 (runs of 282 and 585 steps)
    assert pruning().method_options(282) == {"begin_step": 0, "end_step": 189, "frequency": 9,
                                             "index_layout": "relative16"}
    assert pruning(index_layout="flat32").method_options(585) == {"begin_step": 0, "end_step": 400,
                                                                  "frequency": 20, "index_layout": "flat32"}


def test_pruning_records_fit_mode_only_when_not_oneshot():
    """Runs recorded before fitting existed have no ``fit_mode``; a oneshot run must read the same."""
    assert "fit_mode" not in pruning(fit_mode="oneshot").details(282)
    gradual = pruning(fit_mode="gradual")
    assert gradual.method_options(282) == {"begin_step": 0, "end_step": 189, "frequency": 9,
                                           "index_layout": "relative16", "fit_mode": "gradual"}
    assert list(gradual.details(282)) == ["begin_step", "end_step", "frequency", "index_layout", "fit_mode",
                                          "step_convention"]


def test_the_pruning_config_builds_the_generic_strategy():
    """Adding a method names it nowhere in the strategies: its config targets ``PerMatrix``."""
    strategy = instantiate(OmegaConf.load(CONF_DIR / "method" / "pruning.yaml"))
    assert type(strategy) is PerMatrix and strategy.name == strategy.method == "pruning"
    assert strategy.method_options(282) == pruning().method_options(282)
    assert "pruning" in per_matrix_methods()


def test_pruning_schedule_reaches_the_final_sparsity_within_the_run():
    """By TFMOT's own rule (the ramp ends on the frequency grid) and at a step the run reaches."""
    fractions = [(0.0, 0.7, 20), (0.1, 0.6, 10), (0.0, 1.0, 7), (0.3, 0.35, 50), (0.0, 0.01, 20)]
    for begin, end, updates in fractions:
        strategy = pruning(begin_fraction=begin, end_fraction=end, updates=updates)
        for total_steps in [1, 2, 7, 50, 282, 585, 1000, 12345]:
            options = strategy.method_options(total_steps)
            b, e, f = options["begin_step"], options["end_step"], options["frequency"]
            assert 0 <= b < e <= total_steps and f >= 1 and (e - b) % f == 0, (options, total_steps)
            span = max(1, int(end * total_steps) - b)
            assert e > b + span - f  # within one frequency of end_fraction of the run
            assert (e - b) // f >= min(updates, span)


def test_bad_pruning_fractions_are_rejected():
    with pytest.raises(ValueError, match="begin_fraction=0.5, end_fraction=0.5"):
        pruning(begin_fraction=0.5, end_fraction=0.5).method_options(100)
    with pytest.raises(ValueError, match="pruning options updatez are unknown"):
        pruning(updatez=10).details(100)


def test_a_method_without_run_options_gets_its_config_options_as_they_are():
    assert PerMatrix("hashednet", hash_seed=2).method_options(100) == {"hash_seed": 2}
    assert PerMatrix("hashednet", hash_seed=2).details(100) == {"hash_seed": 2}
