import os
import subprocess
import sys
from pathlib import Path

from deepthin._quiet import startup_notices_dropped

NOTICES = (b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
           b"I0000 00:00:1795981102.478168   13162 port.cc:153] oneDNN custom operations are on. "
           b"You may see slightly different numerical results.\n")


def test_startup_notices_are_dropped_and_anything_else_passed_on(capfd):
    with startup_notices_dropped():
        os.write(2, b"a real problem\n" + NOTICES + b"another one\n")
    assert capfd.readouterr().err == "a real problem\nanother one\n"


def test_importing_the_package_prints_nothing():
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run([sys.executable, "-c", "import deepthin"], cwd=Path(__file__).parents[1], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout == proc.stderr == "", proc.stderr
