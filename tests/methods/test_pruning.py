import zipfile

import h5py
import keras
import numpy as np
import pytest

from deepthin.layers import CompressedDense
from deepthin.methods.pruning import PruningMethod, polynomial_sparsity
from deepthin.methods.pruning_index import entry_bytes
from deepthin.methods.registry import make_method


def test_schedule_is_zhu_gupta_cubic():
    assert float(polynomial_sparsity(0, 0, 100, 0.9)) == pytest.approx(0.0)
    assert float(polynomial_sparsity(50, 0, 100, 0.9)) == pytest.approx(0.9 * (1 - 0.5**3))
    assert float(polynomial_sparsity(100, 0, 100, 0.9)) == pytest.approx(0.9)
    assert float(polynomial_sparsity(500, 0, 100, 0.9)) == pytest.approx(0.9)


def _train(model, steps):
    x = np.random.randn(steps * 8, 16).astype("float32")
    y = np.random.randn(steps * 8, 32).astype("float32")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)


@pytest.mark.parametrize("layout", ["relative16", "flat32"])
def test_reaches_target_at_end_step_and_pruned_stay_zero(layout):
    layer = CompressedDense(
        32, method="pruning", ratio=0.1, seed=0,
        method_options={"begin_step": 2, "end_step": 13, "frequency": 4, "index_layout": layout},
    )
    model = keras.Sequential([keras.Input((16,)), layer])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    matrix = layer.kernel_matrix
    assert int(matrix.step.numpy()) == 0
    _train(model, 5)  # steps 1..5: mask updated at step 2 (s=0) only
    assert int(matrix.step.numpy()) == 5
    assert matrix.ratio_note(0.02) == "pruning in progress: step 5 of end_step 13"
    _train(model, 8)  # steps 6..13: updates at 6, 10 and end_step 13
    assert int(matrix.step.numpy()) == 13
    assert matrix.ratio_note(0.02) == ""
    kernel = matrix.kernel().numpy()
    # the byte budget 0.1 * 16 * 32 * 4 buys this many values with their indices
    kept = round(0.1 * 16 * 32 * 4 / entry_bytes(layout))
    assert np.count_nonzero(kernel) == matrix.stored_params() == kept
    assert matrix.stored_bytes() == kept * entry_bytes(layout)
    assert abs(matrix.stored_bytes() / (0.1 * 16 * 32 * 4) - 1) <= 0.02
    pruned = kernel == 0
    _train(model, 20)  # after end_step the mask is frozen
    assert np.all(matrix.kernel().numpy()[pruned] == 0)
    assert matrix.stored_params() == kept


def test_intermediate_sparsity_follows_schedule():
    layer = CompressedDense(32, method="pruning", ratio=0.2, method_options={"end_step": 10, "frequency": 5},
                            seed=0)
    model = keras.Sequential([keras.Input((16,)), layer])
    model.compile(optimizer="adam", loss="mse")
    _train(model, 6)  # steps 1..6, last update at step 5
    final = 1 - 0.2 * 4 / 6  # the survivors 0.2 of the dense bytes pays for with relative16 indices
    expected = 1 - float(polynomial_sparsity(5, 0, 10, final))
    assert layer.kernel_matrix.stored_params() == round(expected * 512)


def test_bad_schedule_is_rejected():
    with pytest.raises(ValueError, match="begin_step=5, end_step=5"):
        PruningMethod((8, 8), 0.5, begin_step=5, end_step=5)


# ---------------------------------------------------------------- TFMOT's step convention
#: TFMOT 0.8.1 (prune_low_magnitude, PolynomialDecay(initial_sparsity=0, final_sparsity=0.9,
#: begin_step=0, end_step=100, frequency=10), UpdatePruningStep) on a 64 x 32 kernel: the batches
#: after which the mask changes and the fraction of zero weights after each (issue 18).
TFMOT_CHANGES = list(range(10, 101, 10))
TFMOT_ZEROS = [0.244141, 0.438965, 0.591309, 0.705566, 0.787598, 0.842285, 0.875488, 0.892578,
               0.898926, 0.899902]


