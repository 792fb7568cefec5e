"""``pruning``: gradual magnitude pruning (Zhu & Gupta 2017, "To prune or not to prune").

The kernel is ``W * mask`` with a non-trainable 0/1 mask, recomputed on the schedule of
:mod:`deepthin.methods.pruning_schedule` (Zhu & Gupta's ``s(t)``, TFMOT's step convention).

Implemented natively for Keras 3 (TFMOT only supports legacy Keras 2). The
step counter and mask update live in the layer's training-mode forward pass,
so any training loop prunes correctly without a callback, and ``step`` counts
training steps when each layer is applied once per step. The new mask keeps
the ``k = max(1, round((1 - s) size))`` largest magnitudes (TFMOT's ``k``) of
the *masked* kernel (exact count, ties broken by position, where TFMOT keeps
every weight tied with the ``k``-th). A pruned weight never returns: it gets
no gradient through ``W * mask``. (TFMOT re-zeroes pruned weights at every
training call but ranks them after one optimizer step has moved them, so
there one could in principle return.)

Storage: ``stored_params`` counts the mask's nonzeros (the surviving values); ``stored_bytes``
adds their indices in the layout ``index_layout=`` names (:mod:`deepthin.methods.pruning_index`:
``relative16``, the default, ``flat32``, or ``none`` for values only). A ratio is a budget of bytes,
``ratio m n 4``, so the final sparsity keeps the survivors that pays for, ``ratio m n 4 / 6`` with
``relative16`` (with ``none``, ``ratio m n``: TFMOT's meaning of the ratio; at ratio 1, every
weight, stored dense without an index). Saved files hold only the survivors, in that layout
(``relative16``: values with fillers and uint16 gaps; otherwise values and int32 flat indices, as
every file saved before the layouts existed, which still load; every weight kept: the values alone)
and the counter (``pruning_step``, TFMOT's name and meaning); a file that holds the old counter
(``step``, one less) is read as that plus one.

Fitting to a trained kernel (:meth:`PruningMethod.fit`, ``fit_mode=``): ``oneshot`` (default)
keeps the largest magnitudes the budget pays for at once and marks the schedule finished (the counter at
its last update step), so fine-tuning trains the survivors under a frozen mask; ``gradual`` copies
the kernel with a full mask and the counter at 0, so the schedule prunes it during fine-tuning.

Inference paths (``inference_path=``, for layers switched with
:func:`deepthin.for_inference`): ``masked`` multiplies by ``W * mask``
materialized once (a dense matmul, no faster than the dense layer);
``sparse`` keeps the surviving weights of ``W^T`` as a ``tf.SparseTensor``
built once and runs ``tf.sparse.sparse_dense_matmul`` (work proportional to
the nonzeros, with sparse-kernel overhead per nonzero). ``deepthin-bench``
reports both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from deepthin.methods.base import VALUE_BYTES, WeightMethod
from deepthin.methods.pruning_index import (
    INDEX_LAYOUTS,
    MAX_GAP,
    entry_bytes,
    filler_count,
    layout_bytes,
    load_survivors,
    planned_bytes,
    save_survivors,
)
from deepthin.methods.pruning_schedule import (
    FIT_MODES,
    RUN_OPTION_DEFAULTS,
    STEP_CONVENTION,
    polynomial_sparsity,
    run_schedule,
)
from deepthin.methods.registry import register
from deepthin.validation import check_choice

INFERENCE_PATHS = ("sparse", "masked")
@register
class PruningMethod(WeightMethod):
    """A full kernel and a magnitude mask tightened on a polynomial schedule."""

    name = "pruning"
    option_defaults = {
        "begin_step": 0, "end_step": 1000, "frequency": 100, "initial_sparsity": 0.0,
        "prune_at_end_step": True, "inference_path": "sparse", "fit_mode": FIT_MODES[0],
        "index_layout": INDEX_LAYOUTS[0],
    }
    dynamic_cache_keys = frozenset({"indices", "values"})  # the nonzero count changes on load
    export_sparse = True  # the masked kernel is stored sparse only by the converter's sparsity pass

    @classmethod
    def inference_variants(cls) -> dict[str, dict[str, Any]]:
        """Both inference paths (module doc)."""
        return {f"pruning-{path}": {"inference_path": path} for path in INFERENCE_PATHS}

    @classmethod
    def export_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """``masked``: the converter's sparsity pass stores the masked kernel in LiteRT's sparse format."""
        return {"inference_path": "masked"}

    @classmethod
    def run_options(cls, options: dict[str, Any], total_steps: int) -> dict[str, Any]:
        """The schedule in steps (:func:`~deepthin.methods.pruning_schedule.run_schedule`), the index
        layout that sets the survivors a ratio pays for (runs recorded before it existed counted
        ``none``), and ``fit_mode`` only where it is not the default (``+method.fit_mode=gradual``):
        runs recorded before fitting existed have none."""
        unknown = sorted(set(options) - set(RUN_OPTION_DEFAULTS))
        if unknown:
            raise ValueError(f"pruning options {', '.join(unknown)} are unknown in an experiment's config; "
                             f"allowed: {', '.join(RUN_OPTION_DEFAULTS)}")
        given = {**RUN_OPTION_DEFAULTS, **options}
        steps = run_schedule(given["begin_fraction"], given["end_fraction"], given["updates"], total_steps)
        schedule = {**steps, "index_layout": given["index_layout"]}
        if given["fit_mode"] == RUN_OPTION_DEFAULTS["fit_mode"]:
            return schedule
        return {**schedule, "fit_mode": given["fit_mode"]}

    @classmethod
    def run_details(cls, options: dict[str, Any], total_steps: int) -> dict[str, Any]:
        """The schedule in steps and its step convention (runs without it predate TFMOT's)."""
        return {**cls.run_options(options, total_steps), "step_convention": STEP_CONVENTION}

    def __init__(self, shape: tuple[int, int], ratio: float, **options: Any) -> None:
        super().__init__(shape, ratio, **options)
        begin, end, freq = (int(self.options[k]) for k in ("begin_step", "end_step", "frequency"))
        if not 0 <= begin < end or freq < 1:
            raise ValueError(
                f"pruning schedule begin_step={begin}, end_step={end}, frequency={freq} is "
                "invalid; allowed: 0 <= begin_step < end_step and frequency >= 1"
            )
        if not isinstance(self.options["prune_at_end_step"], bool):
            raise ValueError(
                f"pruning prune_at_end_step={self.options['prune_at_end_step']!r} is invalid; "
                "allowed: True, False"
            )
        check_choice("pruning inference_path", self.options["inference_path"], INFERENCE_PATHS)
        check_choice("pruning fit_mode", self.options["fit_mode"], FIT_MODES)
        layout = check_choice("pruning index_layout", self.options["index_layout"], INDEX_LAYOUTS)
        # the byte budget ratio m n 4 pays for this share of the weights at entry_bytes each, or for
        # all of them stored dense (no index) at ratio 1
        kept_share = 1.0 if self.ratio == 1.0 else self.ratio * VALUE_BYTES / entry_bytes(layout)
        self.final_sparsity = 1.0 - kept_share
        self.planned_params = self.keep_count(self.final_sparsity)

    def keep_count(self, sparsity: float) -> int:
        """Weights kept at ``sparsity`` (at least one)."""
        return max(1, round((1.0 - sparsity) * self.original_params))

    def apply_final_state(self) -> None:
        """Keep the largest weights the budget pays for now, as a finished schedule would.

        An untrained pruning matrix keeps every weight (the schedule has not run);
        benchmarks and exports of untrained models need the pruned form instead.
        """
        self.mask.assign(self._largest(self.w.numpy()))

    def _largest(self, w: np.ndarray) -> np.ndarray:
        """The 0/1 mask of the final sparsity's largest magnitudes of ``w``."""
        keep = self.keep_count(self.final_sparsity)
        threshold = np.partition(np.abs(w).ravel(), w.size - keep)[w.size - keep]
        return (np.abs(w) >= threshold).astype("float32")

    def fit(self, dense_kernel: np.ndarray) -> list[np.ndarray]:
        """``[W, mask, step]``: pruned at once with the schedule over, or whole at step 0 (module doc)."""
        if self.options["fit_mode"] == "gradual":
            return [dense_kernel, np.ones(self.shape), np.int64(0)]
        return [dense_kernel, self._largest(dense_kernel), np.int64(self.last_update_step)]

    def create_variables(self, layer: keras.layers.Layer, prefix: str) -> list[keras.Variable]:
        init = keras.initializers.GlorotUniform(seed=self._next_seed())
        self.w = layer.add_weight(name=prefix, shape=self.shape, initializer=init)
        self.mask = layer.add_weight(
            name=f"{prefix}_mask", shape=self.shape, initializer="ones", trainable=False
        )
        # training-mode calls so far: TFMOT's pruning_step after UpdatePruningStep set it to 0
        self.step = layer.add_weight(
            name=f"{prefix}_step", shape=(), initializer="zeros", dtype="int64", trainable=False,
        )
        return [self.w, self.mask, self.step]

    # ----------------------------------------------------------- schedule
    def sparsity_at(self, step: Any) -> Any:
        o = self.options
        return polynomial_sparsity(
            step, o["begin_step"], o["end_step"], self.final_sparsity, o["initial_sparsity"]
        )

    @property
    def last_update_step(self) -> int:
        """The step of the schedule's last mask update (``end_step`` unless it stops short)."""
        begin, end, freq = (int(self.options[k]) for k in ("begin_step", "end_step", "frequency"))
        if self.options["prune_at_end_step"]:
            return end
        return begin + (end - begin) // freq * freq

    def _mask_due(self, step: Any) -> Any:
        """TFMOT's ``_should_prune_in_step``, plus ``end_step`` if ``prune_at_end_step``."""
        begin, end, freq = (int(self.options[k]) for k in ("begin_step", "end_step", "frequency"))
        in_range = ops.logical_and(step >= begin, step <= end)
        on_turn = ops.equal((step - begin) % freq, 0)
        if self.options["prune_at_end_step"]:
            on_turn = ops.logical_or(on_turn, ops.equal(step, end))
        return ops.logical_and(in_range, on_turn)

    def _magnitude_mask(self, step: Any) -> Any:
        size = self.original_params
        keep = ops.cast(ops.round((1.0 - self.sparsity_at(step)) * size), "int32")
        keep = ops.maximum(keep, 1)
        magnitude = ops.reshape(ops.abs(self.w * self.mask), (-1,))
        # sort once, read the keep-th largest value, break ties by position so the
        # count is exact: rank of each entry in descending order < keep.
        order = ops.argsort(-magnitude)
        ranks = ops.scatter(ops.expand_dims(order, 1), ops.arange(size, dtype="int32"), (size,))
        return ops.reshape(ops.cast(ranks < keep, "float32"), self.shape)

    def advance(self) -> None:
        """One training call: count it, then tighten the mask if due at the new count."""
        step = self.step + 1
        self.step.assign(step)
        self.mask.assign(
            ops.cond(self._mask_due(step), lambda: self._magnitude_mask(step), lambda: self.mask)
        )

    def kernel(self, training: bool = False) -> Any:
        if training:
            self.advance()
        return self.w * self.mask

    # ----------------------------------------------------------- inference
    def inference_state(self) -> dict[str, Any]:
        if self.options["inference_path"] == "masked":
            return super().inference_state()
        # W^T in row-major (canonical) order, so the SparseTensor needs no reorder per call
        indices = tf.where(tf.transpose(self.mask) > 0)
        return {"indices": indices, "values": tf.gather_nd(tf.transpose(self.w), indices)}

    def inference_fn(self) -> Callable[[Any], Any]:
        if self.options["inference_path"] == "masked":
            return super().inference_fn()
        m, n = self.shape
        indices, values = self.cached("indices"), self.cached("values")

        def apply(x: Any) -> Any:
            w_t = tf.SparseTensor(indices, values, dense_shape=(n, m))
            x2 = tf.reshape(x, (-1, m))
            y_t = tf.sparse.sparse_dense_matmul(w_t, x2, adjoint_b=True)  # (n, N) = W^T x^T
            x = tf.convert_to_tensor(x)
            lead = tf.shape(x)[:-1]
            y = tf.reshape(tf.transpose(y_t), tf.concat([lead, [n]], axis=0))
            y.set_shape(x.shape[:-1].concatenate([n]))
            return y

        return apply

    # ---------------------------------------------------------- accounting
    def stored_params(self) -> int:
        if not self._variables:
            return self.planned_params
        return int(np.count_nonzero(self.mask.numpy()))

    def stored_bytes(self, index_layout: str | None = None) -> int:
        """Survivors' values and indices in ``index_layout`` (default: the matrix's own), or the
        values alone when every weight is kept; a plan (no variables yet) counts no filler entries,
        which only a pruned mask can tell."""
        layout = check_choice("pruning index_layout", index_layout or self.options["index_layout"],
                              INDEX_LAYOUTS)
        if not self._variables:
            return planned_bytes(self.planned_params, layout, self.original_params)
        return layout_bytes(self._positions(), layout, self.original_params)

    def _positions(self) -> np.ndarray:
        """The survivors' flat row-major positions, in increasing order."""
        return np.flatnonzero(self.mask.numpy().reshape(-1))

    def ratio_note(self, tolerance: float) -> str:
        """Why the stored bytes are off budget: the schedule, a mask pruned to another budget (a model
        saved before budgets were bytes), relative16's filler entries, or a layer too small."""
        step = int(self.step.numpy()) if self._variables else 0
        last = self.last_update_step
        if step < last:
            return f"pruning in progress: step {step} of end_step {self.options['end_step']}"
        if abs(self.achieved_ratio / self.target_ratio - 1.0) <= tolerance:
            return ""
        if last < int(self.options["end_step"]):
            return (f"schedule stops short of the final sparsity: last update at step {last} "
                    "(prune_at_end_step=False)")
        layout = self.options["index_layout"]
        if (kept := self.stored_params()) != self.planned_params:
            return f"keeps {kept} weights, index_layout={layout} pays for {self.planned_params}"
        if layout == "relative16" and (fillers := filler_count(self._positions())):
            return f"{fillers} relative16 filler entries (gaps over {MAX_GAP} positions)"
        return super().ratio_note(tolerance)

    # --------------------------------------------------------- persistence
    def save_variables(self, store: Any, prefix: str) -> None:
        """Only surviving weights and their positions, in the index layout, so that files shrink
        with the ratio and hold what :meth:`stored_bytes` counts (module doc)."""
        kept = self._positions()
        save_survivors(store, prefix, kept, self.w.numpy().reshape(-1)[kept], self.options["index_layout"],
                       self.original_params)
        store[f"{prefix}.pruning_step"] = self.step.numpy()

    def load_variables(self, store: Any, prefix: str) -> None:
        kept, kept_values = load_survivors(store, prefix)
        values = np.zeros(self.original_params, dtype="float32")
        mask = np.zeros(self.original_params, dtype="float32")
        values[kept] = kept_values
        mask[kept] = 1.0
        self.w.assign(values.reshape(self.shape))
        self.mask.assign(mask.reshape(self.shape))
        if f"{prefix}.pruning_step" in store:
            self.step.assign(np.asarray(store[f"{prefix}.pruning_step"]))
        else:  # saved before the TFMOT convention: the counter was one less (-1 before training)
            self.step.assign(np.asarray(store[f"{prefix}.step"]) + 1)
