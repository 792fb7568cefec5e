"""The ``method=`` choices that compress matrix by matrix, read from ``conf/method/`` rather than listed.

``allocate=sensitivity`` and ``deepthin-sensitivity`` need a per-matrix method: one whose strategy
(the config's ``_target_``) is a :class:`~deepthin.experiment.strategies.PerMatrix`. Their error
messages list those choices from the config files, so a method added as a file appears in them
with no edit here.
"""

from __future__ import annotations

from hydra.utils import get_class
from omegaconf import OmegaConf

from deepthin.conf_dir import CONF_DIR
from deepthin.experiment.strategies import PerMatrix


def per_matrix_methods() -> list[str]:
    """Names (file stems, sorted) of the ``conf/method/*.yaml`` whose strategy is per-matrix."""
    return [path.stem for path in sorted((CONF_DIR / "method").glob("*.yaml"))
            if issubclass(get_class(OmegaConf.load(path)._target_), PerMatrix)]
