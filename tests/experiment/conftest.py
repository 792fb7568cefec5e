"""Shared fixtures: a tiny synthetic corpus cached once per test session."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Overrides that make a run tiny: a few seconds of synth speech, few repeats.
TINY = ["preset=tiny", "data.hours=0.02", "data.dev_voices=2", "data.test_voices=2",
        "data.progress=false", "eval.latency_repeats=2", "eval.beam_width=4", "trainer.progress=false"]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def run_env(cache: Path, unset: tuple[str, ...] = ()) -> dict[str, str]:
    """The test's environment for a run, without the variables named in ``unset``."""
    env = {**os.environ, "DEEPTHIN_CACHE": str(cache), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return {key: value for key, value in env.items() if key not in unset}


def run_command(args: list[str]) -> list[str]:
    """The console command ``deepthin-run ARGS``, run with this interpreter."""
    return [sys.executable, "-m", "deepthin.experiment.run", *args]


@pytest.fixture
def deepthin_run():
    """Run the real command line (as a user would) against a given cache."""

    def invoke(args: list[str], cache: Path, unset: tuple[str, ...] = (),
               **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(run_command(args), cwd=REPO, env=run_env(cache, unset), capture_output=True,
                              text=True, **kwargs)

    return invoke


@pytest.fixture(scope="session")
def dense_run(cache_dir, tmp_path_factory) -> Path:
    """A finished tiny dense TFKaldi run (one epoch) to start fitted runs from."""
    run_dir = tmp_path_factory.mktemp("dense") / "run"
    args = ["model=tfkaldi", "method=dense", "trainer.epochs=1", f"hydra.run.dir={run_dir}", *TINY]
    proc = subprocess.run(run_command(args), cwd=REPO, env=run_env(cache_dir), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir


@pytest.fixture
def snapshot():
    """``snapshot(directory)``: every file under it with its bytes, to check that nothing changed."""
    return lambda directory: {p: p.read_bytes() for p in sorted(Path(directory).rglob("*")) if p.is_file()}


@pytest.fixture
def fsdd_sample() -> Path:
    """The FSDD recordings shipped with the tests (tests/data/fsdd_sample/README.md)."""
    return REPO / "tests" / "data" / "fsdd_sample"


@pytest.fixture
def tiny() -> list[str]:
    return list(TINY)


@pytest.fixture
def start_run():
    """Start ``deepthin-run`` in the background (to be killed)."""

    def start(args: list[str], cache: Path) -> subprocess.Popen:
        return subprocess.Popen(run_command(args), cwd=REPO, env=run_env(cache),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return start
