"""Build a recipe's model from its Hydra config file, outside of Hydra too.

``conf/model/<name>.yaml`` is the single source of each recipe's presets; the
runner reads it through Hydra, benchmarks and tests through :func:`build`.
"""

from __future__ import annotations

from typing import Any

import keras
from hydra.utils import get_method
from omegaconf import DictConfig, OmegaConf

from deepthin.conf_dir import CONF_DIR
from deepthin.validation import check_choice

MODELS = ("tfkaldi", "deepspeech")
PRESETS = ("paper", "cpu", "tiny")


def model_config(name: str) -> DictConfig:
    """The recipe's config file, ``conf/model/<name>.yaml``."""
    check_choice("model", name, MODELS)
    return OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml")


def build(
    model: DictConfig | str, preset: str, vocab_size: int = 29, width: int | None = None, **overrides: Any
) -> keras.Model:
    """The uncompressed model of recipe ``model`` at ``preset``."""
    config = model_config(model) if isinstance(model, str) else model
    check_choice("preset", preset, config.presets.keys())
    arch = {**OmegaConf.to_container(config.presets[preset]), **overrides}
    builder = get_method(config.builder)
    return builder(
        num_features=config.features.num_features, vocab_size=vocab_size, width=width, **arch
    )
