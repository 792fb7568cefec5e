"""Where a report's numbers come from: the machine that built it and the commands that ran."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import pandas as pd

from deepthin.report.collect import SWEPT_KEYS


def machine() -> str:
    """CPU, usable cores, memory, OS and Python of this machine, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{cpu}, {cores} usable cores{memory}; {platform.platform()}; "
            f"Python {platform.python_version()}")


def commands(table: pd.DataFrame) -> list[str]:
    """Sweep commands equivalent to the runs, rebuilt from the overrides each results.json records."""
    groups: dict[tuple[str, ...], dict[str, set]] = {}
    for row in table.itertuples():
        overrides = json.loads(row.overrides)
        if not overrides:
            continue
        fixed = tuple(o for o in overrides if o.split("=", 1)[0] not in SWEPT_KEYS)
        swept = groups.setdefault(fixed, {k: set() for k in SWEPT_KEYS})
        for k in SWEPT_KEYS:
            swept[k].add(getattr(row, k))
    lines = []
    for fixed, swept in groups.items():
        quoted = [f"'{o}'" if any(c in o for c in "[],") else o for o in fixed]
        values = [f"{k}={','.join(str(v) for v in sorted(swept[k]))}" for k in SWEPT_KEYS]
        lines.append("deepthin-run -m " + " ".join(quoted + values))
    return sorted(lines)


def job_hours(runs: pd.DataFrame) -> float:
    """Compute spent on the runs: training plus evaluation, summed over jobs."""
    return float((runs["train_seconds"].fillna(0) + runs["eval_seconds"].fillna(0)).sum()) / 3600
