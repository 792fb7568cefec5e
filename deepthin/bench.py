"""``deepthin-bench``: measured inference speedup of each method over the dense layer.

Three measurements, each in one process so dense and compressed share the
machine's state (threads, caches, clock):

1. **Layers** (``bench.csv``, ``bench_speedup.png``): the median latency of
   ``x @ W`` through each method's inference path against TensorFlow's dense
   matmul, per layer shape, ratio and batch, in-graph and per Python call,
   each path checked against ``x @ kernel()`` (:mod:`deepthin.bench_layers`).
   ``--shapes ''`` skips it.
2. **Models** (``bench_models.csv``): whole recipes at each preset through
   Keras (each batch) and LiteRT (batch 1), and their ``.tflite`` sizes, dense
   against each method at one ratio (:mod:`deepthin.bench_models`).
   ``--models ''`` skips it.
3. **Training** (``--train`` instead of the two above: ``bench_train.csv``,
   ``bench_train.png``): a whole training step of every recipe, preset, method
   and ratio against the dense model's, see :mod:`deepthin.bench_train`.

TensorFlow's thread settings are left at their defaults (0 = chosen by
TensorFlow) and recorded in every CSV with the CPU count.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepthin.validation import check_choice, check_matrix_shape, check_ratio

if TYPE_CHECKING:
    import pandas as pd

# Nothing at this module's top imports TensorFlow: main() chooses its allocator first
# (_choose_allocator), then the measuring modules are imported where they are used.

#: What the layer benchmark measures unless told otherwise: shapes, ratios, batches.
SHAPES = ((440, 2048), (2048, 2048), (4096, 4096), (2048, 8192))
RATIOS = (0.005, 0.01, 0.05, 0.2)
BATCHES = (1, 16, 128)
#: Presets of the whole-model inference timings unless ``--presets`` says otherwise.
INFER_PRESETS = "cpu,paper"
#: Presets and ratios ``--train`` measures unless told otherwise.
PRESETS = ("cpu", "paper")
TRAIN_RATIOS = (0.01, 0.05)


def _shape(text: str) -> tuple[int, int]:
    try:
        m, n = text.lower().split("x")
        return check_matrix_shape((int(m), int(n)))
    except ValueError:
        raise ValueError(f"--shapes entry {text!r} is not a shape; allowed: MxN with M, N >= 1") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepthin-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=",".join(f"{m}x{n}" for m, n in SHAPES),
                        help="layer shapes ('' skips the layer benchmark)")
    parser.add_argument("--ratios", default=None,
                        help=f"layer ratios (default {','.join(map(str, RATIOS))}); with --train, "
                             f"model ratios (default {','.join(map(str, TRAIN_RATIOS))})")
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per measurement (at most)")
    parser.add_argument("--out", default="results", help="output folder")
    parser.add_argument("--models", default="tfkaldi,deepspeech", help="recipes to time ('' for none)")
    parser.add_argument("--presets", "--preset", dest="presets", default=None,
                        help=f"recipe presets (default: {INFER_PRESETS} for the inference timings, "
                             f"{','.join(PRESETS)} with --train)")
    parser.add_argument("--model-ratio", type=float, default=0.01)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--train", action="store_true",
                        help="time whole training steps instead (bench_train.csv, bench_train.png)")
    parser.add_argument("--train-batch", type=int, default=16, help="utterances per --train step")
    parser.add_argument("--valid-fraction", type=float, default=1.0,
                        help="--train: share of each utterance's frames that are real, the rest padding")
    parser.add_argument("--arch", default="",
                        help="--train: recipe settings replaced, e.g. frame_packing=false")
    parser.add_argument("--quick", action="store_true",
                        help="tiny shapes and the tiny preset: a smoke test in seconds")
    parser.add_argument("--verbose", action="store_true", help="print every measurement")
    return parser


def _numbers(text: str, kind: type, what: str) -> list:
    """Comma-separated numbers, or a one-line error naming the bad one."""
    try:
        return [kind(v) for v in text.split(",") if v]
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a comma-separated list of {kind.__name__}s") from None


def _valid_fraction(value: float) -> float:
    if not 0 < value <= 1:
        raise ValueError(f"--valid-fraction {value:g} is out of range; allowed: 0 < fraction <= 1")
    return value


def _arch(text: str) -> dict[str, Any]:
    """``key=value,...`` (values read as YAML: ``false``, ``3``, ``0.2``) as a dict."""
    import yaml

    pairs = [item.partition("=") for item in text.split(",") if item]
    bad = [key for key, sep, _ in pairs if not sep or not key.isidentifier()]
    if bad:
        raise ValueError(f"--arch {text!r} is not a list of key=value; allowed: e.g. frame_packing=false")
    return {key: yaml.safe_load(value) for key, _, value in pairs}


def _recipes_and_presets(models: str, presets: str) -> tuple[list[str], list[str]]:
    """Comma-separated recipe and preset names, each checked against the recipes'."""
    from recipes.presets import MODELS
    from recipes.presets import PRESETS as ALL_PRESETS

    return ([check_choice("model", r, MODELS) for r in models.split(",") if r],
            [check_choice("preset", p, ALL_PRESETS) for p in presets.split(",") if p])


