import numpy as np
import pytest

from deepthin.data import VOCAB, Example, make_dataset


def _examples(n=10, dim=5):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        t = 10 + 7 * i
        text = "ab" * (1 + i % 3)
        out.append(
            Example(
                f"u{i}", "s", text, rng.standard_normal((t, dim)).astype(np.float32) + 1, VOCAB.encode(text)
            )
        )
    return out


def _batches(ds):
    return [{k: v.numpy() for k, v in b.items()} for b in ds]


def test_padding_and_lengths():
    ex = _examples()
    batches = _batches(make_dataset(ex, batch_size=4))
    assert [len(b["features"]) for b in batches] == [4, 4, 2]
    b = batches[0]
    assert b["features"].dtype == np.float32 and b["labels"].dtype == np.int32
    assert b["feature_lengths"].dtype == np.int32 and b["label_lengths"].dtype == np.int32
    assert b["features"].shape == (4, 31, 5) and b["feature_lengths"].tolist() == [10, 17, 24, 31]
    assert b["label_lengths"].tolist() == [2, 4, 6, 2]
    np.testing.assert_array_equal(b["features"][0, :10], ex[0].features)
    assert (b["features"][0, 10:] == 0).all() and (b["labels"][0, 2:] == VOCAB.blank).all()


def test_shuffle_is_deterministic_for_a_seed():
    ex = _examples(20)

    def order(seed):
        return np.concatenate(
            [b["feature_lengths"] for b in _batches(make_dataset(ex, 4, shuffle=True, seed=seed))]
        )

    assert order(1).tolist() == order(1).tolist()
    assert order(1).tolist() != order(2).tolist()
    assert sorted(order(1).tolist()) == [len(e.features) for e in ex]


def test_bucketing_groups_by_length():
    ex = _examples(20)
    batches = _batches(make_dataset(ex, 3, shuffle=True, seed=0, bucket_boundaries=[50, 100]))
    seen = []
    for b in batches:
        lens = b["feature_lengths"]
        bucket = np.digitize(lens, [50, 100])
        assert len(set(bucket.tolist())) == 1 and b["features"].shape[1] == lens.max()
        seen += lens.tolist()
    assert sorted(seen) == [len(e.features) for e in ex]


def test_bad_arguments():
    with pytest.raises(ValueError, match="no examples"):
        make_dataset([], 4)
    with pytest.raises(ValueError, match="batch_size=0"):
        make_dataset(_examples(), 0)


def test_drop_remainder_gives_only_full_batches():
    batches = _batches(make_dataset(_examples(), batch_size=4, shuffle=True, drop_remainder=True))
    assert [len(b["features"]) for b in batches] == [4, 4]


def test_sort_window_batches_similar_lengths_and_keeps_every_full_batch():
    ex = _examples(24)
    plain = _batches(make_dataset(ex, batch_size=4, shuffle=True, seed=3, drop_remainder=True))
    grouped = _batches(make_dataset(ex, batch_size=4, shuffle=True, seed=3, drop_remainder=True,
                                    sort_window=6))
    assert [len(b["features"]) for b in grouped] == [4] * 6
    assert sorted(u for b in grouped for u in b["feature_lengths"]) == sorted(len(e.features) for e in ex)
    def padding(batches):
        return sum(b["features"].shape[1] * len(b["feature_lengths"]) - b["feature_lengths"].sum()
                   for b in batches)

    assert padding(grouped) < padding(plain) / 3
