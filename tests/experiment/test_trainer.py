"""The trainer's optimizer (schedule, warm-up, clipping from its config), its step on every method, and
the plateau schedule: halving, stopping, resuming, and never before the model is eligible."""

import json

import numpy as np
import pytest
import tensorflow as tf

from deepthin.bench_models import model_inputs
from deepthin.compress import compress
from deepthin.data import VOCAB, Example, make_dataset
from deepthin.experiment import trainer as trainer_module
from deepthin.experiment.ctc import ctc_loss, forward
from deepthin.experiment.trainer import Trainer, TrainerConfig, saved_state
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
    with pytest.raises(ValueError, match="unknown lr_schedule 'step'; allowed: constant, cosine, plateau"):
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


def test_zero_epochs_return_the_model_untrained_with_its_dev_loss(tmp_path):
    """``trainer.epochs=0`` (the limit study's fit-only runs): the model as given, and its dev loss."""
    model = build("tfkaldi", "tiny")
    batch = {**model_inputs(model, batch=3, frames=12),
             "labels": tf.constant([[1, 2], [3, 4], [5, 6]], "int32"),
             "label_lengths": tf.constant([2, 2, 1], "int32")}
    weights = [w.copy() for w in model.get_weights()]

    def no_training(epoch):
        raise AssertionError(f"asked for epoch {epoch}'s batches at 0 epochs")

    trainer = Trainer(TrainerConfig(epochs=0, progress=False, tensorboard=False), blank=28)
    returned, state = trainer.fit(model, no_training, tf.data.Dataset.from_tensors(batch), 1, tmp_path)
    assert returned is model
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights(), strict=True))
    dev_loss = float(np.mean(ctc_loss(batch, *forward(model, batch), 28)))
    assert state.history == [{"epoch": 0, "dev_loss": pytest.approx(dev_loss, rel=1e-5)}]
    assert state.metrics()["dev_loss"] == state.history[0]["dev_loss"]
    assert (state.metrics()["epochs_run"], state.metrics()["train_steps"]) == (0, 0)


@pytest.mark.parametrize("options, message", [
    ({"planned_epochs": 9, "epochs": 8}, "trainer.planned_epochs=9 is outside 1..8"),
    ({"planned_epochs": 0}, "trainer.planned_epochs=0 is outside 1..10"),
    ({"plateau_factor": 1.0}, "trainer.plateau_factor=1.0, plateau_threshold=0.01 is invalid"),
    ({"plateau_threshold": -0.1}, "plateau_threshold=-0.1 is invalid; allowed: 0 < plateau_factor < 1"),
])
def test_bad_plateau_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        TrainerConfig(**options)


def test_methods_plan_for_planned_epochs_when_set():
    assert TrainerConfig(epochs=30, planned_epochs=8).planned_steps(steps_per_epoch=5) == 40
    assert TrainerConfig(epochs=12).planned_steps(steps_per_epoch=5) == 60


def test_plateau_schedule_warms_up_as_cosine_does():
    config = TrainerConfig(epochs=30, learning_rate=2e-3, lr_schedule="plateau", warmup_epochs=1,
                           progress=False, tensorboard=False)
    trainer = Trainer(config, blank=28)
    optimizer = trainer.optimizer(steps_per_epoch=10)
    state = trainer_module.TrainState(learning_rate=2e-3)
    rates = []
    for step in (0, 5, 10, 11):
        trainer._warm_up(optimizer, state, step, steps_per_epoch=10)
        rates.append(float(optimizer.learning_rate))
    assert rates == pytest.approx([0.0, 1e-3, 2e-3, 2e-3])  # step 11: left at the plateau's rate


#: Dev losses scripted per epoch (the trainer's own evaluation is replaced), for the plateau tests.
LOSSES = [10.0, 8.0, 7.99, 7.0, 7.5, 7.6, 7.7, 7.8]


class Killed(Exception):
    """Stands for a kill during an epoch's evaluation: that epoch is never saved."""


@pytest.fixture
def plateau_run(monkeypatch, tmp_path):
    """``fit(losses, workdir, eligible=..., kill_at=None) -> (model, state)``: a plateau run of a tiny
    TFKaldi model whose dev loss after epoch e is ``losses[e - 1]``."""
    rng = np.random.default_rng(0)
    examples = [Example(f"u{i}", "s", "ab", rng.normal(size=(30, 40)).astype("float32"),
                        np.array([1, 2], "int32")) for i in range(4)]
    dev = make_dataset(examples, 2)
    config = TrainerConfig(epochs=len(LOSSES), learning_rate=1e-3, lr_schedule="plateau", warmup_epochs=0,
                           patience=2, plateau_factor=0.5, plateau_threshold=0.01, progress=False,
                           tensorboard=False)

    def fit(losses, workdir, eligible=lambda model: True, kill_at=None):
        done = len(saved.history) if (saved := saved_state(workdir)) else 0

        def scripted(eval_step, batches):
            nonlocal done
            done += 1
            if done == kill_at:
                raise Killed
            return losses[done - 1]

        monkeypatch.setattr(trainer_module, "evaluate_loss", scripted)
        model = build("tfkaldi", "tiny", VOCAB.size)
        return Trainer(config, VOCAB.blank).fit(model, lambda epoch: make_dataset(examples, 2, shuffle=True),
                                                dev, 2, tmp_path / workdir, eligible)

    return fit


def test_plateau_halves_the_rate_when_the_dev_loss_flattens_and_stops_after_patience(plateau_run):
    model, state = plateau_run(LOSSES, "run")
    # epoch 3 improves by less than 1% and epochs 5 and 6 not at all: each halves the rate after it;
    # epochs 5 and 6 are the patience of 2 epochs without a new best
    rates = [h["learning_rate"] for h in state.history]
    assert rates == pytest.approx([1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4])
    assert state.learning_rate == pytest.approx(1.25e-4)
    assert (state.epoch, state.best_epoch, state.stopped_early) == (6, 4, True)
    assert float(model.optimizer.learning_rate) == pytest.approx(5e-4)  # the best epoch's (4) checkpoint


def test_a_resumed_plateau_run_goes_on_at_the_rate_it_had_reached(plateau_run, tmp_path):
    _, straight = plateau_run(LOSSES, "straight")
    with pytest.raises(Killed):
        plateau_run(LOSSES, "killed", kill_at=5)   # dies in epoch 5, after its rate was halved (epoch 3)
    record = json.loads((tmp_path / "killed" / "checkpoint" / "state.json").read_text())
    assert (record["epoch"], record["learning_rate"]) == (4, pytest.approx(5e-4))
    _, resumed = plateau_run(LOSSES, "killed")
    assert [h["learning_rate"] for h in resumed.history] == [h["learning_rate"] for h in straight.history]
    assert (resumed.epoch, resumed.best_epoch, resumed.learning_rate) == (
        straight.epoch, straight.best_epoch, straight.learning_rate)


def test_a_plateau_run_neither_anneals_nor_stops_before_its_model_is_eligible(plateau_run):
    epochs = []

    def from_epoch_4(model):   # as a pruning run, above its budget until its ramp ends
        epochs.append(len(epochs) + 1)
        return epochs[-1] >= 4

    rising = [5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]   # never a better dev loss than the first
    _, state = plateau_run(rising, "run", eligible=from_epoch_4)
    # epochs 1-3 neither halve nor count; epoch 4 is the first best; 5 and 6 halve and stop the run
    assert [h["learning_rate"] for h in state.history] == pytest.approx([1e-3] * 5 + [5e-4])
    assert (state.epoch, state.best_epoch, state.stopped_early) == (6, 4, True)
