"""A one-minute tour of the library: compress a small classifier at ratio 0.05
with every per-matrix method, train each the same way, compare accuracy and size (``make demo``).
"""

from __future__ import annotations

import keras
import numpy as np

import deepthin
from deepthin.methods import weight_methods

RATIO = 0.05


def task(seed: int = 0) -> tuple[np.ndarray, ...]:
    """A 10-class problem from a random two-layer teacher: learnable, not trivial."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(6000, 64)).astype("float32")
    hidden = np.tanh(x @ rng.normal(size=(64, 64)) / 8)
    y = np.argmax(hidden @ rng.normal(size=(64, 10)), axis=1)
    return x[:5000], y[:5000], x[5000:], y[5000:]


def base_model() -> keras.Model:
    return keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(512, activation="relu", name="hidden1"),
        keras.layers.Dense(512, activation="relu", name="hidden2"),
        keras.layers.Dense(10, name="logits"),
    ])


def main() -> None:
    x, y, x_test, y_test = task()
    rows = []
    for method in weight_methods():
        keras.utils.set_random_seed(0)
        options = {"end_step": 400, "frequency": 50} if method == "pruning" else {}
        model = deepthin.compress(base_model(), method, RATIO, layers=["hidden2"], **options)
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        model.fit(x, y, batch_size=64, epochs=6, verbose=0)
        _, accuracy = model.evaluate(x_test, y_test, verbose=0)
        report = deepthin.size_report(model).iloc[0]
        rows.append((method, report["stored_params"], report["ratio"], accuracy))
    print(f"hidden2 (512x512) compressed to ratio {RATIO}; 6 epochs, Adam 1e-3, seed 0")
    print(f"{'method':<10} {'stored':>8} {'ratio':>7} {'test acc':>9}")
    for method, stored, ratio, accuracy in rows:
        print(f"{method:<10} {stored:>8} {ratio:>7.4f} {accuracy:>9.3f}")


if __name__ == "__main__":
    main()
