"""The lexicon decoder on hand-made CTC logits whose best path is known, and its bad-input errors."""

import jiwer
import numpy as np
import pytest

from deepthin.data import VOCAB
from deepthin.data.fsdd import DIGITS
from deepthin.experiment.ctc import decode
from deepthin.experiment.decoders import LexiconCTCDecoder, language_model, read_lexicon, spellings

#: One character per frame: "-" is the blank, "_" the word boundary (space).
CHARS = {"-": VOCAB.blank, "_": VOCAB.labels.index(" ")}


def label(char: str) -> int:
    return CHARS.get(char, VOCAB.labels.find(char))


def logits_of(paths: list[str], frames: int, peak: float = 10.0) -> np.ndarray:
    """Logits whose per-frame argmax spells each path; frames past a path's end (padding) spell "five"."""
    logits = np.zeros((len(paths), frames, VOCAB.size), np.float32)
    for row, path in enumerate(paths):
        padded = (path + "_f-i-v-e_" * frames)[:frames]
        for t, char in enumerate(padded):
            logits[row, t, label(char)] = peak
    return logits


def greedy(logits: np.ndarray, lengths: np.ndarray) -> list[str]:
    return [VOCAB.decode(ids) for ids in decode(logits, lengths, VOCAB.blank)]


def test_greedy_and_lexicon_return_the_known_best_path_within_each_length():
    # repeated frames collapse, "ee" needs the blank between, the padding is ignored, and the last
    # word ends on the last frame (no boundary after it, as in CTC labels)
    paths = ["--tthr-ee-e__oo-nne", "-ssiix-_sevv-enn-"]
    logits, lengths = logits_of(paths, 30), np.array([len(p) for p in paths], np.int32)
    expected = ["three one", "six seven"]
    assert greedy(logits, lengths) == expected
    assert LexiconCTCDecoder(DIGITS, VOCAB)(logits, lengths) == expected
    # a last word ending on the last frame is not cut short to a word it starts with
    assert LexiconCTCDecoder(["on", "one"], VOCAB)(logits_of(["--o-n-e"], 7), np.array([7])) == ["one"]


def test_a_near_miss_spelling_decodes_to_the_right_word():
    logits = logits_of(["-t-r-e-e-_-n-i-n--"], 18)
    logits[0, 1, label("h")] = 8.0  # "h" a close second where the model put a blank
    logits[0, 15, label("e")] = 8.0
    lengths = np.array([18], np.int32)
    assert greedy(logits, lengths) == ["tree nin"]
    assert LexiconCTCDecoder(DIGITS, VOCAB)(logits, lengths) == ["three nine"]


def test_a_digit_lexicon_decodes_to_digit_words_only():
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 2.0, (8, 120, VOCAB.size)).astype(np.float32)
    logits[..., VOCAB.blank] += 2.0
    decoded = LexiconCTCDecoder(DIGITS, VOCAB)(logits, np.full(8, 120, np.int32))
    words = " ".join(decoded).split()
    assert len(words) >= 8 and set(words) <= set(DIGITS), decoded


def test_a_plateau_model_gets_no_inserted_words():
    """A model stuck near CTC's all-blank plateau, like a measured FSDD run after 4 epochs (per-frame
    posteriors: "i" 0.62, blank 0.20, others below 0.04). The most probable *labeling* of such frames
    is a long run of "i"s (what the dropped free beam search returned, WER 1.49 against greedy's 1.00);
    the lexicon search scores paths, as greedy does, and must not insert words, not even one-letter
    ones (synth's word list has "i" and "a"): a word ends only at a word boundary the model emitted."""
    rng = np.random.default_rng(1)
    prior = np.full(VOCAB.size, 0.18 / (VOCAB.size - 2))
    prior[label("i")], prior[VOCAB.blank] = 0.62, 0.20
    logits = (np.log(prior) + rng.normal(0.0, 0.3, (6, 200, VOCAB.size))).astype(np.float32)
    lengths = np.full(6, 200, np.int32)
    refs = ["two six six eight nine four", "three two eight six", "seven one", "nine", "five five", "zero"]
    lexical = LexiconCTCDecoder([*DIGITS, "i", "a"], VOCAB)(logits, lengths)
    assert jiwer.wer(refs, lexical) <= jiwer.wer(refs, greedy(logits, lengths)) + 0.05, lexical


