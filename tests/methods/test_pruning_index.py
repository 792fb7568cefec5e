"""Pruning's index layouts: bytes counted from actual positions, and the relative16 encoding."""

import numpy as np
import pytest

from deepthin.methods.pruning_index import (
    MAX_GAP,
    decode_relative16,
    encode_relative16,
    filler_count,
    layout_bytes,
    load_survivors,
    planned_bytes,
    save_survivors,
)


def test_bytes_of_each_layout_from_positions_with_and_without_fillers():
    # gaps from -1: 1, 5, 65535 (fits), 65536 (one filler), 3 * 65535 + 1 (three fillers)
    positions = np.array([0, 5, 65540, 131076, 131076 + 3 * MAX_GAP + 1])
    assert filler_count(positions) == 4
    size = 400_000
    assert layout_bytes(positions, "relative16", size) == (5 + 4) * (4 + 2)
    assert layout_bytes(positions, "flat32", size) == 5 * (4 + 4)
    assert layout_bytes(positions, "none", size) == 5 * 4
    assert layout_bytes(np.array([], dtype=np.int64), "relative16", size) == 0


@pytest.mark.parametrize("layout", ["relative16", "flat32", "none"])
def test_every_weight_kept_is_the_dense_matrix_in_every_layout(layout):
    """No index is needed when nothing is pruned: ratio 1 stores what the dense layer stores."""
    size = 70_000
    every = np.arange(size)
    assert layout_bytes(every, layout, size) == planned_bytes(size, layout, size) == 4 * size
    assert planned_bytes(size - 1, "flat32", size) == 8 * (size - 1)  # one weight pruned: indices again
    store = {}
    values = np.linspace(-1, 1, size).astype(np.float32)
    save_survivors(store, "w", every, values, layout, size)
    assert set(store) == {"w.values"} and store["w.values"].nbytes == 4 * size
    back, back_values = load_survivors(store, "w")
    np.testing.assert_array_equal(back, every)
    np.testing.assert_array_equal(back_values, values)


def test_relative16_round_trip_on_a_big_sparse_matrix():
    rng = np.random.default_rng(0)
    size = 4096 * 2048
    positions = np.sort(rng.choice(size, 60, replace=False))  # mean gap ~140000: fillers needed
    values = rng.normal(size=60).astype(np.float32)
    gaps, stored = encode_relative16(positions, values)
    assert gaps.dtype == np.uint16 and stored.dtype == np.float32
    assert len(gaps) == len(stored) == 60 + filler_count(positions) > 60
    assert (len(gaps) - 60) == np.count_nonzero(stored == 0)  # the fillers are the zero values
    back, back_values = decode_relative16(gaps, stored)
    np.testing.assert_array_equal(back, positions)
    np.testing.assert_array_equal(back_values, values)


@pytest.mark.parametrize("layout, keys", [("relative16", {"w.gaps", "w.values"}),
                                          ("flat32", {"w.indices", "w.values"}),
                                          ("none", {"w.indices", "w.values"})])
def test_saved_survivors_hold_the_layout_and_load_back(layout, keys):
    positions = np.array([3, 70000, 70001])
    values = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    store = {}
    save_survivors(store, "w", positions, values, layout, 100_000)
    assert set(store) == keys
    if "w.indices" in store:
        assert store["w.indices"].dtype == np.int32
    saved_bytes = sum(array.nbytes for array in store.values())
    assert saved_bytes == layout_bytes(positions, "flat32" if layout == "none" else layout, 100_000)
    back, back_values = load_survivors(store, "w")
    np.testing.assert_array_equal(back, positions)
    np.testing.assert_array_equal(back_values, values)
