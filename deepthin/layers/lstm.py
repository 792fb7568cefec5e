"""``CompressedLSTM``: an LSTM whose input and recurrent kernels are compressed.

Same equations, gate order (i, f, c, o) and defaults as ``keras.layers.LSTM``
(so ``method="dense"`` with copied weights reproduces it). Biases are never
compressed. Each kernel is prepared once per call (materialized, or its
factors laid out, see :meth:`~deepthin.methods.base.WeightMethod.route`) and
reused at every time step: re-materializing a DeepThin kernel per step would
cost ``r m' n'`` multiply-adds a step instead of one matmul. The recurrent
kernel's route is chosen for ``T`` products of ``B`` rows each: the factored
route's second matmul per step is what can make it dearer on tiny layers.

It exposes ``go_backwards``, ``return_sequences``, ``return_state`` and
``stateful`` so ``keras.layers.Bidirectional`` can wrap it.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import activations, ops
from keras.src import backend  # the RNN loop keras.layers.LSTM runs on

from deepthin.layers.base import UNKNOWN_DIM, CompressedLayerMixin


@keras.saving.register_keras_serializable(package="deepthin")
class CompressedLSTM(CompressedLayerMixin, keras.layers.Layer):
    """Long short-term memory with compressed ``kernel`` and ``recurrent_kernel``.

    Args:
        units: number of cells.
        method, ratio, seed, method_options, inference, fit_errors, **kwargs: as for
            :class:`CompressedDense`.
        activation, recurrent_activation, use_bias, unit_forget_bias,
        return_sequences, return_state, go_backwards: as in ``keras.layers.LSTM``.
    """

    def __init__(
        self,
        units: int,
        method: str = "deepthin",
        ratio: float = 0.1,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        unit_forget_bias: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        zero_output_for_mask: bool = False,
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
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.unit_forget_bias = unit_forget_bias
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.zero_output_for_mask = zero_output_for_mask
        self.stateful = False
        self.supports_masking = True

    def build(self, sequences_shape: tuple, initial_state_shape: Any = None) -> None:
        input_dim = int(sequences_shape[-1])
        gates = 4 * self.units
        self.kernel_matrix = self._add_matrix("kernel", (input_dim, gates), seed_offset=0)
        self.recurrent_matrix = self._add_matrix("recurrent_kernel", (self.units, gates), 1)
        if self.use_bias:
            forget = "ones" if self.unit_forget_bias else "zeros"
            values = [
                keras.initializers.get(name)((self.units,))
                for name in ("zeros", forget, "zeros", "zeros")
            ]
            self.bias = self.add_weight(
                name="bias", shape=(gates,),
                initializer=lambda shape, dtype=None: ops.concatenate(values),
            )
            self._plain_weights = [self.bias]

    def call(
        self,
        sequences: Any,
        initial_state: Any = None,
        mask: Any = None,
        training: bool | None = None,
    ) -> Any:
        training = bool(training)
        lead = sequences.shape[:-1]
        projected = self._matmul_fn(self.kernel_matrix, training, lead)(sequences)  # (B, T, 4u)
        if self.use_bias:
            projected = projected + self.bias
        steps = lead[1] if lead[1] is not None else UNKNOWN_DIM
        recurrent = self._matmul_fn(self.recurrent_matrix, training, lead, uses=steps)
        if initial_state is None:
            zeros = ops.zeros((ops.shape(sequences)[0], self.units), dtype=projected.dtype)
            initial_state = [zeros, zeros]

        def step(x_t: Any, states: list) -> tuple:
            h, c = states
            z_i, z_f, z_c, z_o = ops.split(x_t + recurrent(h), 4, axis=-1)
            i = self.recurrent_activation(z_i)
            f = self.recurrent_activation(z_f)
            o = self.recurrent_activation(z_o)
            c = f * c + i * self.activation(z_c)
            h = o * self.activation(c)
            return h, [h, c]

        # Keras' own RNN loop (as keras.layers.LSTM uses): masking, go_backwards
        # and zero_output_for_mask behave exactly as in the stock layer.
        _, outputs, (h, c) = backend.rnn(
            step, projected, list(initial_state), go_backwards=self.go_backwards, mask=mask,
            zero_output_for_mask=self.zero_output_for_mask,
        )
        output = outputs if self.return_sequences else outputs[:, -1]
        return [output, h, c] if self.return_state else output

    def compute_mask(self, sequences: Any, mask: Any = None) -> Any:
        output_mask = mask if self.return_sequences else None
        return [output_mask, None, None] if self.return_state else output_mask

    def compute_output_shape(self, sequences_shape: tuple, initial_state_shape: Any = None) -> Any:
        batch = sequences_shape[0]
        if self.return_sequences:
            output = (batch, sequences_shape[1], self.units)
        else:
            output = (batch, self.units)
        if self.return_state:
            return output, (batch, self.units), (batch, self.units)
        return output

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "unit_forget_bias": self.unit_forget_bias,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "zero_output_for_mask": self.zero_output_for_mask,
            **self.compression_config(),
        }
