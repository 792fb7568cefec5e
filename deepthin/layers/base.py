"""What every compressed layer shares: its methods, its config, its saved state.

A compressed layer owns one :class:`~deepthin.methods.base.WeightMethod` per
weight matrix. This mixin keeps the compression arguments, ``get_config`` and the
weights-file layout in one place so that ``CompressedDense`` and
``CompressedLSTM`` only describe their maths.

The method's options are one explicit argument, ``method_options`` (a dict), as Keras' own
``Dense`` takes ``lora_rank`` and ``quantization_config``: a layer never has to know which
keywords belong to which method, and ``get_config`` saves the dict as it is, so a saved config
is the constructor's arguments and Keras' default ``from_config`` rebuilds the layer.

Inference mode (config key ``inference``, set by :func:`deepthin.for_inference`):
outside training, the layer multiplies through each method's
:meth:`~deepthin.methods.base.WeightMethod.inference_fn` instead of the
training path. The methods' inference caches are never saved; they are
filled on first use and refilled whenever weights arrive through
``load_own_variables`` (``load_model``, ``load_weights``) or ``set_weights``.
Training an inference-mode layer still uses the training path but leaves the
caches stale: switch again with ``for_inference`` after training.

Fitting (:meth:`CompressedLayerMixin.fit_weights`, used by ``compress(..., init="fit")``): each
matrix is fitted to the trained dense kernel of the same name, plain weights (biases) are copied.
The relative error of each fit is kept in the config key ``fit_errors`` (saved with the model), so
``size_report`` can show it for a fitted model after any save and load; it is the error at fit time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from deepthin.methods.base import WeightMethod
from deepthin.methods.registry import get_method, make_method
from deepthin.validation import check_ratio

#: What an unknown batch or time dimension counts as when a method picks its route: the order of a
#: training batch's utterances and of an utterance's frames after striding. The trainer traces its
#: steps for unknown batch and length (``Trainer.steps``), so this is what training sees.
UNKNOWN_DIM = 32


def known_rows(lead: Sequence) -> int:
    """Product of static dimensions, an unknown one counting as :data:`UNKNOWN_DIM`."""
    return math.prod(UNKNOWN_DIM if d is None else int(d) for d in lead)


class CompressedLayerMixin:
    """Shared behaviour of layers whose weight matrices are compressed.

    Subclasses call :meth:`_init_compression` from ``__init__``, create their
    methods with :meth:`_add_matrix` in ``build``, and list their other
    variables in ``self._plain_weights``.
    """

    def _init_compression(self, method: str, ratio: float, seed: int | None,
                          method_options: dict[str, Any] | None, inference: bool,
                          fit_errors: dict[str, float] | None) -> None:
        """Check and keep the compression arguments (the layers' docstrings say what each means)."""
        get_method(method)  # fail at construction on an unknown name, not at build
        self.method = method
        self.ratio = check_ratio(ratio)
        self.seed = seed
        self.method_options = dict(method_options or {})
        self.inference = bool(inference)
        self.fit_errors: dict[str, float] = dict(fit_errors or {})
        self.matrices: dict[str, WeightMethod] = {}
        self._plain_weights: list[keras.Variable] = []

    def _add_matrix(self, key: str, shape: tuple[int, int], seed_offset: int = 0) -> WeightMethod:
        """Create and build the method for matrix ``key`` (e.g. ``"kernel"``)."""
        matrix = make_method(self.method, shape, self.ratio, **self.method_options)
        seed = None if self.seed is None else self.seed + 1000 * seed_offset
        matrix.build(self, key, seed=seed, matrix_index=seed_offset)
        self.matrices[key] = matrix
        return matrix

    def _matmul_fn(self, matrix: WeightMethod, training: bool, lead: Sequence, uses: int = 1) -> Any:
        """The method's inference path in inference mode outside training, else its training path.

        ``lead``: the static leading dimensions of everything the matrix
        multiplies in this call (the method picks its route by the row count).
        """
        if self.inference and not training:
            return matrix.inference_fn()
        return matrix.matmul_fn(training, rows=known_rows(lead), uses=uses)

    def refresh_inference(self) -> None:
        """Recompute every matrix's inference cache from the current weights (inference mode only)."""
        if self.inference:
            for matrix in self.matrices.values():
                matrix.refresh_inference()

    def fit_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Fit every matrix to ``weights[key]`` (a trained dense kernel) and copy the plain weights.

        ``weights``: the trained layer's arrays by name (``kernel``, ``recurrent_kernel``, ``bias``).
        """
        for key, matrix in self.matrices.items():
            self.fit_errors[key] = matrix.fit_to(weights[key])
        for variable in self._plain_weights:
            variable.assign(weights[variable.name])
        self.refresh_inference()

    def set_weights(self, weights: list) -> None:
        super().set_weights(weights)
        self.refresh_inference()

    def compression_config(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "ratio": self.ratio,
            "seed": self.seed,
            "method_options": dict(self.method_options),
            "inference": self.inference,
            **({"fit_errors": dict(self.fit_errors)} if self.fit_errors else {}),
        }

    # Keras calls these for model.save()/load_model() and save_weights()/load_weights().
    def save_own_variables(self, store: Any) -> None:
        for key, matrix in self.matrices.items():
            matrix.save_variables(store, key)
        for variable in self._plain_weights:
            store[variable.name] = variable.numpy()

    def load_own_variables(self, store: Any) -> None:
        for key, matrix in self.matrices.items():
            matrix.load_variables(store, key)
        for variable in self._plain_weights:
            variable.assign(np.asarray(store[variable.name]))
        self.refresh_inference()
