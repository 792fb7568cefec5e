"""One trainer for every recipe and method: CTC, Adam, clipping, checkpoints, resume.

It knows nothing about compression. Whatever a method needs during training
(pruning's mask schedule, for instance) happens inside the layers' forward
pass, so every method sees exactly the same loop, data order, optimizer,
schedule and step budget.

Resume: after every epoch the trainer saves the compiled model (weights and
optimizer state) and a small ``state.json``. A killed run started again with
the same working directory continues from the last finished epoch; the data
order of epoch ``e`` depends only on ``(seed, e)``, so the resumed run follows
the same trajectory as an uninterrupted one.

Schedules (``lr_schedule``): ``cosine`` and ``constant`` are fixed up front;
``plateau`` (Kaldi's "newbob") warms up as cosine does, then multiplies the
rate by ``plateau_factor`` after each epoch that lowers the best dev loss by
less than ``plateau_threshold`` of it; the run stops after ``patience`` epochs
without a new best, or at ``epochs``, its maximum. Why: cosine decays over
``epochs``, so a run stopped early has trained at a high rate throughout; a
plateau run anneals when its dev loss flattens, whenever that is. Its rate is
in ``state.json``, so a resumed run goes on at the rate reached. Only eligible
epochs (:meth:`Trainer.fit`) lower the rate or count towards stopping, and
methods plan by ``planned_epochs``, a length known up front
(:meth:`TrainerConfig.planned_steps`): pruning reaches its budget, then stops.

Fixed cost per step (measured for issue 13 with ``python scripts/epoch_cost.py
model=tfkaldi data=fsdd data.root=../shared/data/fsdd/recordings --preset tiny
--max-steps 60 --methods dense`` on the shared 2-core machine): a ``tiny`` step
does 0.019 GFLOP, about 1 ms of arithmetic, yet takes a median 17 ms of CPU.
The traced step holds 1333 ops (forward, CTC, gradients, clipping, Adam's
per-variable updates), and TensorFlow's executor spends about 10 us on each
whatever its size, so small models are bound by op count, not arithmetic;
only fusing ops (XLA, which recompiles per padded shape) would lower it.
Retracing per padded length is removed: the steps are traced for unknown
batch and length (:func:`any_shape`), twice per run instead of three times
(the second trace is TensorFlow's when the first call creates Adam's slots;
2.5 s of CPU for both at this size). Kept on purpose: op determinism (a
resumed run must follow the uninterrupted one; the weighted ``bincount`` of
HashedNets is deterministic on the CPU) and the loss fetched every step for
:func:`check_finite` (eager execution on the CPU is synchronous, so fetching
one scalar adds no wait).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from deepthin.experiment.ctc import ctc_loss, forward
from deepthin.validation import check_choice

#: Training data for one epoch: ``epoch -> batches`` (dicts of padded tensors).
EpochData = Callable[[int], tf.data.Dataset]


#: The learning-rate schedules (module doc).
SCHEDULES = ("constant", "cosine", "plateau")


@dataclass
class TrainerConfig:
    """The training budget and optimizer, identical for every method of a sweep."""

    epochs: int = 10  # plateau: the most epochs a run may train
    learning_rate: float = 3e-3
    lr_schedule: str = "cosine"  # constant | cosine: cosine decay to 10% over the run | plateau (module doc)
    warmup_epochs: float = 0.5  # linear warm-up from 0 (cosine and plateau schedules)
    plateau_factor: float = 0.5  # plateau: the rate is multiplied by this after an epoch that lowers
    plateau_threshold: float = 0.01  # ... the best dev loss by less than this fraction of it
    planned_epochs: int | None = None  # the run's length as methods plan for it; None: epochs
    clip_value: float | None = None  # per-element gradient clipping to [-c, c], as TFKaldi did
    clip_norm: float | None = 10.0  # or clipping of the global gradient norm
    patience: int = 3  # epochs without dev-loss improvement before stopping early
    progress: bool = True
    tensorboard: bool = True

    def __post_init__(self) -> None:
        check_choice("lr_schedule", self.lr_schedule, SCHEDULES)
        if not 0 < self.plateau_factor < 1 or self.plateau_threshold < 0:
            raise ValueError(f"trainer.plateau_factor={self.plateau_factor}, plateau_threshold="
                             f"{self.plateau_threshold} is invalid; allowed: 0 < plateau_factor < 1, "
                             "plateau_threshold >= 0")
        if self.planned_epochs is not None and not 1 <= self.planned_epochs <= self.epochs:
            raise ValueError(f"trainer.planned_epochs={self.planned_epochs} is outside 1..{self.epochs} "
                             "(trainer.epochs); allowed: null or at most trainer.epochs, so that what a "
                             "method plans (pruning's ramp) ends within the run")

    def planned_steps(self, steps_per_epoch: int) -> int:
        """The run's length in steps as methods plan for it: ``planned_epochs`` (else ``epochs``) epochs.

        Why not always ``epochs``: for a plateau run that is only a maximum, and a pruning ramp spread
        over it would keep the model above its budget long after the other methods have stopped.
        """
        return (self.planned_epochs or self.epochs) * steps_per_epoch


@dataclass
class TrainState:
    """What ``state.json`` records between epochs."""

    epoch: int = 0  # epochs finished
    best_epoch: int = -1
    best_dev_loss: float = math.inf
    bad_epochs: int = 0
    stopped_early: bool = False
    learning_rate: float | None = None  # plateau: the rate reached (None: a schedule fixed up front)
    train_seconds: float = 0.0
    steps: int = 0
    history: list[dict[str, float]] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        """What a run reports of its training; ``dev_loss`` is the returned model's (the best eligible
        epoch's, else the last's)."""
        return {"dev_loss": self.best_dev_loss if self.best_epoch > 0 else self.history[-1]["dev_loss"],
                "best_epoch": self.best_epoch, "epochs_run": self.epoch, "stopped_early": self.stopped_early,
                "train_steps": self.steps, "train_seconds": self.train_seconds}


class Trainer:
    """Trains a CTC acoustic model in ``workdir``, resuming what is already there."""

    def __init__(self, config: TrainerConfig, blank: int) -> None:
        self.config = config
        self.blank = blank

    # ------------------------------------------------------------ set-up
    def optimizer(self, steps_per_epoch: int) -> keras.optimizers.Optimizer:
        """Adam with this config's schedule and clipping."""
        lr: Any = self.config.learning_rate
        warmup = self._warmup_steps(steps_per_epoch)
        if self.config.lr_schedule == "cosine":
            decay = max(1, self.config.epochs * steps_per_epoch - warmup)
            lr = keras.optimizers.schedules.CosineDecay(
                0.0 if warmup else lr, decay, alpha=0.1, warmup_target=lr if warmup else None,
                warmup_steps=warmup,
            )
        elif self.config.lr_schedule == "plateau" and warmup:  # a variable: _warm_up, _adapt_rate set it
            lr = 0.0
        return keras.optimizers.Adam(
            lr, clipvalue=self.config.clip_value, global_clipnorm=self.config.clip_norm
        )

    def steps(self, model: keras.Model, spec: Any = None) -> tuple[Callable, Callable]:
        """Compiled ``train_step(batch) -> loss`` and ``eval_step(batch) -> per-utterance losses``.

        ``spec``: the batches' ``element_spec``; given, each step is traced
        once for every batch and padded length (see the module doc).
        """
        optimizer = model.optimizer
        signature = None if spec is None else [any_shape(spec)]

        @tf.function(reduce_retracing=True, input_signature=signature)
        def train_step(batch: dict[str, tf.Tensor]) -> tf.Tensor:
            with tf.GradientTape() as tape:
                logits, lengths = forward(model, batch, training=True)
                loss = tf.reduce_mean(ctc_loss(batch, logits, lengths, self.blank))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(grads, model.trainable_variables)
            return loss

        @tf.function(reduce_retracing=True, input_signature=signature)
        def eval_step(batch: dict[str, tf.Tensor]) -> tf.Tensor:
            return ctc_loss(batch, *forward(model, batch), self.blank)

        return train_step, eval_step

    # ------------------------------------------------------------ public
    def fit(
        self, model: keras.Model, train: EpochData, dev: tf.data.Dataset, steps_per_epoch: int,
        workdir: str | Path, eligible: Callable[[keras.Model], bool] = lambda model: True,
    ) -> tuple[keras.Model, TrainState]:
        """Train (or resume) and return the best model on dev loss and the final state.

        Only epochs whose model is ``eligible`` compete for "best" and count
        towards early stopping: a model still being shrunk during training
        (pruning before its final sparsity) must not win by storing more than
        its budget. If no epoch qualifies, the last model is returned. With
        ``epochs=0`` the model is returned untrained, with its dev loss: the
        limit study's fit-only runs (``init=fit``) measure a fitted model so.
        """
        workdir = Path(workdir)
        ckpt = workdir / "checkpoint"
        ckpt.mkdir(parents=True, exist_ok=True)
        model, state = self._resume_or_compile(model, workdir, steps_per_epoch)
        train_step, eval_step = self.steps(model, dev.element_spec)
        if self.config.epochs == 0:  # nothing to train (a fit-only run): the model as given, and its dev loss
            state.history.append({"epoch": 0, "dev_loss": evaluate_loss(eval_step, dev)})
            return model, state
        writer = None
        if self.config.tensorboard:
            writer = tf.summary.create_file_writer(str(workdir / "tensorboard"))
        while state.epoch < self.config.epochs and not state.stopped_early:
            self._run_epoch(train_step, eval_step, train, dev, state, steps_per_epoch, model.optimizer)
            self._report(state.history[-1], writer)
            state.epoch += 1
            if eligible(model):
                self._adapt_rate(model.optimizer, state)
                self._track_best(model, state, ckpt)
            _atomic_save(model, ckpt / "last.keras")
            (ckpt / "state.json").write_text(json.dumps(asdict(state), indent=1))  # last: the commit point
        best = ckpt / ("best.keras" if state.best_epoch > 0 else "last.keras")
        return keras.models.load_model(best), state

    # ------------------------------------------------------------ epochs
    def _resume_or_compile(
        self, model: keras.Model, workdir: Path, steps_per_epoch: int
    ) -> tuple[keras.Model, TrainState]:
        """The model (with its optimizer state) and state of the last finished epoch in ``workdir``,
        else ``model`` compiled fresh: a killed run continues where it stopped."""
        if (saved := saved_state(workdir)) is not None:
            model = keras.models.load_model(workdir / "checkpoint" / "last.keras")
            if saved.learning_rate is not None:  # the plateau's rate, as the killed run had set it
                model.optimizer.learning_rate = saved.learning_rate
            return model, saved
        model.compile(optimizer=self.optimizer(steps_per_epoch))
        plateau = self.config.lr_schedule == "plateau"
        return model, TrainState(learning_rate=self.config.learning_rate if plateau else None)

    def _run_epoch(self, train_step: Callable, eval_step: Callable, train: EpochData, dev: tf.data.Dataset,
                   state: TrainState, steps_per_epoch: int, optimizer: keras.optimizers.Optimizer) -> None:
        """Train epoch ``state.epoch``, evaluate on dev, and add both losses and the learning rate at the
        epoch's end to ``state.history``."""
        epoch = state.epoch
        started = time.perf_counter()
        bar = keras.utils.Progbar(steps_per_epoch, verbose=1 if self.config.progress else 0)
        losses = []
        for batch in train(epoch):
            self._warm_up(optimizer, state, state.steps + len(losses), steps_per_epoch)
            losses.append(float(train_step(batch)))
            check_finite(losses[-1], epoch + 1, len(losses))
            bar.update(len(losses), [("loss", losses[-1])])
        state.train_seconds += time.perf_counter() - started
        state.steps += len(losses)
        dev_loss = evaluate_loss(eval_step, dev)
        state.history.append({"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "dev_loss": dev_loss,
                              "learning_rate": float(optimizer.learning_rate)})

    def _warmup_steps(self, steps_per_epoch: int) -> int:
        return int(self.config.warmup_epochs * steps_per_epoch)

    def _warm_up(self, optimizer: keras.optimizers.Optimizer, state: TrainState, step: int,
                 steps_per_epoch: int) -> None:
        """Plateau schedule: set the rate of step ``step`` (0-based) while it warms up, as the cosine
        schedule does: a linear ramp from 0 that reaches the plateau's rate at ``step == warmup``."""
        warmup = self._warmup_steps(steps_per_epoch)
        if state.learning_rate is not None and 0 < warmup and step <= warmup:
            optimizer.learning_rate = state.learning_rate * step / warmup

    def _adapt_rate(self, optimizer: keras.optimizers.Optimizer, state: TrainState) -> None:
        """Plateau schedule: multiply the rate by ``plateau_factor`` when the epoch just finished lowered
        the best dev loss by less than ``plateau_threshold`` of it (the first eligible epoch never does)."""
        if state.learning_rate is None:
            return
        if state.history[-1]["dev_loss"] > state.best_dev_loss * (1 - self.config.plateau_threshold):
            state.learning_rate *= self.config.plateau_factor
            optimizer.learning_rate = state.learning_rate

    def _report(self, record: dict[str, float], writer: Any) -> None:
        """Show an epoch's losses on the console (with ``progress``) and in TensorBoard (with a writer)."""
        if self.config.progress:
            print(f"epoch {record['epoch']}/{self.config.epochs}: " +
                  ", ".join(f"{k}={v:.4f}" for k, v in record.items() if k != "epoch"))
        if writer is not None:
            with writer.as_default():
                for key in ("train_loss", "dev_loss"):
                    tf.summary.scalar(key, record[key], step=record["epoch"])

    def _track_best(self, model: keras.Model, state: TrainState, ckpt: Path) -> None:
        """Save ``model`` as the best if the epoch just finished lowered the dev loss, else count the
        epoch towards early stopping."""
        dev_loss = state.history[-1]["dev_loss"]
        if dev_loss < state.best_dev_loss:
            state.best_dev_loss, state.best_epoch, state.bad_epochs = dev_loss, state.epoch, 0
            _atomic_save(model, ckpt / "best.keras")
        else:
            state.bad_epochs += 1
            state.stopped_early = state.bad_epochs >= self.config.patience


