"""The registry: every method once, with its kind; the variants the comparing tools take from it."""

import importlib

import pytest

import deepthin
from deepthin.methods import registry
from deepthin.methods.base import WeightMethod
from deepthin.methods.registry import (
    get_method,
    make_method,
    register,
    register_model_method,
    variants,
    weight_methods,
)


@pytest.fixture
def scratch_registry(monkeypatch):
    """The registry's tables, copied so that a test may register names of its own."""
    monkeypatch.setattr(registry, "_WEIGHT", dict(registry._WEIGHT))
    monkeypatch.setattr(registry, "_MODEL", dict(registry._MODEL))


def test_methods_lists_per_matrix_then_model_level_names():
    assert deepthin.METHODS == weight_methods() + tuple(sorted(registry._MODEL))
    assert set(registry._MODEL) == {"handtuned"}


def test_a_model_level_name_points_to_its_builder():
    for entry in registry._MODEL.values():
        module, _, attribute = entry.built_by.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attribute))
        with pytest.raises(ValueError, match=f"changes the whole model.*{entry.built_by}; per-matrix"):
            get_method(entry.name)


@pytest.mark.usefixtures("scratch_registry")
def test_a_name_is_registered_once_whatever_its_kind():
    with pytest.raises(ValueError, match="'lowrank' is empty or already registered"):
        register_model_method("lowrank", "somewhere.build")
    with pytest.raises(ValueError, match="'handtuned' is empty or already registered"):
        register(type("Again", (WeightMethod,), {"name": "handtuned"}))


@pytest.mark.usefixtures("scratch_registry")
def test_a_registered_method_reaches_the_tools_that_compare_methods():
    toy = register(type("Toy", (WeightMethod,), {"name": "toy"}))
    assert get_method("toy") is toy and "toy" in weight_methods()
    assert ("toy", "toy", {}) in variants() and ("toy", "toy", {}) in variants(paths=True)


@pytest.mark.parametrize("paths", [False, True])
def test_every_variant_is_a_valid_method_under_a_label_of_its_own(paths):
    listed = variants(paths)
    labels = [label for label, _, _ in listed]
    assert len(set(labels)) == len(labels)
    for _, method, options in listed:
        make_method(method, (64, 128), 0.1, **options)
    assert {method for _, method, _ in listed} == set(weight_methods()) - {"dense"}  # the baseline