def _table(frame: pd.DataFrame, index: list[str], values: str) -> str:
    return frame.pivot_table(index=index, columns="method", values=values, sort=False).to_string(
        float_format=lambda v: f"{v:.2f}")


def _train_main(args: argparse.Namespace, out: Path, log: Callable[[str], None]) -> int:
    """``--train``: time a training step of every (recipe, preset, method, ratio) against dense."""
    from deepthin.bench_train import bench_train, memory_table, plot_train, train_table
    from deepthin.timing import thread_settings

    recipes, presets = _recipes_and_presets(args.models, args.presets or ",".join(PRESETS))
    ratios = [check_ratio(r) for r in _numbers(args.ratios or ",".join(map(str, TRAIN_RATIOS)),
                                                float, "--ratios")]
    if args.quick:
        presets, ratios, args.train_batch, args.frames, args.repeats = ["tiny"], [0.05], 4, 8, 3
    valid, arch = _valid_fraction(args.valid_fraction), _arch(args.arch)
    frame = bench_train(recipes, presets, ratios, args.train_batch, args.frames, args.repeats, log=log,
                        valid=valid, arch=arch)
    frame = frame.assign(**thread_settings())
    frame.to_csv(out / "bench_train.csv", index=False)
    plot_train(frame, out / "bench_train.png")
    shape = (f"batch {args.train_batch} x {args.frames} frames, {valid:g} of them real, "
             f"{args.arch or 'default architecture'}, trainer step: CTC, Adam")
    print(f"\nTrain step CPU time relative to dense ({shape}); dense's wall ms, CPU ms and MiB:")
    print(train_table(frame))
    print(f"\nTrain step wall time relative to dense ({shape}):")
    print(train_table(frame, "relative_to_dense"))
    print("\nMemory a training step needs (MiB: weights + peak allocations of the step):")
    print(memory_table(frame))
    print(f"\nwrote {out}/bench_train.csv, {out}/bench_train.png")
    return 0