def any_shape(spec: Any) -> Any:
    """``spec`` with batch and length dimensions unknown: one trace serves every batch.

    Feature widths (the last dimension of ``[B, T, F]`` tensors) stay known: the model's
    layers are built for them.
    """

    def relax(s: tf.TensorSpec) -> tf.TensorSpec:
        dims = [None] * len(s.shape)
        if len(dims) >= 3:
            dims[-1] = s.shape[-1]
        return tf.TensorSpec(dims, s.dtype, s.name)

    return tf.nest.map_structure(relax, spec)


def saved_state(workdir: str | Path) -> TrainState | None:
    """The state a killed run left in ``workdir`` (its last finished epoch), or None for a fresh run."""
    path = Path(workdir) / "checkpoint" / "state.json"
    return TrainState(**json.loads(path.read_text())) if path.exists() else None


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite: nothing after that step can be trusted."""


def check_finite(loss: float, epoch: int, step: int) -> None:
    """Stop at the first non-finite loss; the last finished epoch's checkpoint stays as it was."""
    if not math.isfinite(loss):
        raise TrainingDiverged(
            f"training diverged: loss {loss} at epoch {epoch}, step {step}; "
            "the last good checkpoint is kept (lower trainer.learning_rate or set trainer.clip_norm)"
        )


def _atomic_save(model: keras.Model, path: Path) -> None:
    """Save beside ``path`` and rename, so a kill never leaves a half-written checkpoint."""
    partial = path.with_name(f"partial-{path.name}")
    model.save(partial)
    partial.replace(path)


def evaluate_loss(eval_step: Callable, batches: tf.data.Dataset) -> float:
    """Mean per-utterance CTC loss over ``batches``."""
    losses = [eval_step(batch).numpy() for batch in batches]
    return float(np.mean(np.concatenate(losses)))
