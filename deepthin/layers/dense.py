"""``CompressedDense``: ``keras.layers.Dense`` with a compressed kernel."""

from __future__ import annotations

from typing import Any

import keras
from keras import activations, initializers, ops

from deepthin.layers.base import CompressedLayerMixin


@keras.saving.register_keras_serializable(package="deepthin")
class CompressedDense(CompressedLayerMixin, keras.layers.Layer):
    """A fully connected layer whose ``(input_dim, units)`` kernel is compressed.

    Args:
        units: output width.
        method: a registered method name (see ``deepthin.METHODS``).
        ratio: stored / original parameters of the kernel, in (0, 1].
        activation, use_bias, bias_initializer: as in ``keras.layers.Dense``.
        seed: seeds the kernel's initializers (``None``: Keras' global RNG).
        method_options: the method's options, e.g. ``{"policy": "aligned"}`` for DeepThin
            (``None``: its defaults); the method rejects an option it does not know.
        inference: multiply through the methods' inference paths outside training
            (set by :func:`deepthin.for_inference`, see :mod:`deepthin.layers.base`).
        fit_errors: relative error of each fitted matrix by name (set by ``init="fit"``; kept in
            the config so that a loaded model still reports it).
        **kwargs: Keras layer keywords (``name``, ``dtype``, ...).
    """

    def __init__(
        self,
        units: int,
        method: str = "deepthin",
        ratio: float = 0.1,
        activation: Any = None,
        use_bias: bool = True,
        bias_initializer: Any = "zeros",
        seed: int | None = None,
        method_options: dict[str, Any] | None = None,
        inference: bool = False,
        fit_errors: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._init_compression(method, ratio, seed, method_options, inference, fit_errors)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.bias_initializer = initializers.get(bias_initializer)
        self.supports_masking = True

    def build(self, input_shape: tuple) -> None:
        input_dim = int(input_shape[-1])
        self.kernel_matrix = self._add_matrix("kernel", (input_dim, self.units))
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.units,), initializer=self.bias_initializer
            )
            self._plain_weights = [self.bias]
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: input_dim})

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        outputs = self._matmul_fn(self.kernel_matrix, bool(training), inputs.shape[:-1])(inputs)
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": initializers.serialize(self.bias_initializer),
            **self.compression_config(),
        }
