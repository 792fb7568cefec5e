"""What a non-editable install gets: the wheel carries the Hydra configs, and the runner finds them there;
and what a newcomer meets first: the Makefile's environment and the front page.

Why: configs kept only at the repository root were left out of every wheel, so ``pip install .`` gave a
``deepthin-run`` that failed with Hydra's "Primary config directory not found". The editable install of the
rest of the suite cannot see that, so these tests build a real wheel (offline: no index, no build isolation)
from a copy of the sources and run the runner from the unpacked wheel, away from the checkout.
"""

import os
import re
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


def test_make_installs_into_the_project_environment_only():
    # What `make install` would run were pyproject.toml changed (-n: shown, not run): pip of .venv alone,
    # never the interpreter the environment is made from (PEP 668 refuses that on Debian 12).
    shown = subprocess.run(["make", "-n", "-W", "pyproject.toml", "install"], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    installs = [line for line in shown.stdout.splitlines() if "pip install" in line]
    assert installs and all(f"{ROOT}/.venv/bin/python" in line for line in installs), installs
    assert subprocess.run(["git", "check-ignore", "-q", ".venv/bin/python"], cwd=ROOT).returncode == 0


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_front_page_is_short_and_its_links_and_the_docs_links_resolve():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    front = pages[0].read_text()
    assert len(front.splitlines()) <= 150
    assert {f"docs/{p.name}" for p in pages[1:]} <= set(re.findall(r"\]\((docs/[^)#]+)", front))
    for page in pages:
        for target, anchor in re.findall(r"\]\(([^)#:\s]*)(?:#([^)\s]+))?\)", page.read_text()):
            linked = (page.parent / target).resolve() if target else page
            assert linked.exists(), f"{page.name}: {target}"
            if anchor and linked.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", linked.read_text(), flags=re.MULTILINE)
                assert anchor in {_anchor(h) for h in headings}, f"{page.name}: {target}#{anchor}"
