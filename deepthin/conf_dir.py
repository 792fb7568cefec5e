"""Where the Hydra configs are: ``deepthin/conf/``, inside the package.

Why inside: an installed package has nothing of the repository beside it, so
configs kept only at the repository root were missing from every non-editable
install (``pip install .`` or a wheel), and ``deepthin-run`` failed with
Hydra's "Primary config directory not found". As package data they travel
with the code. The repository root's ``conf`` is a link to this directory, so
the commands and paths that name ``conf/`` keep working in a checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: The config tree (``config.yaml`` and the groups ``data``, ``model``, ``method``, ``preset``,
#: ``experiment``): a real directory, because Hydra and :func:`glob` read it as files.
CONF_DIR = Path(str(files("deepthin") / "conf"))


def schedule_suffix(epochs: int, preset_epochs: int) -> str:
    """``""`` for a run trained for its preset's epochs, else ``"-<epochs>epochs"``.

    Why a run's schedule is part of its name: a run trained longer is another experiment, so it gets
    its own run directory (``conf/config.yaml`` adds this after ``<model>-<preset>``) instead of being
    refused by, or mistaken for, the finished run of the preset's schedule; and the report keeps the
    two apart (a setting is data, model, preset and this suffix), never averaging across schedules.
    """
    return "" if int(epochs) == int(preset_epochs) else f"-{int(epochs)}epochs"
