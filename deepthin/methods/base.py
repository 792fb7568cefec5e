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

Two routes to ``x @ W`` outside inference mode (:meth:`matmul_fn`, chosen by
:meth:`route`): *reconstruct* builds ``W`` in the graph and multiplies by it;
*factored*, for methods whose ``W`` is a product ``A B`` of thin matrices laid
out from their variables (:meth:`factors`: low rank, aligned DeepThin),
computes ``(x A) B`` so that neither the forward pass nor the backward pass
(gradients reach the variables through the same two matmuls and the layout)
ever touches an ``m x n`` matrix. ``training_path="auto"`` (the default)
compares the multiply-adds of both routes for the call's row count
(:meth:`route_costs`); the backward pass costs about twice the forward pass
on either route, so the forward estimate decides.

Inference (:meth:`inference_fn`) is a separate hook from training
(:meth:`matmul_fn`): a layer switched to inference mode (see
:func:`deepthin.for_inference`) asks its methods for it. What a method's
inference path precomputes from its trained variables lives in an inference
cache (:mod:`deepthin.methods.inference_cache`).

Fitting (:meth:`WeightMethod.fit`, see :mod:`deepthin.methods.fitting`): each
method sets its stored form from a trained dense kernel, since only it knows
which entries its stored values produce.

What benchmarks, the ratio table and the exporter ask of a method (its variants, its export
form) is inherited from :class:`~deepthin.methods.traits.MethodTraits`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import keras
import numpy as np
from keras import ops

from deepthin.methods.fitting import relative_error
from deepthin.methods.inference_cache import InferenceCache
from deepthin.methods.traits import MethodTraits
from deepthin.validation import check_choice, check_matrix_shape, check_options, check_ratio

#: Bytes of one stored value: every method stores float32, so a ratio of stored bytes is one of
#: parameters for any method without indices (:meth:`WeightMethod.stored_bytes`).
VALUE_BYTES = 4
#: Relative deviation of stored bytes from a ratio's budget beyond which a matrix is off target
#: (:meth:`WeightMethod.ratio_note`; ``deepthin.size`` flags such rows).
RATIO_TOLERANCE = 0.02
#: ``training_path`` option of methods with a factored route (see :meth:`WeightMethod.route`).
TRAINING_PATHS = ("auto", "factored", "reconstruct")
#: The fixed cost of one more op inside a compiled step, in multiply-adds: about 10 us per op
#: (a tiny training step: 1333 ops in 17 ms of CPU, ``deepthin/experiment/trainer.py``), the order
#: of 50,000 multiply-adds of a core. An order of magnitude, it only decides for tiny layers.
MATMUL_OVERHEAD_MACS = 50_000


