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
from deepthin.validation import check_ratio


def compressed_budget(
    model: keras.Model, ratio: float, layers: str | Iterable[str] | None = None
) -> int:
    """Total parameters of ``model`` if its selected matrices stored ``ratio`` of their size.

    This is the size every compressed variant of ``model`` aims at, hence the
    size a hand-tuned network must match for a fair comparison.
    """
    ratio = check_ratio(ratio)
    chosen = _select(model, layers)
    matrix_params = 0
    for layer in model.layers:
        if layer.name in chosen:
            matrix_params += sum(
                int(v.shape[0] * v.shape[1]) for v in layer.weights if len(v.shape) == 2
            )
    return round(model.count_params() - (1.0 - ratio) * matrix_params)


def solve_width(
    build: Callable[[int], keras.Model], target_params: int, max_width: int = 1 << 16
) -> int:
    """The hidden width whose model's parameter count is closest to ``target_params``.

    ``build(width)`` must return a built model whose size grows with
    ``width``; bisection needs about ``log2(max_width)`` builds.
    """
    if target_params < 1:
        raise ValueError(f"target_params={target_params} is not positive; allowed: >= 1")
    low, high = 1, max_width
    while low < high:  # smallest width whose size reaches the target
        mid = (low + high) // 2
        if build(mid).count_params() >= target_params:
            high = mid
        else:
            low = mid + 1
    if low == 1:
        return 1
    above = abs(build(low).count_params() - target_params)
    below = abs(build(low - 1).count_params() - target_params)
    return low - 1 if below < above else low
