"""Same seed, same weights and outputs: each method's layers as they were built before issue 17.

The expected numbers (sum of absolute values of each weight, then of a Dense and an LSTM output)
were computed at commit c75cd70, before method options became the ``method_options`` argument;
a change to a layer's or a method's seeding, hashing or initialization fails here.
"""

import numpy as np
import pytest

from deepthin.layers import CompressedDense, CompressedLSTM

EXPECTED = [
    ("dense", {}, [89.49391, 0.0, 72.704612, 50.183938, 8.0, 22.796757, 2.426218]),
    # recomputed when issue 27's planner (every stored entry read) changed the paper policy's shapes
    ("deepthin", {"policy": "paper"}, [2.19213, 29.570916, 0.0, 2.19213, 23.821527, 2.490378,
                                       20.936879, 8.0, 17.439086, 1.767192]),
    ("deepthin", {"policy": "aligned"}, [13.219486, 13.055955, 0.0, 20.738183, 4.821077, 13.988268,
                                         7.081922, 8.0, 9.313725, 2.401218]),
    ("lowrank", {}, [9.955353, 11.797387, 0.869026, 1.53857, 0.0, 2.697517, 8.59405, 1.752285, 8.600851,
                     3.200591, 12.037817, 0.564764, 3.221653, 8.0, 8.190159, 1.370916]),
    ("hashednet", {"hash_seed": 7}, [17.947456, 0.0, 13.776981, 10.425543, 8.0, 20.977772, 2.162917]),
    ("pruning", {}, [89.49391, 0.0, 480.0, 0.0, 72.704612, 50.183938, 8.0, 384.0, 0.0, 256.0, 0.0,
                     22.796757, 2.426218]),
]


@pytest.mark.parametrize("method, options, expected", EXPECTED)
def test_seeded_layers_are_built_as_before(method, options, expected):
    dense = CompressedDense(24, method=method, ratio=0.2, seed=3, method_options=options)
    dense.build((None, 20))
    lstm = CompressedLSTM(8, method=method, ratio=0.2, seed=3, method_options=options)
    lstm.build((None, 4, 12))
    outputs = [dense(np.linspace(-1, 1, 40, dtype="float32").reshape(2, 20)),
               lstm(np.linspace(-1, 1, 96, dtype="float32").reshape(2, 4, 12))]
    sums = [float(np.abs(np.asarray(w, "float64")).sum())
            for w in [*dense.get_weights(), *lstm.get_weights(), *outputs]]
    assert sums == pytest.approx(expected, rel=1e-5, abs=1e-6)
