"""The schedule of gradual magnitude pruning (:mod:`deepthin.methods.pruning`): when the mask is
recomputed and to what sparsity, and how an experiment gives it as fractions of a run.

The kernel is ``W * mask`` with a non-trainable 0/1 mask. At step ``t`` the
target sparsity is ``s(t) = s_f + (s_i - s_f) (1 - p)^3`` with
``p = clip((t - begin_step) / (end_step - begin_step), 0, 1)``,
``s_i = initial_sparsity`` and ``s_f = 1 - ratio``.

Step convention, step for step TensorFlow Model Optimization's (TFMOT 0.8:
``prune_low_magnitude`` with ``PolynomialDecay`` and the ``UpdatePruningStep``
callback). The counter ``step`` holds the number of training-mode calls so
far: it starts at 0 (TFMOT's ``pruning_step`` once the callback has moved it
from -1 to 0 at the start of training) and every training-mode call first adds
1, then decides with the new value, so the ``n``-th training batch runs at step
``n``, the first at step 1. The mask is recomputed at that step when
``begin_step <= step <= end_step`` and ``(step - begin_step) % frequency == 0``
(TFMOT's ``_should_prune_in_step``), and the call already computes with the new
mask. After ``end_step`` the mask is frozen (TFMOT: outside the range, never
pruned again). For ``begin_step=0, end_step=100, frequency=10`` the mask
changes after batches 10, 20, ..., 100, and a ``64 x 32`` kernel is then
24.4%, 43.9%, ..., 89.99% zeros. Why this convention: it is the reference
implementation of the baseline the paper compares with, so a schedule written
for TFMOT prunes here at the same batches to the same sparsities (checked
against TFMOT 0.8.1 with tf_keras, SGD and Adam, also for ``begin_step >= 1``,
``initial_sparsity > 0`` and off-grid ``end_step`` with ``prune_at_end_step=False``:
identical masks after every batch and a bit-identical final kernel).

Consequences, as in TFMOT: no training call runs at step 0, so with
``begin_step=0`` the initial sparsity is never applied (the first update, at
step ``frequency``, already goes to ``s(frequency)``); with ``begin_step >= 1``
the call at step ``begin_step`` prunes to ``initial_sparsity``.

One departure, on by default: ``prune_at_end_step=True`` also recomputes the
mask at ``step = end_step`` so the final sparsity ``1 - ratio`` (the stored size
the comparison is budgeted for) is reached exactly. It differs from TFMOT only
when ``end_step - begin_step`` is not a multiple of ``frequency``, where TFMOT's
last update falls before ``end_step`` and stops short of the final sparsity;
``prune_at_end_step=False`` is TFMOT's rule for every schedule. (Before this
convention, the first call ran at step 0 and every update landed one batch
after TFMOT's; that convention has no option here: the code of the runs made
with it is their recorded git commit.)

In an experiment (``conf/method/pruning.yaml``) the schedule is given as fractions of the run
(``begin_fraction``, ``end_fraction``, ``updates``), so the same config prunes correctly whatever the
corpus size; ``PruningMethod.run_options`` (:mod:`deepthin.methods.pruning`) turns them into steps
(:func:`run_schedule`) once the run's length is known.
"""

from __future__ import annotations

from typing import Any

from keras import ops

from deepthin.methods.pruning_index import INDEX_LAYOUTS

#: How a fitted kernel is pruned (``PruningMethod.fit``): at once, or by the schedule.
FIT_MODES = ("oneshot", "gradual")
#: Recorded with experiment results (:meth:`PruningMethod.run_details`): the step
#: convention the mask updates follow, TFMOT's (first training call at step 1).
STEP_CONVENTION = "tfmot"
#: The options an experiment's config gives (``PruningMethod.run_options``), with their defaults:
#: the schedule as fractions of the run (:func:`run_schedule`), how a fitted kernel is pruned, and
#: the index layout whose bytes the ratio's budget pays for (:mod:`deepthin.methods.pruning_index`).
RUN_OPTION_DEFAULTS = {"begin_fraction": 0.0, "end_fraction": 0.7, "updates": 20, "fit_mode": FIT_MODES[0],
                       "index_layout": INDEX_LAYOUTS[0]}


def polynomial_sparsity(
    step: Any, begin_step: int, end_step: int, final: float, initial: float = 0.0, power: int = 3
) -> Any:
    """Zhu & Gupta's ``s(t)``; works on Python numbers and on tensors."""
    progress = ops.clip((ops.cast(step, "float32") - begin_step) / (end_step - begin_step), 0, 1)
    return final + (initial - final) * (1.0 - progress) ** power


def run_schedule(begin_fraction: float, end_fraction: float, updates: int,
                 total_steps: int) -> dict[str, int]:
    """``begin_step``, ``end_step`` and ``frequency`` of a ramp over the given fractions of a run.

    Steps follow TFMOT's convention (module doc): a run of ``total_steps`` batches runs steps
    ``1..total_steps``. The ramp begins at ``begin_step = int(begin_fraction * total_steps)``; with
    ``span = int(end_fraction * total_steps) - begin_step`` (at least 1) and ``frequency = span //
    updates`` (at least 1), it ends at the last update step within the span, ``end_step = begin_step
    + (span // frequency) * frequency``: at least ``updates`` updates, the last at ``end_step <=
    total_steps``. So the final sparsity is reached within the run by TFMOT's own rule (``end_step``
    lies on the ``frequency`` grid and ``prune_at_end_step`` changes nothing), at most ``frequency -
    1`` steps before ``end_fraction`` of the run.
    """
    if not 0.0 <= begin_fraction < end_fraction <= 1.0 or updates < 1:
        raise ValueError(
            f"pruning begin_fraction={begin_fraction}, end_fraction={end_fraction}, updates={updates} "
            "is invalid; allowed: 0 <= begin_fraction < end_fraction <= 1, updates >= 1"
        )
    begin = int(begin_fraction * total_steps)
    span = max(1, int(end_fraction * total_steps) - begin)
    frequency = max(1, span // updates)
    return {"begin_step": begin, "end_step": begin + span // frequency * frequency, "frequency": frequency}
