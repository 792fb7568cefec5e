"""What runs.csv holds of a run's size: every scalar of results.json's ``size`` block, bytes included."""

import keras

from deepthin.compress import compress
from deepthin.experiment.evaluate import size_metrics
from deepthin.report.collect import collect

from .conftest import write_run

#: The byte counts results.json's ``size`` block gained with the byte budget (issue 27).
BYTE_FIELDS = ("stored_bytes", "target_bytes", "compressed_matrix_bytes", "stored_bytes_flat_int32",
               "stored_bytes_relative_int16")


def test_byte_counts_reach_the_table_and_older_runs_lack_them(tmp_path):
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(64, name="h"), keras.layers.Dense(4)])
    small = compress(model, "pruning", 0.1, layers=["h"])
    small.get_layer("h").kernel_matrix.apply_final_state()
    size = size_metrics(small, 1000, tmp_path / "model.keras", model.count_params())
    scalars = {key: value for key, value in size.items() if key != "size_report"}
    write_run(tmp_path / "results", "pruning", 0.1, 0, 0.3, size=scalars)
    write_run(tmp_path / "results", "pruning", 0.1, 1, 0.3)  # recorded before the byte budget
    table, incomplete = collect(tmp_path / "results")
    assert not incomplete and len(table) == 2
    new, old = table.set_index("seed").loc[0], table.set_index("seed").loc[1]
    for field in BYTE_FIELDS:
        assert new[field] == size[field], field
        assert old[field] != old[field], field  # NaN: unknown, never a made-up count
