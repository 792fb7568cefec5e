import numpy as np
import pytest

from deepthin.data import VOCAB, CharVocab, normalize_text


def test_layout_blank_last():
    assert VOCAB.size == 29 and VOCAB.blank == 28 and len(VOCAB) == 29
    assert VOCAB.labels == "abcdefghijklmnopqrstuvwxyz '"
    assert isinstance(VOCAB, CharVocab)


def test_roundtrip_and_dtype():
    ids = VOCAB.encode("don't stop")
    assert ids.dtype == np.int32
    assert ids.tolist()[:3] == [3, 14, 13] and ids[3] == 27 and ids[5] == 26
    assert VOCAB.decode(ids) == "don't stop"
    assert VOCAB.decode([0, 28, 1, -1]) == "ab"  # blank and padding dropped


def test_encode_rejects_unknown_character():
    with pytest.raises(ValueError, match="'1'"):
        VOCAB.encode("room 101")


def test_normalize_text():
    assert normalize_text("  HELLO   World's ") == "hello world's"
    with pytest.raises(ValueError, match="outside a-z"):
        normalize_text("hello, world")
