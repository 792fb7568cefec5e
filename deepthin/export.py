"""Saving a trained compressed model for deployment: a ``.keras`` file, or a LiteRT ``.tflite`` file.

LiteRT (TensorFlow Lite) export converts the deployed model (:func:`deepthin.for_inference`)
with TensorFlow's converter, after choosing for each method the inference path whose graph
*stays compressed*, because the converter bakes every weight the graph reads into the file. Each
method says which (:meth:`~deepthin.methods.traits.MethodTraits.export_options`): its factors as
stored (two matmuls whose constants are the factors), or a masked kernel that the converter's
sparsity pass (``tf.lite.Optimize.EXPERIMENTAL_SPARSITY``, run only for methods that ask for it)
writes in LiteRT's sparse tensor format. A ``W`` with no product form a graph op can run (hashed,
or laid out misaligned) leaves the file holding the dense kernel; the export says so and reports
the size it got.

``--quantize int8`` is dynamic-range quantization (``tf.lite.Optimize.DEFAULT``): weight
constants of at least 1,024 entries are stored as int8 with per-channel scales, activations stay
float32; it needs no calibration data.

The exported signature (``serve``, the file's only one) takes one utterance:

- inputs ``features`` float32 ``[1, T, F]`` (normalized features, any ``T``) and
  ``feature_lengths`` int32 ``[1]`` (valid frames, at most ``T``; frames beyond are ignored);
- outputs ``logits`` float32 ``[1, ceil(T / stride), vocab]`` (CTC scores before softmax, blank
  last) and ``logit_lengths`` int32 ``[1]``.

The batch is fixed at one because the converter lowers an LSTM's per-step tensor list only when
its element shape is static, and an on-device recognizer decodes one utterance at a time.
Dropout is the identity and BatchNorm an affine map at inference; the converter folds both.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from deepthin.inference import for_inference
from deepthin.methods.registry import get_method
from deepthin.size import compressed_layers, model_stored_params
from deepthin.validation import OneLineParser, check_choice

FORMATS = ("tflite",)
QUANTIZE = ("int8",)


def without_training_state(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with its weights but without optimizer or compile state.

    Adam keeps two moment buffers per trainable variable; for a method that trains a full kernel
    these are dense-sized, so a file saved with them would be larger than the dense model's and
    say nothing about the compressed model itself.
    """
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def save_for_inference(model: keras.Model, path: str | os.PathLike) -> int:
    """Save ``model`` without training state to ``path`` (``.keras``); return the file size in bytes."""
    without_training_state(model).save(path)
    return os.path.getsize(path)


def export_options(method: str, options: dict[str, Any]) -> dict[str, Any]:
    """The inference path whose converted graph stays compressed (module doc), per layer."""
    return get_method(method).export_options(options)


def _materialized_layers(model: keras.Model) -> list[str]:
    """Names of the compressed layers whose exported graph holds a dense ``W``."""
    return [layer.name for layer in compressed_layers(model)
            if any(matrix.exports_dense_kernel for matrix in layer.matrices.values())]


def _archive(model: keras.Model, directory: str) -> None:
    """Write ``model``'s one-utterance ``serve`` endpoint as a SavedModel in ``directory``.

    The methods' inference caches are plain ``tf.Variable`` s the model does not track (they are
    never saved in ``.keras`` files); the archive must track them to export a graph that reads them.
    """
    num_features = model.input["features"].shape[-1]

    @tf.function(input_signature=[
        tf.TensorSpec([1, None, num_features], tf.float32, name="features"),
        tf.TensorSpec([1], tf.int32, name="feature_lengths"),
    ])
    def serve(features: Any, feature_lengths: Any) -> dict[str, Any]:
        out = model({"features": features, "feature_lengths": feature_lengths}, training=False)
        return {"logits": out["logits"], "logit_lengths": out["logit_lengths"]}

    caches = [v for layer in compressed_layers(model) for m in layer.matrices.values()
              for v in m.inference_variables()]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_variable_collection("inference_caches", caches)
    archive.add_endpoint("serve", serve)
    archive.write_out(directory, verbose=False)


def tflite_bytes(model: keras.Model, quantize: str | None = None) -> bytes:
    """The LiteRT flatbuffer of ``model`` deployed (``for_inference`` with :func:`export_options`)."""
    if quantize is not None:
        check_choice("quantize", quantize, QUANTIZE)
    deployed = for_inference(model, export_options)
    with tempfile.TemporaryDirectory() as directory:
        _archive(deployed, directory)
        converter = tf.lite.TFLiteConverter.from_saved_model(directory, signature_keys=["serve"])
        converter.optimizations = _optimizations(deployed, quantize)
        return converter.convert()


