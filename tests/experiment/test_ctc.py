"""CTC: feasibility after subsampling on hand-made lengths; the loss in graphs of changing sizes."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from deepthin.data import VOCAB
from deepthin.experiment.ctc import ctc_loss, feasible, min_ctc_frames


@pytest.mark.parametrize("labels, frames", [([], 0), ([1, 2, 3], 3), ([1, 1], 3), ([1, 1, 1, 2, 2], 8),
                                            ([4, 5, 4], 3)])
def test_min_ctc_frames_counts_a_blank_between_repeats(labels, frames):
    assert min_ctc_frames(labels) == frames


def test_feasible_drops_utterances_with_more_labels_than_subsampled_frames():
    def example(steps, labels):
        return SimpleNamespace(features=np.zeros((steps, 2)), labels=np.array(labels))

    fits = example(9, [1, 2, 3])  # ceil(9 / 3) = 3 frames for 3 labels
    too_long = example(8, [1, 2, 3])  # ceil(8 / 3) = 3 frames, but ...
    repeats = example(9, [1, 1, 2])  # ... a repeat needs a blank: 4 frames
    kept, dropped = feasible([fits, too_long, repeats], stride=3)
    assert kept == [fits, too_long] and dropped == 1
    assert feasible([repeats], stride=2) == ([repeats], 0)


def _batch(rng, size, frames, labels):
    """A CTC batch of random logits ``[size, frames, vocab]`` and random label sequences."""
    batch = {"labels": tf.constant(rng.integers(0, VOCAB.blank, (size, labels)), tf.int32),
             "label_lengths": tf.constant(np.full(size, labels), tf.int32),
             "feature_lengths": tf.constant(np.full(size, frames), tf.int32)}
    return batch, tf.constant(rng.standard_normal((size, frames, VOCAB.size)), tf.float32)


def test_loss_in_a_graph_equals_the_eager_loss():
    rng = np.random.default_rng(0)
    traced = tf.function(lambda batch, logits: ctc_loss(batch, logits, batch["feature_lengths"], VOCAB.blank),
                         reduce_retracing=True)
    for shape in [(2, 30, 5), (3, 41, 9), (1, 17, 3)]:
        batch, logits = _batch(rng, *shape)
        eager = ctc_loss(batch, logits, batch["feature_lengths"], VOCAB.blank).numpy()
        assert eager.shape == (shape[0],) and np.isfinite(eager).all()
        np.testing.assert_allclose(traced(batch, logits).numpy(), eager, rtol=1e-5)


def test_loss_and_gradient_equal_the_dense_label_ctc_of_keras():
    """The sparse-label kernel computes the same loss and gradient as ``keras.ops.ctc_loss``, with
    labels of different lengths in one batch (the padding must not count as labels)."""
    rng = np.random.default_rng(2)
    batch, logits = _batch(rng, 5, 40, 12)
    batch["label_lengths"] = tf.constant([12, 1, 7, 12, 3], tf.int32)
    batch["feature_lengths"] = tf.constant([40, 5, 33, 25, 9], tf.int32)
    lengths = batch["feature_lengths"]

    def loss_and_gradient(loss_fn):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            loss = loss_fn()
            total = tf.reduce_sum(loss)
        return loss.numpy(), tape.gradient(total, logits).numpy()

    ours = loss_and_gradient(lambda: ctc_loss(batch, logits, lengths, VOCAB.blank))
    keras_ = loss_and_gradient(lambda: keras.ops.ctc_loss(batch["labels"], logits, batch["label_lengths"],
                                                          lengths, mask_index=VOCAB.blank))
    np.testing.assert_allclose(ours[0], keras_[0], rtol=1e-5)
    np.testing.assert_allclose(ours[1], keras_[1], atol=1e-4)


def test_training_then_evaluation_graphs_of_other_sizes_print_no_mlir_errors(capfd):
    """As the trainer traces the loss: a training graph, then an evaluation graph with other sizes.
    TensorFlow's MLIR shape check used to print "'tfg.While' op body function argument ... is not
    compatible with corresponding operand type" on stderr for the second."""
    rng = np.random.default_rng(1)
    scale = tf.Variable(tf.ones([VOCAB.size]))

    @tf.function(reduce_retracing=True)
    def train_step(batch, logits):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(ctc_loss(batch, logits * scale, batch["feature_lengths"], VOCAB.blank))
        scale.assign_sub(0.01 * tape.gradient(loss, scale))
        return loss

    @tf.function(reduce_retracing=True)
    def eval_step(batch, logits):
        return ctc_loss(batch, logits * scale, batch["feature_lengths"], VOCAB.blank)

    train_step(*_batch(rng, 4, 60, 10))
    eval_step(*_batch(rng, 4, 50, 12))
    assert "tfg." not in capfd.readouterr().err