def write_arpa(path, nine: float, mine: float):
    """A bigram ARPA model over "nine" and "mine" with the given unigram log10 probabilities."""
    path.write_text(
        "\\data\\\nngram 1=5\nngram 2=1\n\n\\1-grams:\n-2.0\t<unk>\t0\n-99\t<s>\t0\n-0.5\t</s>\t0\n"
        f"{nine}\tnine\t0\n{mine}\tmine\t0\n\n\\2-grams:\n-0.1\tnine mine\n\n\\end\\\n"
    )
    return path


def test_a_language_model_decides_what_the_acoustics_cannot(tmp_path):
    logits = logits_of(["--n-i-n-e--"], 11)
    logits[0, 2, label("m")] = 10.0  # "n" and "m" equally likely: "nine" or "mine"
    lengths = np.array([11], np.int32)
    for favoured, (nine, mine) in (("nine", (-0.3, -3.0)), ("mine", (-3.0, -0.3))):
        lm = write_arpa(tmp_path / f"{favoured}.arpa", nine, mine)
        assert LexiconCTCDecoder(["nine", "mine"], VOCAB, lm=lm)(logits, lengths) == [favoured]


def test_bad_lexicon_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"lexicon file not found: {tmp_path / 'none.txt'}"):
        read_lexicon(tmp_path / "none.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    with pytest.raises(ValueError, match=f"lexicon file {empty} has no words; allowed: one word per line"):
        read_lexicon(empty)
    columns = tmp_path / "columns.txt"
    columns.write_text("ONE\nhello h e l l o |\n")
    with pytest.raises(ValueError, match=f"{columns}:2: 'hello h e l l o [|]' holds more than one word"):
        read_lexicon(columns)
    columns.write_text("ONE\nTwo\n\nthree\n")
    assert read_lexicon(columns) == ["one", "two", "three"]  # lowercased like the transcripts


def test_a_word_outside_the_vocabulary_names_the_word_and_the_source():
    with pytest.raises(ValueError, match="lexicon file w.txt: word 'café' has characters 'é' outside the "
                                         "vocabulary; allowed: characters of abcdefghijklmnopqrstuvwxyz'$"):
        spellings(["one", "café"], VOCAB, "file w.txt")
    assert spellings(["don't"], VOCAB, "x")["don't"] == [3, 14, 13, 27, 19, 26]  # the boundary ends it
    with pytest.raises(ValueError, match="lexicon of corpus kaldi has no words; allowed: a word list"):
        spellings([], VOCAB, "of corpus kaldi")  # e.g. a corpus without training transcripts


def test_unreadable_language_models_name_the_file(tmp_path):
    words = LexiconCTCDecoder(DIGITS, VOCAB).words
    from flashlight.lib.text.dictionary import Dictionary

    with pytest.raises(FileNotFoundError, match=f"language model file not found or unreadable: {tmp_path}"):
        language_model(tmp_path / "none.arpa", Dictionary(words))
    garbage = tmp_path / "garbage.arpa"
    garbage.write_text("not a language model\n")
    with pytest.raises(ValueError, match=f"language model file {garbage} is not an n-gram model .*"
                                         "allowed: an ARPA or KenLM binary file"):
        language_model(garbage, Dictionary(words))


def test_beam_width_must_be_positive():
    with pytest.raises(ValueError, match="eval.beam_width=0; allowed: an integer >= 1"):
        LexiconCTCDecoder(DIGITS, VOCAB, beam_width=0)


@pytest.mark.parametrize(
    "setting, content, message",
    [
        ("eval.lexicon", None, "lexicon file not found: {path}"),
        ("eval.lexicon", "\n", "lexicon file {path} has no words; allowed: one word per line"),
        ("eval.lexicon", "one\ncafé\n", "lexicon file {path}: word 'café' has characters 'é' outside the "
                                        "vocabulary; allowed: characters of abcdefghijklmnopqrstuvwxyz'"),
        ("eval.lm", None, "language model file not found or unreadable: {path}"),
        ("eval.lm", "not a model\n", "language model file {path} is not an n-gram model"),
    ],
)
@pytest.mark.slow
def test_bad_lexicon_or_lm_stops_the_run_with_one_line_and_status_2(setting, content, message, tmp_path,
                                                                     cache_dir, deepthin_run, tiny):
    path = tmp_path / "given.txt"
    if content is not None:
        path.write_text(content)
    proc = deepthin_run([f"{setting}={path}", f"hydra.run.dir={tmp_path / 'run'}", *tiny], cache_dir,
                        timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("deepthin-run: error: ") and message.format(path=path) in lines[-1], lines
    assert "Traceback" not in proc.stderr and not (tmp_path / "run" / "checkpoint" / "state.json").exists()
