"""``import deepthin`` loads no TensorFlow; the public names still import, TensorFlow's start-up stays quiet
and the layers still register with Keras (``deepthin/__init__.py``, ``deepthin/_lazy.py``).

Each check that depends on what a process has imported runs in a fresh interpreter.
"""

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import deepthin
import deepthin.report

REPO = Path(__file__).resolve().parents[1]


def python(code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter, TensorFlow's log level left to the package (as for a user)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND")}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)


def test_the_package_and_the_report_import_no_tensorflow():
    report = [f"deepthin.report.{m.name}" for m in pkgutil.iter_modules(deepthin.report.__path__)]
    assert "deepthin.report.cli" in report
    done = python(f"import sys, deepthin, importlib; [importlib.import_module(m) for m in {report}]; "
                  "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"


def test_every_public_name_resolves_to_its_module_object():
    for name in deepthin.__all__:
        module = deepthin._EXPORTS[name]
        assert getattr(deepthin, name) is getattr(importlib.import_module(module), name)
    assert set(deepthin.__all__) == set(deepthin._EXPORTS) and set(deepthin.__all__) <= set(dir(deepthin))
    assert deepthin.layers is importlib.import_module("deepthin.layers")  # subpackages, as before


def test_a_submodule_does_not_hide_the_public_name_it_shares():
    module = importlib.import_module("deepthin.compress")
    deepthin.compress = module  # what the import system does once it has imported the module
    assert deepthin.compress is module.compress and callable(deepthin.compress)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_thing'"):
        deepthin.no_such_thing  # noqa: B018


@pytest.mark.parametrize("first", ["import deepthin; import tensorflow", "import keras; import deepthin",
                                   "import deepthin.data"])
def test_tensorflow_loads_quietly_and_the_layers_register_with_keras(first):
    # What the eager import gave: no start-up notices on stderr, and load_model finding the layers.
    done = python(f"{first}; import sys, keras; from deepthin._lazy import ImportHooks; "
                  "print(keras.saving.get_registered_object('deepthin>CompressedDense').__name__, "
                  "any(isinstance(f, ImportHooks) for f in sys.meta_path))")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["CompressedDense", "False"]  # registered, and the finder stepped aside
    if first.startswith("import deepthin"):  # a user who imports keras first gets TensorFlow's notices
        assert done.stderr == ""
