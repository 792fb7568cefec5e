"""The trainer's optimizer: schedule, warm-up and clipping come from its config."""

import pytest

from deepthin.experiment.trainer import Trainer, TrainerConfig


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