class WeightMethod(MethodTraits, InferenceCache):
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
        self.matrix_index = 0
        self._variables: list[keras.Variable] = []

    # ----------------------------------------------------------- accounting
    @property
    def original_params(self) -> int:
        """Parameters of the uncompressed ``m x n`` matrix."""
        return self.shape[0] * self.shape[1]

    def stored_params(self) -> int:
        """Parameters this matrix really stores now (the plan, unless overridden)."""
        return self.planned_params

    def stored_bytes(self, index_layout: str | None = None) -> int:
        """Bytes needed to rebuild this matrix's weights: what the budget of a ratio counts.

        Every method stores float32 values (:data:`VALUE_BYTES` each); one that also stores where
        they go (pruning) adds its indices, in ``index_layout`` (default: its own; methods without
        indices ignore it). What the model's config records (shape, ratio, a hash seed) is not
        counted: a few bytes, the same for every method.
        """
        return VALUE_BYTES * self.stored_params()

    @property
    def achieved_ratio(self) -> float:
        """Stored bytes over the dense float32 matrix's: the ratio a run is given, as achieved."""
        return self.stored_bytes() / (VALUE_BYTES * self.original_params)

    @property
    def target_ratio(self) -> float:
        return self.ratio

    def ratio_note(self, tolerance: float) -> str:
        """Why the achieved ratio is off target by more than ``tolerance``, or ``""``."""
        if abs(self.achieved_ratio / self.target_ratio - 1.0) <= tolerance:
            return ""
        return "nearest achievable: layer too small for the ratio"

    # ------------------------------------------------------------ variables
    def build(self, layer: keras.layers.Layer, prefix: str, seed: int | None = None,
              matrix_index: int = 0) -> None:
        """Create this matrix's variables on ``layer``; names start with ``prefix``.

        ``matrix_index`` numbers the matrices of one layer (an LSTM's input and recurrent kernels),
        for a method whose structure is seeded and must differ between them (HashedNets' hash).
        """
        self._layer = layer
        self._prefix = prefix
        self._seed = seed
        self.matrix_index = matrix_index
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

    def matmul_fn(self, training: bool = False, rows: int = 1, uses: int = 1) -> Callable[[Any], Any]:
        """A function ``x -> x @ W``, prepared once per layer call, by the cheaper route.

        ``rows`` input vectors in all, in ``uses`` separate products (an LSTM's
        recurrent kernel: one per time step). Preparing once (materializing
        the kernel or laying out the factors) and applying many times keeps a
        recurrent layer's per-step cost at its matmuls.
        """
        if self.route(rows, uses) == "factored":
            return factored_matmul(*self.factors())
        kernel = self.kernel(training)
        return lambda x: ops.matmul(x, kernel)

    def matmul(self, x: Any, training: bool = False) -> Any:
        """``x @ W`` for ``x`` of shape ``(..., m)`` with known leading dimensions."""
        return self.matmul_fn(training, rows=math.prod(x.shape[:-1]))(x)

    # ---------------------------------------------------------------- routes
    @property
    def factored_width(self) -> int | None:
        """Inner width ``R`` of the factored route (``A: m x R``), or ``None`` if there is none."""
        return None

    def factors(self) -> tuple[Any, Any]:
        """``(A, B)`` with ``A @ B == W``, laid out in the graph from the variables (gradients flow)."""
        raise NotImplementedError(f"method {self.name!r} has no factored route")

    def reconstruct_macs(self) -> int:
        """Multiply-adds that building ``W`` from the variables takes (0: stored as is)."""
        return 0

    def route_costs(self, rows: int, uses: int = 1) -> dict[str, int]:
        """Estimated multiply-adds of each available route for ``rows`` vectors in ``uses`` products.

        Reconstruct: build ``W`` once, ``m n`` per row, one matmul per use.
        Factored: lay out ``A`` and ``B`` once (``R (m + n)`` entries written),
        ``R (m + n)`` per row, two matmuls per use. Each matmul op also pays
        :data:`MATMUL_OVERHEAD_MACS`, which decides for tiny layers.
        """
        m, n = self.shape
        costs = {"reconstruct": self.reconstruct_macs() + rows * m * n + uses * MATMUL_OVERHEAD_MACS}
        width = self.factored_width
        if width is not None:
            costs["factored"] = (rows + 1) * width * (m + n) + 2 * uses * MATMUL_OVERHEAD_MACS
        return costs

    def route(self, rows: int, uses: int = 1) -> str:
        """``"factored"`` or ``"reconstruct"``: as forced by ``training_path``, else the cheaper."""
        forced = self.options.get("training_path", "reconstruct")
        if forced != "auto":
            return forced
        costs = self.route_costs(rows, uses)
        return min(costs, key=costs.__getitem__)

    def _check_training_path(self) -> None:
        """Fail at construction on a bad ``training_path`` or a forced factored route that does not exist."""
        path = check_choice(f"{self.name} training_path", self.options["training_path"], TRAINING_PATHS)
        if path == "factored" and self.factored_width is None:
            raise ValueError(
                f"{self.name} training_path='factored' needs a factored form of W, which this "
                "configuration lacks; allowed: training_path='auto' or 'reconstruct'"
            )

    # -------------------------------------------------------------- fitting
    def fit(self, dense_kernel: np.ndarray) -> list[np.ndarray]:
        """Values for :attr:`variables`, in order, whose kernel approximates ``dense_kernel`` best."""
        raise NotImplementedError(f"method {self.name!r} cannot be fitted to a trained kernel")

    def fit_to(self, dense_kernel: np.ndarray) -> float:
        """Set the variables from :meth:`fit`; return the relative error of the fitted kernel."""
        kernel = np.asarray(dense_kernel, dtype="float32")
        if kernel.shape != self.shape:
            raise ValueError(f"kernel of shape {kernel.shape} cannot fit a {self.shape} matrix; "
                             f"allowed: shape {self.shape}")
        for variable, value in zip(self.variables, self.fit(kernel), strict=True):
            variable.assign(np.asarray(value, dtype=variable.dtype))
        return relative_error(kernel, np.asarray(self.kernel(False)))

    # ------------------------------------------------------------ inference
    def inference_state(self) -> dict[str, Any]:
        """Tensors the inference path precomputes from the current variables.

        Default: the materialized kernel, so the path is one dense matmul and
        the reconstruction cost is paid once instead of per call.
        """
        return {"kernel": self.kernel(False)}

    def inference_fn(self) -> Callable[[Any], Any]:
        """A function ``x -> x @ W`` for inference, equal to :meth:`matmul_fn` in value.

        Methods with a route cheaper than a dense matmul override this (and
        :meth:`inference_state`); the default multiplies by the cached kernel.
        """
        kernel = self.cached("kernel")
        return lambda x: ops.matmul(x, kernel)

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


def factored_matmul(a: Any, b: Any) -> Callable[[Any], Any]:
    """``x -> (x @ a) @ b``: the factored route, shared by training and inference paths."""
    return lambda x: ops.matmul(ops.matmul(x, a), b)
