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


def thread_settings() -> dict[str, int]:
    """TensorFlow's thread pools as configured (0: TensorFlow's own default) and the CPU count."""
    import tensorflow as tf

    return {
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "cpus": os.cpu_count() or 0,
    }
