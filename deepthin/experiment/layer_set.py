"""Which layers a run compresses: the recipe's ``compressed_layers``, plus its output layer with
``compress_output=true``.

Why an option: the paper's claim is about the whole model below 1-2% of its size, but the recipes
compress only their hidden matrices, so the output layer and the normalization stay dense and a run
at ``ratio=0.005`` stores about 2% of the whole model (TFKaldi ``cpu``: 23,069 uncompressed
parameters, 3.2 times the compressed matrices' budget). Compressing the output layer too lets the
grid reach 1% of the whole model and below (``model_ratio`` in ``results.json``'s ``size``).

Every method gets the one pattern :func:`compressed_layer_pattern` returns, so their budgets (the
hand-tuned network's included) cover the same layers. A run with the output layer compressed is
another experiment: its method's name and run directory gain ``+out`` (:func:`output_suffix`), so
it is never skipped as, resumed from or averaged with the run that leaves the output layer dense.
"""

from __future__ import annotations

from omegaconf import DictConfig

#: The output layer of both recipes (``recipes/tfkaldi/model.py``, ``recipes/deepspeech/model.py``):
#: the Dense layer that produces the ``logits`` output.
OUTPUT_LAYER = "logits"
#: What the run directory and the results' method name add when the output layer is compressed.
OUTPUT_SUFFIX = "+out"
BOOLEANS = ("true", "false")


def check_compress_output(value: object) -> bool:
    """``compress_output`` as a bool: a bool, or on the command line ``true``/``false`` in any case."""
    if isinstance(value, str) and value.lower() in BOOLEANS:
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise ValueError(f"compress_output={value!r} is not a boolean; allowed: true, false")
    return value


def output_suffix(compress_output: object) -> str:
    """``"+out"`` when the output layer is compressed too, else ``""``."""
    return OUTPUT_SUFFIX if check_compress_output(compress_output) else ""


def compressed_layer_pattern(cfg: DictConfig) -> str:
    """The regular expression of layer names the run ``cfg`` compresses (matched whole)."""
    pattern = cfg.model.compressed_layers
    return f"{pattern}|{OUTPUT_LAYER}" if check_compress_output(cfg.compress_output) else pattern
