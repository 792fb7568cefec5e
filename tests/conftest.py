"""Test-wide settings: TensorFlow backend, quiet logs, fixed seeds."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    np.random.seed(1234)


@pytest.fixture
def refused(capsys):
    """``refused(main, *args)``: the one stderr line of a command-line ``main(args)`` refusing its input
    (exit status 2, no traceback), the project's rule for bad input."""

    def check(main, *args) -> str:
        with pytest.raises(SystemExit) as exit_:
            main([str(a) for a in args])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1, err
        return err

    return check
