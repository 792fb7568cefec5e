"""Saving a trained compressed model for deployment."""

from __future__ import annotations

import os

import keras


def without_training_state(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with its weights but without optimizer or compile state.

    Adam keeps two moment buffers per trainable variable; for pruning these
    are dense-sized, so a file saved with them would be larger than the dense
    model's and say nothing about the compressed model itself.
    """
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def save_for_inference(model: keras.Model, path: str | os.PathLike) -> int:
    """Save ``model`` without training state to ``path`` (``.keras``); return the file size in bytes."""
    without_training_state(model).save(path)
    return os.path.getsize(path)
