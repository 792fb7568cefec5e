"""One budget of stored parameters shared across layers, guided by their measured sensitivity.

The paper gives every layer the same ratio, yet layers differ widely in how much compression they
tolerate (Distiller's sensitivity analysis; ``deepthin-sensitivity`` measures it: each layer alone
compressed at several ratios). :func:`allocate` picks one ratio per layer so that the total stored
parameters meet a budget and the predicted loss increase, the sum of each layer's own increase at
its ratio, is smallest: each layer's (stored parameters, dev loss) points are reduced to their lower
convex hull, and the hull segments are bought in order of loss decrease per stored parameter, the
last one in part (a fractional knapsack, exact for piecewise-linear convex curves; a ratio between
two measured ones is interpolated linearly). Predictions add up per-layer effects measured alone,
which ignores interactions between compressed layers: the allocation is a guess to be checked by
training, as Distiller's is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import pandas as pd

from deepthin.compress import _select, matrix_shapes
from deepthin.methods.base import VALUE_BYTES
from deepthin.methods.registry import make_method
from deepthin.validation import check_ratio

#: Relative deviation of the allocated total from the budget that is accepted.
BUDGET_TOLERANCE = 0.02
#: A ratio below every method's smallest form: its plan is the least a layer can store (rank 1).
SMALLEST_RATIO = 1e-9
#: The sensitivity table's columns that :func:`allocate` reads.
TABLE_COLUMNS = ("layer", "ratio", "dev_loss", "dense_dev_loss")

#: ``stored(layer, ratio)``: parameters the layer's compressed matrices store at ``ratio``.
StoredParams = Callable[[str, float], int]


@dataclass(frozen=True)
class Allocation:
    """Per-layer ratios, what they store, the budget and the predicted dev-loss increase."""

    ratios: dict[str, float]
    stored_params: int
    budget: int
    predicted_loss_increase: float


def _hull(points: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    """Lower convex hull of ``(params, loss, ratio)`` points from the smallest ``params`` on."""
    hull: list[tuple[float, float, float]] = []
    for point in sorted(points):
        while len(hull) >= 2:
            (p0, l0, _), (p1, l1, _) = hull[-2], hull[-1]
            if (l1 - l0) * (point[0] - p0) < (point[1] - l0) * (p1 - p0):
                break  # hull[-1] lies below the chord: it stays
            hull.pop()
        hull.append(point)
    return hull


def _check_budget(budget: int, least: int, start: int, most: int) -> None:
    """One-line errors for a budget no allocation from the table can meet."""
    if budget < least:
        raise ValueError(f"allocation budget of {budget} stored parameters is below the {least} that "
                         "rank 1 (the smallest form) in every layer stores; allowed: a larger ratio")
    if budget < start * (1 - BUDGET_TOLERANCE) or budget > most * (1 + BUDGET_TOLERANCE):
        raise ValueError(f"allocation budget of {budget} stored parameters is outside the {start}-{most} "
                         "that the sensitivity table's smallest and largest ratios store; allowed: a "
                         "table measured at smaller (or larger) ratios, or a ratio inside that range")


def allocate(table: pd.DataFrame, stored: StoredParams, budget: int) -> Allocation:
    """Per-layer ratios from ``table`` (:data:`TABLE_COLUMNS`) whose total is ``budget`` (module doc)."""
    hulls = {layer: _hull([(stored(layer, r), loss, r) for r, loss in zip(rows["ratio"], rows["dev_loss"],
                                                                             strict=True)])
             for layer, rows in table.groupby("layer", sort=True)}
    least = sum(stored(layer, SMALLEST_RATIO) for layer in hulls)
    _check_budget(budget, least, sum(h[0][0] for h in hulls.values()), sum(h[-1][0] for h in hulls.values()))
    chosen = {layer: hull[0] for layer, hull in hulls.items()}
    total = sum(point[0] for point in chosen.values())
    segments = sorted(((b[1] - a[1]) / (b[0] - a[0]), layer, a, b)
                      for layer, hull in hulls.items() for a, b in zip(hull, hull[1:], strict=False))
    for _, layer, a, b in segments:
        if total >= budget:
            break
        part = min(1.0, (budget - total) / (b[0] - a[0]))
        chosen[layer] = tuple(x + part * (y - x) for x, y in zip(a, b, strict=True))
        total += part * (b[0] - a[0])
    ratios = {layer: point[2] for layer, point in chosen.items()}
    actual = sum(stored(layer, r) for layer, r in ratios.items())
    if abs(actual / budget - 1) > BUDGET_TOLERANCE:  # rounding of the plans at interpolated ratios
        raise ValueError(f"the allocated ratios store {actual} parameters, not within "
                         f"{BUDGET_TOLERANCE:.0%} of the budget {budget}; allowed: a table with more ratios")
    dense = table.groupby("layer")["dense_dev_loss"].first()
    increase = sum(point[1] - dense[layer] for layer, point in chosen.items())
    return Allocation(ratios, actual, budget, float(increase))


def read_table(path: str | Path, method: str, layers: set[str]) -> pd.DataFrame:
    """The sensitivity table at ``path``, checked against the method and the layers it must cover."""
    if not Path(path).is_file():
        raise ValueError(f"sensitivity table {path} does not exist; allowed: a sensitivity.csv "
                         "written by deepthin-sensitivity")
    table = pd.read_csv(path)
    missing = [c for c in (*TABLE_COLUMNS, "method") if c not in table]
    if missing:
        raise ValueError(f"sensitivity table {path} lacks column(s) {', '.join(missing)}; allowed: a "
                         "sensitivity.csv written by deepthin-sensitivity")
    if set(table["method"]) != {method}:
        raise ValueError(f"sensitivity table {path} measured {', '.join(map(str, set(table['method'])))}, "
                         f"not {method}; allowed: a table of the same method")
    if set(table["layer"]) != layers:
        raise ValueError(f"sensitivity table {path} covers layers {', '.join(sorted(set(table['layer'])))}; "
                         f"allowed: a table of exactly the compressed layers {', '.join(sorted(layers))}")
    return table


def allocate_model(model: keras.Model, method: str, ratio: float, layers: str | None,
                   table_path: str | Path, **options: Any) -> Allocation:
    """:func:`allocate` for ``model``'s selected layers, the budget ``ratio`` of their matrices."""
    shapes = {name: matrix_shapes(model.get_layer(name)) for name in _select(model, layers)}
    table = read_table(table_path, method, set(shapes))

    def stored(layer: str, layer_ratio: float) -> int:
        # float32 weights' worth of stored bytes: a method's indices (pruning's) count in the budget
        return round(sum(make_method(method, shape, layer_ratio, **options).stored_bytes()
                         for shape in shapes[layer]) / VALUE_BYTES)

    budget = round(check_ratio(ratio) * sum(m * n for s in shapes.values() for m, n in s))
    return allocate(table, stored, budget)