def _zeros_after_each_batch(batches=120, **options):
    """The issue's setup: one 64 -> 32 layer without bias, MSE, SGD 0.1, batches of 16 in order.

    Returns the batches after which the mask changed, the zero fraction after each of them
    (6 decimals), the zero fraction after every batch (index 0: before training) and the model.
    """
    rng = np.random.default_rng(0)
    # index_layout "none": the ratio counts values only, so its final sparsity is TFMOT's 1 - ratio
    layer = CompressedDense(32, method="pruning", ratio=0.1, use_bias=False, seed=0,
                            method_options={"index_layout": "none", **options})
    model = keras.Sequential([keras.Input((64,)), layer])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    matrix = layer.kernel_matrix
    zeros = [1.0 - float(matrix.mask.numpy().mean())]

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            zeros.append(1.0 - float(matrix.mask.numpy().mean()))

    x = rng.normal(size=(batches * 16, 64)).astype("float32")
    y = rng.normal(size=(batches * 16, 32)).astype("float32")
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[Record()])
    assert len(zeros) == batches + 1 and int(matrix.step.numpy()) == batches
    changes = [n for n in range(1, batches + 1) if zeros[n] != zeros[n - 1]]
    return changes, [round(zeros[n], 6) for n in changes], zeros, model


def test_mask_changes_after_the_same_batches_as_tfmot():
    """The n-th training batch runs at step n: updates after batches 10, 20, ..., 100, none after."""
    changes, zeros, _, _ = _zeros_after_each_batch(begin_step=0, end_step=100, frequency=10)
    assert changes == TFMOT_CHANGES
    assert zeros == TFMOT_ZEROS


def test_initial_sparsity_is_never_applied_when_begin_step_is_zero():
    """As in TFMOT: no training call runs at step 0; the first update (step 10) goes to s(10)."""
    changes, zeros, _, _ = _zeros_after_each_batch(
        40, begin_step=0, end_step=100, frequency=10, initial_sparsity=0.5
    )
    assert changes == [10, 20, 30, 40]
    assert zeros[:2] == [0.608398, 0.695312]


def test_initial_sparsity_is_applied_at_a_positive_begin_step():
    changes, zeros, _, _ = _zeros_after_each_batch(
        20, begin_step=5, end_step=105, frequency=10, initial_sparsity=0.5
    )
    assert changes == [5, 15]
    assert zeros[0] == 0.5


@pytest.mark.parametrize("at_end, changes", [(True, [5, 10, 13]), (False, [5, 10])])
def test_prune_at_end_step_only_adds_end_step_off_the_frequency_grid(at_end, changes):
    got, zeros, _, model = _zeros_after_each_batch(
        20, begin_step=0, end_step=13, frequency=5, prune_at_end_step=at_end
    )
    assert got == changes
    matrix = model.layers[0].kernel_matrix
    if at_end:  # the final sparsity exactly
        assert zeros[-1] == 0.899902 and matrix.ratio_note(0.02) == ""
    else:  # TFMOT's rule: the last update (step 10) stops short of it
        assert zeros[-1] == pytest.approx(float(polynomial_sparsity(10, 0, 13, 0.9)), abs=1e-3)
        assert zeros[-1] < 0.89 and matrix.last_update_step == 10
        assert matrix.ratio_note(0.02).startswith("schedule stops short of the final sparsity")


