"""How the evaluator tells a model that learned from one left on CTC's all-blank plateau."""

import pytest

from deepthin.experiment.evaluate import blank_fraction, is_trained


@pytest.mark.parametrize("hyps, fraction, trained", [
    (["one two", "three", "", "four"], 0.25, True),
    (["", " ", "x", ""], 0.75, False),
    (["", "a"], 0.5, False),  # a run must be non-blank on *most* utterances
])
def test_blank_fraction_and_trained(hyps, fraction, trained):
    assert blank_fraction(hyps) == fraction
    assert is_trained({"blank_fraction": blank_fraction(hyps)}) is trained
