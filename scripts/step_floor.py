"""What a compressed training step cannot shed: the recipe's per-activation work (issue 13).

    python scripts/step_floor.py --model tfkaldi --preset cpu --method lowrank --ratio 0.01

The factored routes make a compressed layer's matmuls nearly free, so a compressed step costs what
the rest of the step costs: batch normalization, ReLU and dropout over every hidden activation
(as wide as dense's), the output layer, CTC and Adam. This times the trainer's own step
(:func:`deepthin.bench_train.train_step_cost`, batch 16 x 100 frames) of the dense model and of
METHOD at RATIO side by side in one process, with the recipe as configured and with its batch
normalization and dropout switched off (the switches the recipe's ``arch`` has), and prints the
compressed / dense ratio of CPU time for each.
"""

from __future__ import annotations

import argparse

from deepthin.bench_train import train_step_cost
from deepthin.compress import compress
from recipes.presets import build, model_config

#: Each variant: the architecture settings it changes (skipped where the recipe has no such setting).
VARIANTS = {
    "as configured": {},
    "no dropout": {"dropout": 0.0},
    "no batch norm": {"batch_norm": False},
    "neither": {"batch_norm": False, "dropout": 0.0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tfkaldi")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--method", default="lowrank")
    parser.add_argument("--ratio", type=float, default=0.01)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    config = model_config(args.model, args.preset)
    print(f"| {args.model} {args.preset} | dense ms CPU | {args.method} {args.ratio:g} ms CPU | ratio |")
    print("|---|---|---|---|")
    for label, changes in VARIANTS.items():
        if not set(changes) <= set(config.arch):
            continue
        dense = build(args.model, args.preset, **changes)
        compressed = compress(dense, args.method, args.ratio, layers=config.compressed_layers)
        dense_cpu, cpu = (train_step_cost(m, 16, 100, args.repeats)[1] for m in (dense, compressed))
        print(f"| {label} | {dense_cpu * 1e3:.1f} | {cpu * 1e3:.1f} | {cpu / dense_cpu:.2f} |", flush=True)


if __name__ == "__main__":
    main()
