"""Lexicon-constrained CTC beam search: how ``wer_lexicon`` is measured.

Why a lexicon: the paper's WER comes from a real decoder (TFKaldi decoded with a
lexicon and a language model). A character model decoded greedily may hear the
right sounds and still spell most words wrongly, so its WER stays near 1 while
its CER falls; restricting the output to real words is what ASR systems do and
what makes WER tell methods apart.

The search is flashlight-text's ``LexiconDecoder`` (the CTC decoder of
wav2letter/flashlight, the one torchaudio wraps): a Viterbi beam search over
frame paths whose characters must spell words of a trie, with no language
model by default (``ZeroLM``) or an n-gram model in ARPA or KenLM binary
format. It scores *paths*, as greedy decoding does, not labelings summed over
alignments: on a model near CTC's all-blank plateau the most probable labeling
is a long run of one frequent character, which is why the free beam search
this replaces (``keras.ops.ctc_decode``) scored a WER far above greedy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from flashlight.lib.text.decoder import (
    CriterionType,
    LexiconDecoder,
    LexiconDecoderOptions,
    SmearingMode,
    Trie,
    ZeroLM,
)
from flashlight.lib.text.decoder.kenlm import KenLM
from flashlight.lib.text.dictionary import Dictionary

from deepthin.data.vocab import CharVocab

#: The word the decoder may never output (unknown words are off: ``unk_score`` is -inf).
UNKNOWN = "<unk>"
#: Hypotheses scoring this far (in log probability) below the best are pruned.
BEAM_THRESHOLD = 50.0
#: Log probability of everything but the word boundary in the frame appended after each utterance.
IMPOSSIBLE = -1e9


def read_lexicon(path: str | Path) -> list[str]:
    """Words of a lexicon file, one word per line, lowercased like the transcripts.

    Raises a one-line error naming the file when it is missing or empty or a
    line holds more than one word (a spelling column would be read as words).
    """
    file = Path(path).expanduser()
    try:
        lines = file.read_text().splitlines()
    except (FileNotFoundError, IsADirectoryError):
        raise FileNotFoundError(f"lexicon file not found: {file}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"lexicon file {file} is not readable text ({error}); "
                         "allowed: a UTF-8 file with one word per line") from None
    words = []
    for number, line in enumerate(lines, 1):
        fields = line.lower().split()
        if len(fields) > 1:
            raise ValueError(f"lexicon file {file}:{number}: {line.strip()!r} holds more than one word; "
                             "allowed: one word per line")
        words += fields
    if not words:
        raise ValueError(f"lexicon file {file} has no words; allowed: one word per line")
    return words


def spellings(words: Sequence[str], vocab: CharVocab, source: str) -> dict[str, list[int]]:
    """Each distinct word's label ids, followed by the word boundary (the vocabulary's space).

    The boundary ends every spelling because CTC labels put a space between
    words: a word is complete only when the model has emitted the space after it.
    """
    boundary = vocab.labels.index(" ")
    allowed = vocab.labels.replace(" ", "")
    spelled = {}
    for word in words:
        bad = sorted({c for c in word if c not in allowed})
        if bad:
            raise ValueError(f"lexicon {source}: word {word!r} has characters {''.join(bad)!r} outside the "
                             f"vocabulary; allowed: characters of {allowed}")
        spelled[word] = [*vocab.encode(word).tolist(), boundary]
    if not spelled:
        raise ValueError(f"lexicon {source} has no words; allowed: a word list (eval.lexicon=PATH)")
    return spelled


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Mute file descriptor 2: KenLM draws a loading progress bar there, from C++, which would
    otherwise surround a run's one-line error (its failures arrive as exceptions instead)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def language_model(path: str | Path | None, words: Dictionary) -> Any:
    """An n-gram model over ``words`` (ARPA or KenLM binary), or no model (``ZeroLM``) for None."""
    if path is None:
        return ZeroLM()
    file = Path(path).expanduser()
    if not file.is_file() or not os.access(file, os.R_OK):
        raise FileNotFoundError(f"language model file not found or unreadable: {file}")
    try:
        with _quiet_stderr():
            return KenLM(str(file), words)
    except RuntimeError as error:  # KenLM's C++ exceptions: several lines, the reason last
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else "unknown format"
        raise ValueError(f"language model file {file} is not an n-gram model ({reason}); "
                         "allowed: an ARPA or KenLM binary file of at least order 2") from None


class LexiconCTCDecoder:
    """Best word sequence per utterance from CTC logits, through flashlight-text's lexicon search.

    ``words``: what the decoder may output; ``source`` names where they came
    from in errors. ``lm``: path of an n-gram model, with ``lm_weight`` (its
    log10 scores' weight) and ``word_score`` (added per word; a positive value
    counters the deletions an LM favours).
    """

    def __init__(self, words: Sequence[str], vocab: CharVocab, beam_width: int = 50,
                 lm: str | Path | None = None, lm_weight: float = 2.0, word_score: float = 0.0,
                 source: str = "of the corpus") -> None:
        if int(beam_width) < 1:
            raise ValueError(f"eval.beam_width={beam_width}; allowed: an integer >= 1")
        spelled = spellings(words, vocab, source)
        self.words = [UNKNOWN, *spelled]
        dictionary = Dictionary(self.words)
        self._lm = language_model(lm, dictionary)  # held: the decoder keeps only a reference to it
        self._boundary = vocab.labels.index(" ")
        self._trie = self._build_trie(spelled, vocab.size)
        options = LexiconDecoderOptions(
            beam_size=int(beam_width), beam_size_token=vocab.size, beam_threshold=BEAM_THRESHOLD,
            lm_weight=float(lm_weight), word_score=float(word_score), unk_score=float("-inf"),
            sil_score=0.0, log_add=False, criterion_type=CriterionType.CTC,
        )
        self._decoder = LexiconDecoder(options, self._trie, self._lm, self._boundary, vocab.blank,
                                       self.words.index(UNKNOWN), [], False)
        self._end = np.full(vocab.size, IMPOSSIBLE, np.float32)
        self._end[self._boundary] = 0.0

    def _build_trie(self, spelled: dict[str, list[int]], size: int) -> Trie:
        """Spellings -> words, each word carrying its unigram LM score, smeared to its prefixes."""
        trie = Trie(size, self._boundary)
        start = self._lm.start(False)
        for index, word in enumerate(spelled, start=1):
            trie.insert(spelled[word], index, self._lm.score(start, index)[1])
        trie.smear(SmearingMode.MAX)
        return trie

    def __call__(self, logits: Any, lengths: Any) -> list[str]:
        """Decoded text of each utterance of a batch: ``logits [B, T, V]``, output ``lengths [B]``.

        The lengths are the logits' own (a model that subsamples in time has
        fewer output steps than feature frames). After each utterance one frame
        that can only be the word boundary is appended, so the last word ends
        the way every other word does.
        """
        logits = np.asarray(logits, np.float32)
        logp = logits - logits.max(axis=-1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(axis=-1, keepdims=True))
        frames = np.empty((logits.shape[1] + 1, logits.shape[2]), np.float32)
        texts = []
        for row, length in zip(logp, np.asarray(lengths).astype(int).tolist(), strict=True):
            frames[:length] = row[:length]
            frames[length] = self._end
            best = self._decoder.decode(frames.ctypes.data, length + 1, frames.shape[1])[0]
            texts.append(" ".join(self.words[i] for i in best.words if i > 0))
        return texts


def lexicon_decoder(settings: Mapping[str, Any], corpus: Any, vocab: CharVocab) -> LexiconCTCDecoder:
    """The run's decoder from its ``eval`` settings: words from ``lexicon`` when set, else the corpus's."""
    path = settings["lexicon"]
    if path:
        words, source = read_lexicon(path), f"file {Path(path).expanduser()}"
    else:
        words, source = corpus.words(), f"of corpus {corpus.name}"
    return LexiconCTCDecoder(words, vocab, beam_width=int(settings["beam_width"]), lm=settings["lm"],
                             lm_weight=float(settings["lm_weight"]), word_score=float(settings["word_score"]),
                             source=source)
