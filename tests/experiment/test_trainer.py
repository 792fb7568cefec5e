"""The trainer's optimizer (schedule, warm-up, clipping from its config) and its step on every method."""

import numpy as np
import pytest
import tensorflow as tf

from deepthin.bench_models import model_inputs
from deepthin.compress import compress
from deepthin.experiment.trainer import Trainer, TrainerConfig
from deepthin.size import compressed_layers
from recipes.presets import build, model_config


def _lr(optimizer, step):
    return float(optimizer.learning_rate if not callable(optimizer._learning_rate)
                 else optimizer._learning_rate(step))


def test_cosine_schedule_with_warmup_and_clipping():
    config = TrainerConfig(epochs=4, learning_rate=2e-3, warmup_epochs=1, clip_value=None, clip_norm=5.0)
    optimizer = Trainer(config, blank=28).optimizer(steps_per_epoch=10)
    assert _lr(optimizer, 0) == pytest.approx(0.0)
    assert _lr(optimizer, 5) == pytest.approx(1e-3)  # halfway through the warm-up
    assert _lr(optimizer, 10) == pytest.approx(2e-3)  # peak
    assert _lr(optimizer, 40) == pytest.approx(2e-4)  # cosine decays to 10%
    assert optimizer.global_clipnorm == 5.0 and optimizer.clipvalue is None


def test_constant_schedule_and_unknown_schedule():
    config = TrainerConfig(learning_rate=1e-3, lr_schedule="constant", clip_value=1.0, clip_norm=None)
    optimizer = Trainer(config, blank=28).optimizer(steps_per_epoch=10)
    assert _lr(optimizer, 100) == pytest.approx(1e-3) and optimizer.clipvalue == 1.0
    with pytest.raises(ValueError, match="unknown lr_schedule 'step'; allowed: constant, cosine"):
        Trainer(TrainerConfig(lr_schedule="step"), blank=28).optimizer(steps_per_epoch=10)


@pytest.mark.parametrize("method,options", [
    ("deepthin", {"policy": "aligned"}), ("deepthin", {"policy": "paper"}), ("lowrank", {}),
    ("hashednet", {}), ("pruning", {}),
])
def test_one_training_step_of_the_tiny_preset_changes_every_compressed_variable(method, options):
    recipe = "deepspeech"  # dense layers and a bidirectional LSTM: every layer type
    model = compress(build(recipe, "tiny"), method, 0.05, layers=model_config(recipe).compressed_layers,
                     **options)
    trainer = Trainer(TrainerConfig(epochs=1, lr_schedule="constant", progress=False), blank=28)
    model.compile(optimizer=trainer.optimizer(steps_per_epoch=1))
    train_step, _ = trainer.steps(model)
    batch = {**model_inputs(model, batch=3, frames=12),
             "labels": tf.constant([[1, 2], [3, 4], [5, 6]], "int32"),
             "label_lengths": tf.constant([2, 2, 1], "int32")}
    matrices = [v for layer in compressed_layers(model) for m in layer.matrices.values()
                for v in m.variables if v.trainable]
    before = [v.numpy().copy() for v in matrices]
    loss = float(train_step(batch))
    assert np.isfinite(loss) and loss > 0
    assert matrices and all(not np.array_equal(b, v.numpy()) for b, v in zip(before, matrices, strict=True))
