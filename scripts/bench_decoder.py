"""Wall time of the lexicon decoder on a test set of cpu-preset shape: 100 utterances x 300 frames x 29
classes, with each corpus's word list, at the default beam (``eval.beam_width``).

Two kinds of logits: "spoken" ones, whose best path spells random words of the lexicon with noise on
top (like a trained model's), and pure noise (like an untrained model's, the most hypotheses alive).

    python scripts/bench_decoder.py
"""

from __future__ import annotations

import time

import numpy as np
from omegaconf import OmegaConf

from deepthin.data import VOCAB
from deepthin.data.fsdd import DIGITS
from deepthin.data.synth import load_words
from deepthin.experiment.decoders import LexiconCTCDecoder
from deepthin.experiment.run import CONF_DIR

UTTERANCES, FRAMES = 100, 300


def spoken(words: list[str], rng: np.random.Generator) -> np.ndarray:
    """Logits whose best path spells random words (3 frames per character, a blank between)."""
    logits = rng.normal(0.0, 1.0, (UTTERANCES, FRAMES, VOCAB.size)).astype(np.float32)
    logits[..., VOCAB.blank] += 3.0
    for row in logits:
        text = " ".join(rng.choice(words, size=FRAMES))
        for t, label in enumerate(VOCAB.encode(text)[: FRAMES // 3].tolist()):
            row[3 * t + 1, label] += 8.0
    return logits


def main() -> None:
    rng = np.random.default_rng(0)
    beam = int(OmegaConf.load(CONF_DIR / "config.yaml").eval.beam_width)
    lengths = np.full(UTTERANCES, FRAMES, np.int32)
    noise = (rng.normal(0.0, 2.0, (UTTERANCES, FRAMES, VOCAB.size)) + 2.0 * (np.arange(VOCAB.size) ==
                                                                        VOCAB.blank)).astype(np.float32)
    for corpus, words in (("fsdd", list(DIGITS)), ("synth", load_words())):
        decoder = LexiconCTCDecoder(words, VOCAB, beam_width=beam)
        for kind, logits in (("spoken", spoken(words, rng)), ("noise", noise)):
            started = time.perf_counter()
            decoder(logits, lengths)
            seconds = time.perf_counter() - started
            print(f"{corpus} lexicon ({len(words)} words), {kind} logits, beam {beam}: "
                  f"{UTTERANCES} utterances x {FRAMES} frames in {seconds:.2f} s")


if __name__ == "__main__":
    main()