def _run_layers(args: argparse.Namespace, batches: list[int], out: Path, log: Callable[[str], None]) -> int:
    """The layer benchmark, its CSV, figure and tables; returns how many paths mismatched dense."""
    from deepthin.bench_layers import bench_layers, plot_speedup, speedup_table, target_lines

    shapes = [_shape(s) for s in args.shapes.split(",") if s]
    ratios = [check_ratio(r) for r in _numbers(args.ratios or ",".join(map(str, RATIOS)),
                                                float, "--ratios")]
    layers = bench_layers(shapes, ratios, batches, args.repeats, log=log)
    layers.to_csv(out / "bench.csv", index=False)
    plot_speedup(layers, out / "bench_speedup.png")
    for b in batches:
        print(f"\nLayer speedup over dense matmul, in-graph (median time per product), batch {b}:")
        print(speedup_table(layers, b))
    print(f"\nLayer speedup per Python call of the compiled function, batch {batches[0]}:")
    print(speedup_table(layers, batches[0], per_call=True))
    targets = target_lines(layers)
    if targets:
        print("\nSpeedup targets (in-graph, ratio 0.01, batch 1):")
        print("\n".join(targets))
    mismatches = int((~layers["matches_dense"]).sum())
    print(f"\n{len(layers)} layer measurements, {mismatches} mismatching dense; "
          f"wrote {out}/bench.csv, {out}/bench_speedup.png")
    return mismatches


def _run_models(args: argparse.Namespace, batches: list[int], out: Path, log: Callable[[str], None]) -> None:
    """Whole recipes: ``bench_models.csv`` (Keras, LiteRT, .tflite sizes)."""
    from deepthin.bench_models import bench_inference
    from deepthin.timing import thread_settings

    recipes, presets = _recipes_and_presets(args.models, args.presets or INFER_PRESETS)
    infer = bench_inference(recipes, presets, args.model_ratio, batches[:2], args.frames, args.repeats,
                            log=log).assign(**thread_settings())
    infer.to_csv(out / "bench_models.csv", index=False)
    print(f"\nWhole-model inference ({args.frames} frames, ratio {args.model_ratio}), "
          "Keras speedup over dense:")
    print(_table(infer, ["model", "preset", "batch"], "speedup"))
    one = infer[infer.batch == 1]
    print("\nLiteRT (batch 1, 1 thread) speedup over LiteRT dense:")
    print(_table(one, ["model", "preset"], "litert_speedup"))
    print("\nKeras latency / LiteRT latency of the same model (batch 1):")
    print(_table(one, ["model", "preset"], "keras_over_litert"))
    print("\n.tflite size (MB):")
    print(_table(one.assign(tflite_mb=one.tflite_bytes / 1e6), ["model", "preset"], "tflite_mb"))
    print(f"\nwrote {out}/bench_models.csv")


def _layers_main(args: argparse.Namespace, out: Path, log: Callable[[str], None]) -> int:
    """Layer paths against dense matmul (unless ``--shapes ''``), then whole-model inference."""
    if args.quick:
        args.shapes, args.ratios, args.batches = "64x128,96x96", "0.05", "1,4"
        args.repeats, args.presets, args.frames = 5, "tiny", 8
    batches = _numbers(args.batches, int, "--batches")
    mismatches = _run_layers(args, batches, out, log) if args.shapes else 0
    if args.models:
        _run_models(args, batches, out, log)
    return 1 if mismatches else 0


def _choose_allocator(train: bool) -> None:
    """``--train``: TensorFlow's BFC allocator on the CPU, the one that keeps statistics (peak memory).

    TensorFlow picks its allocator once, when it loads, hence before any import of it; the inference
    timings keep the default allocator. Where TensorFlow was loaded before (a test calling
    :func:`main`), the memory column stays empty.
    """
    if train:
        os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, write the CSVs and the figures, print the tables."""
    args = _parser().parse_args(argv)
    _choose_allocator(args.train)
    import tensorflow as tf

    from deepthin.timing import thread_settings

    log = print if args.verbose else (lambda _msg: None)
    out = Path(args.out)
    started = time.perf_counter()
    print(f"deepthin-bench: TensorFlow {tf.__version__}, threads {thread_settings()} "
          "(0 = TensorFlow default)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        code = (_train_main if args.train else _layers_main)(args, out, log)
    except ValueError as error:
        print(f"deepthin-bench: error: {error}", file=sys.stderr)
        return 2
    print(f"done in {time.perf_counter() - started:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
