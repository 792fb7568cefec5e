"""``deepthin-ratios``: the achieved-ratio table of every method, shape and ratio.

Each method plans its storage from ``(shape, ratio)`` without allocating
variables, so this covers matrices up to 4096x8192 in seconds. An entry is
the achieved ratio of stored bytes (values and any indices, see
:mod:`deepthin.size`); ``*`` marks one more than 2% off target, which happens
only where the layer is too small for the ratio (the nearest achievable
value is shown). Pruning is shown at the end of its schedule, in its default
index layout, with no filler entries (a plan cannot know them). The columns are every method's
variants (:func:`deepthin.methods.registry.variants`: one per storage layout).
"""

from __future__ import annotations

import argparse
import itertools

import pandas as pd

from deepthin.methods.registry import make_method, variants
from deepthin.size import RATIO_TOLERANCE

SHAPES = [(64, 64), (256, 1024), (440, 2048), (2048, 2048), (2048, 8192), (4096, 4096),
          (4096, 8192), (8192, 4096)]
RATIOS = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
VARIANTS = {label: (method, options) for label, method, options in variants()}


def ratio_table(shapes=SHAPES, ratios=RATIOS) -> pd.DataFrame:
    """Long table: shape, target ratio, variant, stored params and bytes, achieved (byte) ratio, within
    tolerance."""
    rows = []
    for (m, n), ratio, (variant, (method, options)) in itertools.product(
        shapes, ratios, VARIANTS.items()
    ):
        matrix = make_method(method, (m, n), ratio, **options)
        achieved = matrix.achieved_ratio
        rows.append({
            "shape": f"{m}x{n}", "target": ratio, "variant": variant,
            "stored_params": matrix.planned_params, "stored_bytes": matrix.stored_bytes(),
            "achieved": achieved,
            "within_2pct": abs(achieved / ratio - 1.0) <= RATIO_TOLERANCE,
        })
    return pd.DataFrame(rows)


def format_table(table: pd.DataFrame) -> str:
    """Wide text table, one row per (shape, target), ``*`` where off by more than 2%."""
    cells = table.assign(
        cell=[f"{a:.5f}{'' if ok else '*'}" for a, ok in zip(table.achieved, table.within_2pct, strict=True)]
    )
    wide = cells.pivot_table(
        index=["shape", "target"], columns="variant", values="cell", aggfunc="first", sort=False
    )[list(VARIANTS)]
    return wide.to_string()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", help="also write the long table to this CSV file")
    args = parser.parse_args(argv)
    table = ratio_table()
    print(format_table(table))
    off = table[~table.within_2pct]
    print(f"\n{len(table) - len(off)} of {len(table)} within 2% of target; "
          f"* = nearest achievable ({len(off)}: {', '.join(sorted(set(off.variant))) or 'none'})")
    if args.csv:
        table.to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
