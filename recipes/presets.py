"""A recipe's model, composed from the Hydra configs, outside of ``deepthin-run`` too.

``conf/model/<name>.yaml`` and its architecture at each preset, ``conf/model/<name>/<preset>.yaml``,
are the single source of each recipe: ``deepthin-run`` composes them as a Hydra app, benchmarks,
scripts and tests through Hydra's compose API (:func:`compose_config`), with the same defaults list,
so both build the same model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import keras
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig

from deepthin.conf_dir import CONF_DIR
from deepthin.validation import check_choice

#: The recipes (``conf/model``) and presets (``conf/preset``), in the order error messages list them.
MODELS = ("tfkaldi", "deepspeech")
PRESETS = ("paper", "cpu", "tiny")


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The config ``deepthin-run OVERRIDES`` runs with (without Hydra's own ``hydra`` node)."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def model_config(name: str, preset: str = "cpu") -> DictConfig:
    """The composed config of recipe ``name`` at ``preset``: ``features``, ``compressed_layers``, ``arch``."""
    check_choice("model", name, MODELS)
    check_choice("preset", preset, PRESETS)
    return compose_config([f"model={name}", f"preset={preset}"]).model


def model_builder(model: DictConfig, vocab_size: int) -> Callable[..., keras.Model]:
    """``builder(width=None, **arch) -> keras.Model``: the uncompressed model of a composed ``model``
    config; ``width`` narrows its hidden layers (the hand-tuned baseline), ``arch`` replaces settings."""
    return partial(instantiate(model.arch), vocab_size=vocab_size)


def build(model: str, preset: str, vocab_size: int = 29, width: int | None = None, **overrides: Any
          ) -> keras.Model:
    """The uncompressed model of recipe ``model`` at ``preset``."""
    return model_builder(model_config(model, preset), vocab_size)(width=width, **overrides)
