import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deepthin.conf_dir import CONF_DIR
from deepthin.data.cli import available

from .conftest import write_kaldi

ROOT = Path(__file__).parents[2]


def _run(*args, cache, env=None):
    """``deepthin-data ARGS``; FSDD_ROOT only when ``env`` gives it (no test reads FSDD unless told where)."""
    inherited = {k: v for k, v in os.environ.items() if k != "FSDD_ROOT"}
    return subprocess.run(
        [sys.executable, "-m", "deepthin.data.cli", *args],
        cwd=ROOT,
        env={**inherited, "DEEPTHIN_CACHE": str(cache), "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_configs_exist_with_targets():
    assert available() == ["fsdd", "kaldi", "librispeech", "synth"]
    for name in available():
        assert "_target_: deepthin.data." in (CONF_DIR / "data" / f"{name}.yaml").read_text()


@pytest.mark.slow
def test_unknown_data_set_one_line_exit_2(tmp_path):
    r = _run("data=foo", cache=tmp_path)
    err = [line for line in r.stderr.splitlines() if "deepthin-data" in line]
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert err == ["deepthin-data: error: unknown data set 'foo'; allowed: fsdd, kaldi, librispeech, synth"]


@pytest.mark.slow
def test_kaldi_summary_and_missing_root(tmp_path):
    for s in ("train", "dev", "test"):
        write_kaldi(tmp_path / "data" / s, {f"{s}spk-1": (f"{s}spk", "hello there")})
    r = _run("data=kaldi", f"data.root={tmp_path / 'data'}", cache=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "corpus: kaldi"
    assert lines[1].split() == ["split", "utterances", "hours", "speakers", "resampled"]
    assert [line.split()[:2] for line in lines[2:6]] == [
        ["train", "1"],
        ["dev", "1"],
        ["test", "1"],
        ["total", "3"],
    ]
    bad = _run("data=kaldi", f"data.root={tmp_path / 'nowhere'}", cache=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "Kaldi data root directory not found" in bad.stderr


@pytest.mark.slow
def test_fsdd_default_root_is_fsdd_root_env(fsdd_root, tmp_path):
    r = _run("data=fsdd", cache=tmp_path, env={"FSDD_ROOT": str(fsdd_root)})
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split()[1:] for line in r.stdout.splitlines()[2:]}
    speakers = {p.name.split("_")[1] for p in fsdd_root.glob("*.wav")}
    assert int(rows["total"][0]) > 0 and int(rows["total"][2]) == len(speakers)
    manifests = list(tmp_path.glob("fsdd/*/manifest.json"))  # built into DEEPTHIN_CACHE, not the user cache
    assert [json.loads(m.read_text())["root"] for m in manifests] == [str(fsdd_root)]


@pytest.mark.slow
def test_fsdd_without_root_says_how_to_get_it(tmp_path):
    r = _run("data=fsdd", cache=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    [line] = r.stderr.strip().splitlines()
    assert line.startswith(
        "deepthin-data: error: FSDD recordings directory not set: give data.root=PATH or set FSDD_ROOT"
    )
    assert "deepthin-data fetch fsdd" in line
    assert "https://github.com/Jakobovski/free-spoken-digit-dataset" in line
