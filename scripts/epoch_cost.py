"""Wall time of one training epoch of a recipe, as ``deepthin-run`` would train it, per method.

The same corpus, features, batches (epoch 0's order), model, optimizer and compiled step as the runner
(op determinism on), without evaluation or checkpoints. With ``--max-steps N`` only the first ``N``
steps run and the epoch is extrapolated: the first three steps (where the step is traced, once per new
padded shape until ``reduce_retracing`` generalizes it) count as measured, the other steps at the median
of the later ones; the output says which lines are extrapolated. Wall and CPU time (all threads, what
the run costs however busy the shared machine is) are both reported.

    python scripts/epoch_cost.py model=tfkaldi data=fsdd data.root=../shared/data/fsdd/recordings \\
        --methods dense,deepthin:aligned,lowrank --ratio 0.01 [--max-steps 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

import keras
import tensorflow as tf
from hydra.utils import instantiate

from deepthin.data import VOCAB
from deepthin.experiment.datamodule import SpeechData
from deepthin.experiment.trainer import Trainer, TrainerConfig, any_shape
from recipes.presets import compose_config, model_builder

TRACED_STEPS = 3


def epoch_batches(overrides: list[str]) -> tuple[object, tf.data.Dataset, int]:
    """The run's config, epoch 0's training batches and the steps per epoch."""
    cfg = compose_config(overrides)
    data = SpeechData.from_config(cfg, instantiate(cfg.data).load())
    return cfg, data.train(0), data.steps_per_epoch


def step_times(cfg: object, method: str, batches: tf.data.Dataset, steps: int, max_steps: int | None
               ) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each training step of epoch 0 (the first ``max_steps`` only, if given)."""
    name, _, policy = method.partition(":")
    method_cfg = compose_config([f"method={name}"] + ([f"method.policy={policy}"] if policy else [])).method
    keras.utils.set_random_seed(int(cfg.seed))
    trainer = Trainer(TrainerConfig(**{**cfg.trainer, "progress": False, "tensorboard": False}),
                      VOCAB.blank)
    model = instantiate(method_cfg).build(model_builder(cfg.model, VOCAB.size), float(cfg.ratio),
                                          cfg.model.compressed_layers, trainer.config.epochs * steps).model
    model.compile(optimizer=trainer.optimizer(steps))
    train_step, _ = trainer.steps(model, batches.element_spec)  # as Trainer.fit does
    walls, cpus = [], []
    for batch in batches.take(max_steps or steps):
        started, cpu = time.perf_counter(), time.process_time()
        float(train_step(batch))
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    graph = train_step.get_concrete_function(any_shape(batches.element_spec)).graph
    print(f"{method}: {len(graph.get_operations())} ops in the traced step, "
          f"{train_step.experimental_get_tracing_count()} traces")
    return walls, cpus


def epoch_seconds(times: list[float], steps: int) -> float:
    """Measured steps plus the rest of the epoch at the median of those after the traced ones."""
    return sum(times) + statistics.median(times[TRACED_STEPS:] or times) * (steps - len(times))


def dense_step_flops(cfg: object, batches: tf.data.Dataset, count: int) -> float:
    """Mean floating-point operations of a dense model's training step over the first ``count`` batches.

    Forward multiply-adds per output frame (every matmul: ``m n`` per ``Dense``, ``(m + u) 4u`` per LSTM
    direction), times the frames after the stride, times 3 (forward, two backward products), times 2.
    """
    model = model_builder(cfg.model, VOCAB.size)()
    per_frame = 0
    for layer in model._flatten_layers(include_self=False):
        for weight in layer.weights:
            if weight.path.endswith(("kernel", "recurrent_kernel")):
                per_frame += int(weight.shape[0]) * int(weight.shape[1])
    stride = int(cfg.model.arch.stride)
    frames = [int(b["features"].shape[0]) * -(-int(b["features"].shape[1]) // stride)
              for b in batches.take(count)]
    return 6.0 * per_frame * statistics.mean(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model=tfkaldi data=fsdd")
    parser.add_argument("--methods", default="dense,deepthin:aligned,lowrank")
    parser.add_argument("--ratio", type=float, default=0.01)
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--max-steps", type=int, default=None)
    args = parser.parse_args()
    tf.config.experimental.enable_op_determinism()  # as deepthin-run trains
    cfg, batches, steps = epoch_batches([*args.overrides, f"preset={args.preset}", f"ratio={args.ratio}"])
    flops = dense_step_flops(cfg, batches, args.max_steps or steps)
    print(f"dense step: {flops / 1e9:.3f} GFLOP on average (6 x multiply-adds per frame x frames)")
    for method in args.methods.split(","):
        walls, cpus = step_times(cfg, method, batches, steps, args.max_steps)
        wall, cpu = epoch_seconds(walls, steps), epoch_seconds(cpus, steps)
        kind = "measured" if len(walls) == steps else f"extrapolated from {len(walls)} steps"
        print(f"{cfg.model.name} {args.preset} {method} ratio {args.ratio}: {steps} steps of "
              f"{cfg.batch_size}, first {TRACED_STEPS} {sum(walls[:TRACED_STEPS]):.1f} s wall "
              f"{sum(cpus[:TRACED_STEPS]):.1f} s CPU, median step "
              f"{statistics.median(walls[TRACED_STEPS:] or walls) * 1e3:.0f} ms wall "
              f"{statistics.median(cpus[TRACED_STEPS:] or cpus) * 1e3:.0f} ms CPU; "
              f"epoch {wall / 60:.1f} min wall, "
              f"{cpu / 60:.1f} CPU-min ({kind}); {cfg.trainer.epochs} epochs ~ "
              f"{cfg.trainer.epochs * wall / 60:.0f} min wall", flush=True)

if __name__ == "__main__":
    main()