def _optimizations(model: keras.Model, quantize: str | None) -> list[tf.lite.Optimize]:
    """The converter's passes: sparsity only for a model with a method that asks for it
    (``export_sparse`` says why no other), int8 weights when asked."""
    passes = []
    if any(matrix.export_sparse for layer in compressed_layers(model) for matrix in layer.matrices.values()):
        passes.append(tf.lite.Optimize.EXPERIMENTAL_SPARSITY)
    if quantize == "int8":
        passes.append(tf.lite.Optimize.DEFAULT)
    return passes


def constant_bytes(blob: bytes) -> int:
    """Bytes of the constant buffers (weights, shape vectors) inside a ``.tflite`` flatbuffer."""
    from ai_edge_litert import schema_py_generated as schema

    flat = schema.Model.GetRootAs(blob, 0)
    return sum(flat.Buffers(i).DataLength() for i in range(flat.BuffersLength()))


@dataclass
class TfliteExport:
    """What :func:`export_tflite` wrote, and what the model stores."""

    path: Path
    size_bytes: int
    constant_bytes: int
    stored_params: int
    quantize: str | None
    materialized: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The summary ``deepthin-export`` prints: the file, then one line on any materialized ``W``."""
        weights = "int8 weights" if self.quantize else "float32"
        out = [f"wrote {self.path}: {self.size_bytes:,} bytes ({self.constant_bytes:,} of constants, "
               f"{weights}); the model stores {self.stored_params:,} parameters "
               f"({4 * self.stored_params:,} bytes as float32)"]
        if self.materialized:
            out.append(f"note: {', '.join(self.materialized)} hold W materialized (hashed or misaligned "
                       f"W has no factored form): the file is {self.size_bytes:,} bytes")
        return out


def export_tflite(model: keras.Model, path: str | os.PathLike, quantize: str | None = None) -> TfliteExport:
    """Write ``model`` deployed as a LiteRT file at ``path``; see the module doc for the signature."""
    blob = tflite_bytes(model, quantize)
    path = Path(path)
    path.write_bytes(blob)
    return TfliteExport(path, len(blob), constant_bytes(blob), model_stored_params(model), quantize,
                        _materialized_layers(model))


def litert_runner(blob: bytes, threads: int = 1) -> Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]:
    """``(features [1, T, F], lengths [1]) -> {"logits", "logit_lengths"}`` in LiteRT's interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_content=blob, num_threads=threads).get_signature_runner("serve")
    return lambda features, lengths: runner(features=features, feature_lengths=lengths)


def load_deployable(source: str | os.PathLike) -> tuple[keras.Model, Path]:
    """The model of a run directory (its ``model.keras``) or of a ``.keras`` file, and that file."""
    import recipes.layers  # noqa: F401  (registers the recipes' layers for deserialization)

    path = Path(source)
    file = path / "model.keras" if path.is_dir() else path
    if not file.is_file() or file.suffix != ".keras":
        raise ValueError(f"{source}: no model found; allowed: a run directory holding model.keras, "
                         "or a .keras file")
    model = keras.models.load_model(file)
    try:
        inputs, outputs = model.input, model.output
    except (AttributeError, ValueError):  # a model never called has neither
        inputs = outputs = None
    if not (isinstance(inputs, dict) and set(inputs) == {"features", "feature_lengths"}
            and isinstance(outputs, dict) and set(outputs) == {"logits", "logit_lengths"}):
        raise ValueError(f"{file}: not a recipe model; allowed: a model with inputs features, "
                         "feature_lengths and outputs logits, logit_lengths (what deepthin-run saves)")
    return model, file


def main(argv: Sequence[str] | None = None) -> int:
    """``deepthin-export RUN_DIR_OR_MODEL --format tflite [--out PATH] [--quantize int8]``."""
    parser = OneLineParser(prog="deepthin-export", description=__doc__.splitlines()[0])
    parser.add_argument("source", metavar="RUN_DIR_OR_MODEL")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--out", help="output file (default: beside the input, model[-int8].tflite)")
    parser.add_argument("--quantize", choices=QUANTIZE, help="int8: dynamic-range int8 weights")
    args = parser.parse_args(argv)
    try:
        model, file = load_deployable(args.source)
    except ValueError as error:
        parser.error(str(error))
    suffix = f"-{args.quantize}" if args.quantize else ""
    out = Path(args.out) if args.out else file.with_name(f"{file.stem}{suffix}.tflite")
    if not out.parent.is_dir():
        parser.error(f"--out {out}: folder {out.parent} does not exist; "
                     "allowed: a path in an existing folder")
    for line in export_tflite(model, out, args.quantize).lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
