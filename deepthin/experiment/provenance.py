"""What a result needs to be reproduced: git commit and package versions."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("deepthin", "tensorflow-cpu", "keras", "numpy", "hydra-core", "omegaconf", "jiwer",
            "flashlight-text", "librosa", "pandas")
REPO = Path(__file__).resolve().parents[2]


def git_commit() -> str:
    """``HEAD`` of the source tree, with ``+dirty`` when it has uncommitted changes outside results/."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        # results/ is output, not source: committed runs there must not mark later runs dirty.
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)results"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance() -> dict[str, Any]:
    """What ``results.json`` records of the code and the moment a run finished."""
    return {"git_commit": git_commit(), "packages": package_versions(),
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
