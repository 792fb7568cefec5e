"""Where the Hydra configs are: ``deepthin/conf/``, inside the package.

Why inside: an installed package has nothing of the repository beside it, so
configs kept only at the repository root were missing from every non-editable
install (``pip install .`` or a wheel), and ``deepthin-run`` failed with
Hydra's "Primary config directory not found". As package data they travel
with the code. The repository root's ``conf`` is a link to this directory, so
the commands and paths that name ``conf/`` keep working in a checkout.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

#: The config tree (``config.yaml`` and the groups ``data``, ``model``, ``method``, ``preset``,
#: ``experiment``): a real directory, because Hydra and :func:`glob` read it as files.
CONF_DIR = Path(str(files("deepthin") / "conf"))


def schedule_suffix(epochs: int, preset_epochs: int, lr_schedule: str = "cosine") -> str:
    """``""`` for a run trained for its preset's epochs, else ``"-<epochs>epochs"``; then ``"-plateau"``
    for the plateau learning-rate schedule, whose ``epochs`` is only a maximum.

    Why a run's schedule is part of its name: a run trained longer is another experiment, so it gets
    its own run directory (``conf/config.yaml`` adds this after ``<model>-<preset>``) instead of being
    refused by, or mistaken for, the finished run of the preset's schedule; and the report keeps the
    two apart (a setting is data, model, preset and this suffix), never averaging across schedules.
    The cosine and constant schedules add nothing: the grid's paths stay as they were.
    """
    epochs_part = "" if int(epochs) == int(preset_epochs) else f"-{int(epochs)}epochs"
    return epochs_part + ("-plateau" if lr_schedule == "plateau" else "")


#: The study of the searches for each method's learning rate and dropout (``conf/experiment/tune_*.yaml``):
#: their runs lie under ``results/tuning/``, which the grid's report never counts (it shows their own
#: table, ``deepthin/report/tuning.py``), and ``deepthin-tune-pick`` picks from.
TUNING_STUDY = "tuning"


#: What a run whose training diverged leaves in its directory beside its checkpoints (no results.json: it
#: did not finish): its identity, config and error. A search counts its point as lost (tuning.py).
DIVERGED_RECORD = "diverged.json"


def hparams_subdir(hparams: str | None) -> str:
    """``""`` for ``hparams_dir=null``, else ``"<hparams>/"``: the run directory's level before
    ``ratio=``, where a tuning sweep names the hyperparameters it searches (``lr=0.001,dropout=0.2``)."""
    return "" if hparams is None else f"{hparams}/"


#: What a study's name may hold: one directory name, never a path out of ``results/``.
STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def study_prefix(study: str | None) -> str:
    """``""`` for the grid's runs (``study=null``), else ``"<study>/"``: the run directory's first part.

    Why a study gets its own subtree of ``results/``: runs that answer another question than the grid
    (the limit study's fit-only models, say) must never be averaged into the grid's report, which
    skips these subtrees (``deepthin/report/collect.py``).
    """
    if study is None:
        return ""
    if not STUDY_NAME.fullmatch(name := str(study)):
        raise ValueError(f"study={name!r} is not a directory name; allowed: letters, digits, '_' and '-' "
                         "(starting with a letter or digit), or null")
    return f"{name}/"