def test_saved_counter_resumes_the_schedule(tmp_path):
    """Saved after 25 batches and trained on, a model prunes as one never saved."""
    _, _, uninterrupted, _ = _zeros_after_each_batch(40, begin_step=0, end_step=100, frequency=10)
    _, _, first, model = _zeros_after_each_batch(25, begin_step=0, end_step=100, frequency=10)
    assert first[25] == uninterrupted[25]
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    matrix = loaded.layers[0].kernel_matrix
    assert int(matrix.step.numpy()) == 25
    loaded.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = np.random.default_rng(1).normal(size=(15 * 16, 64)).astype("float32")
    loaded.fit(x, x[:, :32], batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert int(matrix.step.numpy()) == 40
    assert 1.0 - float(matrix.mask.numpy().mean()) == pytest.approx(uninterrupted[40])


def test_file_with_the_old_counter_loads_one_step_on():
    """Files saved before the TFMOT convention hold ``step`` = training calls - 1."""
    matrix = PruningMethod((4, 4), 0.25)
    matrix.build(keras.layers.Layer(), "kernel", seed=0)
    kept = np.array([0, 5, 10, 15], dtype=np.int32)
    values = np.array([1.0, 2.0, 3.0, 4.0], dtype="float32")
    old = {"kernel.values": values, "kernel.indices": kept, "kernel.step": np.int64(6)}
    matrix.load_variables(old, "kernel")
    assert int(matrix.step.numpy()) == 7
    np.testing.assert_array_equal(matrix.kernel().numpy().reshape(-1)[kept], values)
    store = {}
    matrix.save_variables(store, "kernel")
    assert int(store["kernel.pruning_step"]) == 7 and "kernel.step" not in store
    matrix.load_variables({**store, "kernel.pruning_step": np.int64(3)}, "kernel")
    assert int(matrix.step.numpy()) == 3


def test_prune_at_end_step_must_be_a_bool():
    with pytest.raises(ValueError, match="prune_at_end_step='no' is invalid; allowed: True, False"):
        PruningMethod((8, 8), 0.5, prune_at_end_step="no")


def test_final_state_is_the_finished_schedule_and_other_methods_keep_theirs():
    holder = keras.layers.Layer()
    matrix = make_method("pruning", (16, 32), 0.1)
    matrix.build(holder, "kernel", seed=0)
    matrix.apply_final_state()
    assert matrix.stored_params() == round(0.1 * 16 * 32 * 4 / 6) and matrix.step.numpy() == 0
    lowrank = make_method("lowrank", (16, 32), 0.1)
    lowrank.build(holder, "other", seed=0)
    before = [v.numpy() for v in lowrank.variables]
    lowrank.apply_final_state()
    for value, variable in zip(before, lowrank.variables, strict=True):
        np.testing.assert_array_equal(value, variable.numpy())


# ---------------------------------------------------------------- the byte budget (issue 27)
@pytest.mark.parametrize("layout", ["relative16", "flat32"])
@pytest.mark.parametrize("shape, ratio", [((440, 2048), 0.005), ((512, 512), 0.02), ((1240, 512), 0.2)])
def test_pruned_values_and_indices_fill_the_byte_budget(layout, shape, ratio):
    matrix = make_method("pruning", shape, ratio, index_layout=layout)
    matrix.build(keras.layers.Layer(), "kernel", seed=0)
    matrix.apply_final_state()  # a real mask, whose relative16 gaps are counted, fillers and all
    budget = ratio * shape[0] * shape[1] * 4
    assert abs(matrix.stored_bytes() / budget - 1) <= 0.02
    assert matrix.achieved_ratio == matrix.stored_bytes() / (4 * shape[0] * shape[1])
    kept = np.flatnonzero(matrix.mask.numpy())
    gaps = np.diff(kept, prepend=-1)
    fillers = int(((gaps - 1) // 65535).sum())
    assert matrix.stored_bytes("relative16") == (len(kept) + fillers) * 6
    assert matrix.stored_bytes("flat32") == len(kept) * 8
    assert matrix.stored_bytes("none") == len(kept) * 4 == matrix.stored_params() * 4


def test_values_only_keeps_the_ratio_of_weights():
    """``none``: the count of the runs before budgets were bytes, TFMOT's meaning of a sparsity."""
    matrix = make_method("pruning", (512, 512), 0.02, index_layout="none")
    assert matrix.final_sparsity == pytest.approx(0.98) and matrix.planned_params == round(0.02 * 512 * 512)


def _spread_mask(matrix, count):
    """Put ``count`` survivors evenly over ``matrix``: far apart, so relative16 needs fillers."""
    flat = np.zeros(matrix.original_params, dtype="float32")
    positions = np.linspace(0, matrix.original_params - 1, count).astype(int)
    flat[positions] = 1.0
    matrix.mask.assign(flat.reshape(matrix.shape))
    matrix.w.assign(np.full(matrix.shape, 0.5, dtype="float32"))
    return positions


def test_filler_entries_of_a_big_sparse_matrix_count_and_are_named():
    matrix = make_method("pruning", (1024, 1024), 1e-5, end_step=1)
    matrix.build(keras.layers.Layer(), "kernel", seed=0)
    positions = _spread_mask(matrix, matrix.planned_params)  # 7 survivors, gaps of about 175000
    fillers = int(((np.diff(positions, prepend=-1) - 1) // 65535).sum())
    assert fillers > 0
    matrix.step.assign(1)  # the schedule is over
    assert matrix.stored_bytes() == (matrix.planned_params + fillers) * 6
    assert matrix.ratio_note(0.02) == f"{fillers} relative16 filler entries (gaps over 65535 positions)"


def test_a_saved_model_holds_the_counted_bytes_and_loads_back(tmp_path):
    """The .keras file stores survivors in the layout counted: uint16 gaps, float32 values, fillers."""
    layer = CompressedDense(1024, method="pruning", ratio=1e-5, use_bias=False, seed=0)
    model = keras.Sequential([keras.Input((1024,)), layer])
    matrix = layer.kernel_matrix
    _spread_mask(matrix, 7)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        archive.extract("model.weights.h5", tmp_path)
    arrays = {}
    with h5py.File(tmp_path / "model.weights.h5") as weights:
        weights.visititems(lambda name, item: arrays.update({name.rsplit("/", 1)[-1]: item[()]})
                           if isinstance(item, h5py.Dataset) else None)
    assert arrays["kernel.gaps"].dtype == np.uint16 and arrays["kernel.values"].dtype == np.float32
    assert arrays["kernel.gaps"].nbytes + arrays["kernel.values"].nbytes == matrix.stored_bytes()
    loaded = keras.models.load_model(tmp_path / "m.keras").layers[0].kernel_matrix
    np.testing.assert_array_equal(loaded.mask.numpy(), matrix.mask.numpy())
    np.testing.assert_array_equal(loaded.kernel().numpy(), matrix.kernel().numpy())


def test_a_mask_pruned_to_the_old_budget_is_flagged():
    """A model saved before budgets were bytes keeps the ratio's weights: too many for relative16."""
    matrix = PruningMethod((8, 8), 0.25, end_step=1)
    matrix.build(keras.layers.Layer(), "kernel", seed=0)
    kept = np.arange(0, 64, 4, dtype=np.int32)  # 16 = 0.25 * 64 weights, flat int32 indices
    old = {"kernel.values": np.ones(16, dtype="float32"), "kernel.indices": kept, "kernel.pruning_step": 1}
    matrix.load_variables(old, "kernel")
    assert matrix.stored_params() == 16 and matrix.stored_bytes() == 16 * 6
    assert matrix.ratio_note(0.02) == "keeps 16 weights, index_layout=relative16 pays for 11"


def test_an_unknown_index_layout_is_rejected():
    allowed = "allowed: relative16, flat32, none"
    with pytest.raises(ValueError, match=f"unknown pruning index_layout 'csr'; {allowed}"):
        PruningMethod((8, 8), 0.5, index_layout="csr")


def test_ratio_one_keeps_every_weight_at_the_dense_bytes():
    """The dense budget pays for every value stored dense, with no index: nothing is pruned."""
    matrix = make_method("pruning", (32, 48), 1.0)
    assert matrix.final_sparsity == 0.0 and matrix.stored_bytes() == 4 * 32 * 48
    matrix.build(keras.layers.Layer(), "kernel", seed=0)
    matrix.apply_final_state()
    assert matrix.stored_params() == 32 * 48 and matrix.stored_bytes("flat32") == 4 * 32 * 48
    assert matrix.achieved_ratio == 1.0
