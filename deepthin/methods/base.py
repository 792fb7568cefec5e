"""The one interface every weight-compression method implements.

A :class:`WeightMethod` owns one weight matrix of target shape ``(m, n)``
(Keras convention: ``y = x @ W``, ``m`` inputs, ``n`` outputs). It plans its
storage from ``(shape, ratio, options)`` *before* any variable exists, so
parameter accounting works without allocating anything; it creates its
variables on the layer that owns it; it materializes the dense kernel inside
the training graph; and it offers :meth:`matmul`, the inference path that
later methods override with something cheaper than building ``W``.

Layers hold methods, methods never hold layers' logic: the layer decides
*when* a kernel is needed, the method decides *how* it is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import keras
import numpy as np
from keras import ops

from deepthin.validation import check_matrix_shape, check_options, check_ratio


class WeightMethod:
    """Base class: a weight matrix stored in compressed form.

    Subclasses set :attr:`name` and :attr:`option_defaults`, compute their
    plan in ``__init__`` (setting :attr:`planned_params`), and implement
    :meth:`create_variables` and :meth:`kernel`.
    """

    name: ClassVar[str] = ""
    #: Keyword options the method accepts, with their defaults.
    option_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, shape: tuple[int, int], ratio: float, **options: Any) -> None:
        self.shape = check_matrix_shape(shape)
        self.ratio = check_ratio(ratio)
        check_options(self.name, options, self.option_defaults)
        self.options = {**self.option_defaults, **options}
        self.planned_params: int = self.original_params
        self._variables: list[keras.Variable] = []

    # ----------------------------------------------------------- accounting
    @property
    def original_params(self) -> int:
        """Parameters of the uncompressed ``m x n`` matrix."""
        return self.shape[0] * self.shape[1]

    def stored_params(self) -> int:
        """Parameters this matrix really stores now (the plan, unless overridden)."""
        return self.planned_params

    def stored_params_with_index(self) -> int:
        """Stored parameters plus any index overhead needed to use them."""
        return self.stored_params()

    @property
    def achieved_ratio(self) -> float:
        return self.stored_params() / self.original_params

    @property
    def target_ratio(self) -> float:
        return self.ratio

    def ratio_note(self, tolerance: float) -> str:
        """Why the achieved ratio is off target by more than ``tolerance``, or ``""``."""
        if abs(self.achieved_ratio / self.target_ratio - 1.0) <= tolerance:
            return ""
        return "nearest achievable: layer too small for the ratio"

    # ------------------------------------------------------------ variables
    def build(self, layer: keras.layers.Layer, prefix: str, seed: int | None = None) -> None:
        """Create this matrix's variables on ``layer``; names start with ``prefix``."""
        self._layer = layer
        self._prefix = prefix
        self._seed = seed
        self._variables = list(self.create_variables(layer, prefix))

    def create_variables(self, layer: keras.layers.Layer, prefix: str) -> list[keras.Variable]:
        raise NotImplementedError

    @property
    def variables(self) -> list[keras.Variable]:
        """Every variable this matrix owns (trainable or not), in a fixed order."""
        return self._variables

    def _initializer(self, std: float) -> keras.initializers.Initializer:
        """A seeded normal initializer, so the same layer seed gives the same weights."""
        return keras.initializers.RandomNormal(stddev=std, seed=self._next_seed())

    def _next_seed(self) -> int | None:
        if self._seed is None:
            return None
        self._seed += 1
        return self._seed

    # --------------------------------------------------------------- compute
    def kernel(self, training: bool = False) -> Any:
        """The dense ``m x n`` kernel, built inside the graph so gradients flow."""
        raise NotImplementedError

    def matmul_fn(self, training: bool = False) -> Callable[[Any], Any]:
        """A function ``x -> x @ W``, prepared once per layer call.

        Recurrent layers apply the same matrix at every time step: preparing
        once (here: materializing the kernel) and applying many times keeps
        the per-step cost at one matmul. Methods with a cheaper route than
        building ``W`` override this; it is the inference path hook.
        """
        kernel = self.kernel(training)
        return lambda x: ops.matmul(x, kernel)

    def matmul(self, x: Any, training: bool = False) -> Any:
        """``x @ W`` for ``x`` of shape ``(..., m)``."""
        return self.matmul_fn(training)(x)

    # ----------------------------------------------------------- persistence
    def save_variables(self, store: Any, prefix: str) -> None:
        """Write this matrix's state into a Keras weights ``store``."""
        for i, variable in enumerate(self.variables):
            store[f"{prefix}.{i}"] = variable.numpy()

    def load_variables(self, store: Any, prefix: str) -> None:
        """Read back what :meth:`save_variables` wrote."""
        for i, variable in enumerate(self.variables):
            variable.assign(np.asarray(store[f"{prefix}.{i}"]))

    def get_config(self) -> dict[str, Any]:
        """The options needed to rebuild this method (shape and ratio come from the layer)."""
        return dict(self.options)


def factor_std(shape: tuple[int, int], rank: int) -> float:
    """Std of each factor entry so that a rank-``rank`` product has Glorot variance.

    An entry of ``X @ Y`` is a sum of ``rank`` products of independent
    zero-mean entries, so its variance is ``rank * var(X) * var(Y)``. Setting
    both factor variances to ``sqrt(glorot / rank)`` gives the product the
    variance ``2 / (m + n)`` of a Glorot-initialized dense kernel, whatever
    the rank; without this a low-rank layer starts with exploding or vanishing
    activations as the ratio changes.
    """
    m, n = shape
    glorot_var = 2.0 / (m + n)
    return float((glorot_var / rank) ** 0.25)
