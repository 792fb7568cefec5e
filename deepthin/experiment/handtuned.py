"""``handtuned``: the same architecture made narrower until it has the target size.

Not a weight method: it changes the model. The paper's "hand-tuned" baseline
is a network with the same layers but narrower hidden layers, sized to store
as many parameters as the compressed model it is compared with. Recipes
build their narrower model with :func:`solve_width`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import keras

from deepthin.compress import _select


def compressed_budget(
    model: keras.Model, ratio: float, layers: str | Iterable[str] | None = None
) -> int:
    """Total parameters of ``model`` if its selected matrices stored ``ratio`` of their size.

    This is the size every compressed variant of ``model`` aims at, hence the
    size a hand-tuned network must match for a fair comparison. ``ratio`` is the run's, checked
    where it enters (``deepthin-run``'s command line and config).
    """
    chosen = _select(model, layers)
    matrix_params = 0
    for layer in model.layers:
        if layer.name in chosen:
            matrix_params += sum(
                int(v.shape[0] * v.shape[1]) for v in layer.weights if len(v.shape) == 2
            )
    return round(model.count_params() - (1.0 - ratio) * matrix_params)


def solve_width(build: Callable[[int], keras.Model], target_params: int) -> int:
    """The hidden width whose model's parameter count is closest to ``target_params``.

    ``build(width)`` must return a built model whose size grows with
    ``width``. Doubling from 1 then bisecting needs about ``2 log2(width)``
    builds, none much larger than the answer (building a far too wide model
    would allocate its weights).
    """
    if target_params < 1:
        raise ValueError(f"target_params={target_params} is not positive; allowed: >= 1")
    sizes: dict[int, int] = {}

    def size(width: int) -> int:
        if width not in sizes:
            sizes[width] = build(width).count_params()
        return sizes[width]

    high = 1
    while size(high) < target_params:
        high *= 2
    low = max(1, high // 2)
    while low < high:  # smallest width whose size reaches the target
        mid = (low + high) // 2
        if size(mid) >= target_params:
            high = mid
        else:
            low = mid + 1
    if low > 1 and abs(size(low - 1) - target_params) < abs(size(low) - target_params):
        return low - 1
    return low
