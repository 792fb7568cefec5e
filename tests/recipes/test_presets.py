"""Recipes composed outside of deepthin-run: the same config files, the same models."""

import pytest

from deepthin.conf_dir import CONF_DIR
from recipes.presets import MODELS, PRESETS, build, compose_config, model_config


def test_models_and_presets_are_the_config_groups_and_every_recipe_has_every_preset():
    assert sorted(MODELS) == sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))
    assert sorted(PRESETS) == sorted(p.stem for p in (CONF_DIR / "preset").glob("*.yaml"))
    for model in MODELS:
        assert sorted(PRESETS) == sorted(p.stem for p in (CONF_DIR / "model" / model).glob("*.yaml"))


def test_the_preset_alone_selects_the_architecture():
    assert model_config("tfkaldi", "paper").arch.hidden_units == 2048
    run = compose_config(["model=deepspeech", "preset=tiny", "method=lowrank"])
    assert run.model == model_config("deepspeech", "tiny") and run.model.arch.n_hidden == 16
    model = build("tfkaldi", "cpu")  # 4 x 512 over 31 spliced frames of 40 filterbanks
    assert model.get_layer("hidden_1").kernel.shape == (31 * 40, 512)
    assert build("tfkaldi", "cpu", width=64).get_layer("hidden_4").kernel.shape == (64, 64)


@pytest.mark.parametrize("model, preset, message", [
    ("resnet", "cpu", "unknown model 'resnet'; allowed: tfkaldi, deepspeech"),
    ("tfkaldi", "huge", "unknown preset 'huge'; allowed: paper, cpu, tiny"),
])
def test_unknown_recipe_or_preset_is_one_line(model, preset, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        build(model, preset)
