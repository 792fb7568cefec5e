"""What a non-editable install gets: the wheel carries the Hydra configs, and the runner finds them there.

Why: configs kept only at the repository root were left out of every wheel, so ``pip install .`` gave a
``deepthin-run`` that failed with Hydra's "Primary config directory not found". The editable install of the
rest of the suite cannot see that, so these tests build a real wheel (offline: no index, no build isolation)
from a copy of the sources and run the runner from the unpacked wheel, away from the checkout.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import deepthin
from deepthin.conf_dir import CONF_DIR

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built by pip from a copy of what the package is made of (the checkout stays untouched)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("deepthin", "recipes"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(tmp / "dist"), str(src)],
        capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (built,) = (tmp / "dist").glob("deepthin-*.whl")
    return built


def test_configs_live_in_the_package_and_the_root_link_points_there():
    assert CONF_DIR.parent == Path(deepthin.__file__).parent
    assert (CONF_DIR / "config.yaml").is_file()
    assert (ROOT / "conf").resolve() == CONF_DIR.resolve()


def test_wheel_carries_every_config(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = {f"deepthin/conf/{p.relative_to(CONF_DIR).as_posix()}" for p in CONF_DIR.rglob("*.yaml")}
    assert len(configs) > 20
    assert configs <= names, sorted(configs - names)
    assert not any(n.startswith("conf/") for n in names)


def test_runner_from_the_unpacked_wheel_finds_its_configs(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    away = tmp_path / "elsewhere"
    away.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "TF_CPP_MIN_LOG_LEVEL": "3"}
    code = ("import deepthin, sys; from deepthin.experiment.run import CONF_DIR, choices, main; "
            "print(deepthin.__file__); print(choices('method')); sys.argv = ['deepthin-run', '--cfg', 'job', "
            "'method=lowrank', 'ratio=0.05']; main()")
    r = subprocess.run([sys.executable, "-c", code], cwd=away, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.splitlines()[0].startswith(str(site))
    assert "'lowrank'" in r.stdout.splitlines()[1]
    assert "ratio: 0.05" in r.stdout
