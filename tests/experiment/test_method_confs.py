import pytest

from deepthin.experiment.method_confs import per_matrix_methods
from deepthin.experiment.sensitivity import main


def test_per_matrix_methods_are_the_configs_with_a_per_matrix_strategy():
    assert per_matrix_methods() == ["deepthin", "deepthin_aligned", "hashednet", "lowrank", "pruning"]


def test_sensitivity_lists_them_for_a_model_level_method(monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["deepthin-sensitivity", "from_run=X", "method=handtuned"])
    with pytest.raises(SystemExit):
        main()
    assert f"allowed: {', '.join(per_matrix_methods())}" in capsys.readouterr().err
