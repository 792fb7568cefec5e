"""Wall-clock latency measurement shared by the evaluator and the benchmark."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any


def median_latency(fn: Callable[[], Any], repeats: int, warmup: int = 3, budget_s: float = 1.0) -> float:
    """Median seconds of ``fn()`` over up to ``repeats`` calls (at least 3, stopping after ``budget_s``).

    Warm-up calls come first so tracing and cache effects are not timed; a result with ``numpy()``
    is fetched so the work is done, not just dispatched.
    """
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats and (len(times) < 3 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        result = fn()
        if hasattr(result, "numpy"):
            result.numpy()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def median_wall_and_cpu(fn: Callable[[], Any], repeats: int, budget_s: float = 5.0) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (all the process's threads) of ``fn()``.

    Up to ``repeats`` calls, at least 3, stopping after ``budget_s``; no warm-up. On a machine shared
    with other jobs, wall time also counts the time they hold the cores; CPU time counts only the
    work done, so ratios of CPU times stay comparable however busy the machine is.
    """
    walls: list[float] = []
    cpus: list[float] = []
    start = time.perf_counter()
    while len(walls) < repeats and (len(walls) < 3 or time.perf_counter() - start < budget_s):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        if hasattr(result, "numpy"):
            result.numpy()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def thread_settings() -> dict[str, int]:
    """TensorFlow's thread pools as configured (0: TensorFlow's own default) and the CPU count."""
    import tensorflow as tf

    return {
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "cpus": os.cpu_count() or 0,
    }
