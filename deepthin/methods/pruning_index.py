"""How pruning stores the positions of its surviving weights, and what that costs in bytes.

A pruned matrix is rebuilt from its surviving values *and* where they go, so its stored size
counts both (the budget of a run is bytes, see :meth:`~deepthin.methods.base.WeightMethod.stored_bytes`).
Positions are flat row-major indices into the ``m x n`` kernel, in increasing order. Layouts
(``index_layout=``):

- ``relative16`` (the default, and the grid's): each entry stores the 16-bit gap to the previous
  entry's position (the first: its position + 1), as in Han et al.'s Deep Compression (2016,
  relative indexing). A gap over 65535 does not fit: a *filler* entry, a zero value 65535 positions
  on, is stored first (one per 65535 positions skipped). Per survivor 4 + 2 bytes, plus 6 per filler.
- ``flat32``: one int32 flat position per survivor, 4 + 4 bytes (what files saved before the byte
  budget held).
- ``none``: values only, 4 bytes per survivor: the parameter count the budget used before it was
  counted in bytes (and TensorFlow Model Optimization's meaning of a sparsity), kept to reproduce
  those runs. It stores its positions as ``flat32`` does; they are just not counted.

A matrix that keeps every weight (ratio 1, or before pruning starts) needs no index: its values
alone, stored dense, rebuild it, in every layout. The smallest standard layout makes pruning's
budget the most generous one (the most survivors for the bytes), so a comparison at equal bytes
cannot be blamed on an inflated cost of its indices. How many fillers a mask needs is known only
once it is pruned: a plan counts none.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepthin.methods.base import VALUE_BYTES

INDEX_LAYOUTS = ("relative16", "flat32", "none")
#: Bytes of the index stored with each entry, by layout.
INDEX_BYTES = {"relative16": 2, "flat32": 4, "none": 0}
#: The largest gap a 16-bit relative index holds.
MAX_GAP = np.iinfo(np.uint16).max


def entry_bytes(layout: str) -> int:
    """Bytes of one stored entry (a float32 value and its index) in ``layout``."""
    return VALUE_BYTES + INDEX_BYTES[layout]


def _gaps(positions: np.ndarray) -> np.ndarray:
    """Each position's distance from the one before (the first: from -1), as int64."""
    return np.diff(np.asarray(positions, dtype=np.int64), prepend=-1)


def filler_count(positions: np.ndarray) -> int:
    """Filler entries ``relative16`` needs for these sorted flat positions (module doc)."""
    return int(((_gaps(positions) - 1) // MAX_GAP).sum())


def planned_bytes(kept: int, layout: str, size: int) -> int:
    """Bytes of ``kept`` of ``size`` weights in ``layout`` before a mask says where (no filler)."""
    return size * VALUE_BYTES if kept == size else kept * entry_bytes(layout)


def layout_bytes(positions: np.ndarray, layout: str, size: int) -> int:
    """Bytes that storing the values at these sorted flat positions of ``size`` takes in ``layout``."""
    fillers = filler_count(positions) if layout == "relative16" and len(positions) < size else 0
    return planned_bytes(len(positions), layout, size) + fillers * entry_bytes(layout)


def encode_relative16(positions: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(gaps, values)`` in ``relative16``: uint16 gaps and float32 values, fillers included."""
    gaps = _gaps(positions)
    fillers = (gaps - 1) // MAX_GAP
    slots = np.cumsum(fillers + 1) - 1  # where each survivor lands, after its fillers
    out_gaps = np.full(int(slots[-1]) + 1 if len(slots) else 0, MAX_GAP, dtype=np.uint16)
    out_values = np.zeros(len(out_gaps), dtype=np.float32)
    out_gaps[slots] = gaps - fillers * MAX_GAP
    out_values[slots] = values
    return out_gaps, out_values


def decode_relative16(gaps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, values)`` of the survivors of a ``relative16`` encoding, fillers dropped.

    A filler is an entry with the largest gap and a zero value; a survivor that looks the same
    (trained to exactly 0.0 at exactly that gap) is dropped with them, which changes no kernel entry.
    """
    gaps = np.asarray(gaps, dtype=np.int64)
    values = np.asarray(values, dtype=np.float32)
    survivor = ~((gaps == MAX_GAP) & (values == 0.0))
    return (np.cumsum(gaps) - 1)[survivor], values[survivor]


def save_survivors(store: Any, prefix: str, positions: np.ndarray, values: np.ndarray, layout: str,
                   size: int) -> None:
    """Write the survivors of ``size`` weights into a Keras weights ``store`` in ``layout``: every weight
    as ``values`` alone, else ``relative16`` as uint16 ``gaps`` and ``values`` with fillers, the others
    as ``values`` and int32 flat ``indices``."""
    if len(positions) == size:
        store[f"{prefix}.values"] = values
    elif layout == "relative16":
        store[f"{prefix}.gaps"], store[f"{prefix}.values"] = encode_relative16(positions, values)
    else:
        store[f"{prefix}.values"], store[f"{prefix}.indices"] = values, positions.astype(np.int32)


def load_survivors(store: Any, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, values)`` as :func:`save_survivors` wrote them in any layout (a file's layout
    is its keys), or as every file saved before the layouts existed holds them (flat indices)."""
    values = np.asarray(store[f"{prefix}.values"], dtype=np.float32)
    if f"{prefix}.gaps" in store:
        return decode_relative16(store[f"{prefix}.gaps"], values)
    if f"{prefix}.indices" in store:
        return np.asarray(store[f"{prefix}.indices"]), values
    return np.arange(len(values)), values
