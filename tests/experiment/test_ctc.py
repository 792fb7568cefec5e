"""CTC feasibility after subsampling, on hand-made lengths."""

from types import SimpleNamespace

import numpy as np
import pytest

from deepthin.experiment.ctc import feasible, min_ctc_frames


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
