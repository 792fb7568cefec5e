"""``deepthin-transcribe MODEL AUDIO...``: a trained model's transcripts of audio files and data directories.

What a model hears in recordings of one's own, and how well it recognizes a Kaldi or LibriSpeech data
directory, without a training run's machinery.

MODEL is a run directory (its ``model.keras``), a ``.keras`` file or a ``.tflite`` file of
``deepthin-export``. The features are computed as the run computed them, and neither model file
carries them (a ``.tflite`` knows only the feature count): the run's ``results.json`` records them
(``model.features``), so a model file is read with the ``results.json`` of its own folder, where
``deepthin-run`` and ``deepthin-export`` put it, or of ``--run RUN_DIR``.

AUDIO is an audio file (wav, flac, ... at any rate: resampled) or a data directory; a directory's
transcripts give WER and CER. Decoding is greedy and lexicon-constrained, with the run's decoder
settings: its lexicon (``eval.lexicon``, else its corpus's words) unless ``--lexicon``, its LM unless
``--lm``. Output: ``NAME<TAB>greedy<TAB>lexicon`` per file (NAME as given) or utterance (its id), the
files first; ``# DIR: ...`` with each directory's rates; ``--out FILE`` writes all of it as JSON.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from deepthin.conf_dir import CONF_DIR
from deepthin.data import SPLITS, VOCAB, Corpus, FeatureConfig, extract_features, make_dataset
from deepthin.data.audio import directory_corpus, files_corpus
from deepthin.data.fsdd import DIGITS
from deepthin.data.synth import load_words
from deepthin.experiment.decoders import LexiconCTCDecoder, lexicon_decoder
from deepthin.experiment.evaluate import Forward, Transcripts, keras_forward, transcribe_batches
from deepthin.experiment.records import finished_run
from deepthin.export import load_deployable
from deepthin.validation import OneLineParser

MODEL_KINDS = "a run directory, a .keras file or a .tflite file (deepthin-export)"
#: Corpora whose word list is fixed by their kind: read without building the corpus (synth's would be
#: generated anew where its cache is gone).
FIXED_WORDS: dict[str, Callable[[], Sequence[str]]] = {"deepthin.data.synth.SynthCorpus": load_words,
                                                       "deepthin.data.fsdd.FSDDCorpus": lambda: DIGITS}


@dataclass
class Recognizer:
    """A trained model's forward pass, and the run that records how its features are computed."""

    forward: Forward
    batch_size: int
    features: FeatureConfig
    config: dict[str, Any]
    run_dir: Path


def _litert(path: Path) -> tuple[Forward, int]:
    """A ``.tflite`` file's ``serve`` signature as a forward pass of one-utterance batches, and its
    feature count."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        runner = Interpreter(model_content=path.read_bytes()).get_signature_runner("serve")
    except (ValueError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{path}: not a model of deepthin-export ({reason}); "
                         f"allowed: {MODEL_KINDS}") from None

    def forward(batch: dict[str, Any]) -> tuple[Any, Any]:
        features, lengths = np.asarray(batch["features"]), np.asarray(batch["feature_lengths"])
        out = runner(features=features, feature_lengths=lengths)
        return out["logits"], out["logit_lengths"]

    return forward, int(runner.get_input_details()["features"]["shape"][-1])


def _keras(path: Path) -> tuple[Forward, int]:
    try:
        model, _ = load_deployable(path)
    except (OSError, ValueError) as error:
        raise ValueError(str(error).splitlines()[0] if str(error) else f"{path}: unreadable model") from None
    return keras_forward(model), int(model.input["features"].shape[-1])


def run_config(model: Path, run_dir: Path) -> dict[str, Any]:
    """The config ``run_dir``'s ``results.json`` records, or a one-line error saying what is missing."""
    try:
        config = finished_run(run_dir)["config"]
        config["model"]["features"]  # noqa: B018  (what must be there)
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{model}: the feature config of its run is missing: no complete results.json "
                         f"with model.features in {run_dir}; allowed: {MODEL_KINDS} inside its run "
                         "directory, or --run RUN_DIR") from None
    return config


def load_recognizer(model: str | Path, run: str | Path | None = None) -> Recognizer:
    """The model of ``model`` with the features of its run (``run``, else the model's folder)."""
    path = Path(model).expanduser()
    if path.is_dir() or path.suffix == ".keras":
        forward, num_features = _keras(path)
    elif path.suffix == ".tflite" and path.is_file():
        forward, num_features = _litert(path)
    else:
        raise ValueError(f"{model}: no model found; allowed: {MODEL_KINDS}")
    run_dir = Path(run).expanduser() if run is not None else path if path.is_dir() else path.parent
    config = run_config(path, run_dir)
    features = FeatureConfig(**config["model"]["features"])
    if features.num_features != num_features:
        raise ValueError(f"{model} reads {num_features} features, but run {run_dir} records "
                         f"{features.num_features}; allowed: the run the model was trained in (--run)")
    batch_size = 1 if path.suffix == ".tflite" else int(config["batch_size"])
    return Recognizer(forward, batch_size, features, config, run_dir)


def run_words(data: dict[str, Any]) -> Corpus:
    """A corpus holding the words the run's decoder chose from when it had no lexicon file: a fixed
    list, or the training words of its corpus (read from where the run read it)."""
    target = data["_target_"]
    if target in FIXED_WORDS:  # deepthin.data.<name>.<Class>
        return Corpus(target.split(".")[-2], {s: [] for s in SPLITS}, list(FIXED_WORDS[target]()))
    try:
        return instantiate(data).load()
    except (InstantiationException, ValueError, FileNotFoundError) as error:
        cause = error.__cause__ or error  # instantiate wraps the reader's own one-line error
        raise ValueError(f"the run's lexicon is the training words of its corpus, which could not be read "
                         f"({str(cause).splitlines()[0]}); allowed: --lexicon PATH") from None


def decoder_of(config: dict[str, Any], lexicon: str | None, lm: str | None) -> LexiconCTCDecoder:
    """The run's lexicon decoder (its ``eval`` settings, defaults for those it predates), with
    ``lexicon`` and ``lm`` in place of its own when given."""
    defaults = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "config.yaml").eval)
    settings = {**defaults, **config.get("eval", {})}
    settings["lexicon"] = lexicon or settings["lexicon"]
    settings["lm"] = lm or settings["lm"]
    return lexicon_decoder(settings, None if settings["lexicon"] else run_words(config["data"]), VOCAB)


def transcribe_corpus(recognizer: Recognizer, decoder: LexiconCTCDecoder, corpus: Corpus,
                      cache_dir: str | Path | None) -> tuple[list[str], Transcripts]:
    """Each utterance's id and what the model hears in it (no CTC loss: files have no transcript)."""
    examples = extract_features(corpus, recognizer.features, cache_dir, progress=corpus.name != "files")
    batches = make_dataset(examples["test"], recognizer.batch_size)
    return [e.uid for e in examples["test"]], transcribe_batches(recognizer.forward, batches, VOCAB,
                                                                 decoder, loss=False)


def _rows(uids: list[str], transcripts: Transcripts) -> list[dict[str, str]]:
    texts = zip(uids, transcripts.references, transcripts.greedy, transcripts.lexicon or [], strict=True)
    return [{"name": uid, "reference": ref, "greedy": greedy, "lexicon": lexical}
            for uid, ref, greedy, lexical in texts]


def transcribe(recognizer: Recognizer, decoder: LexiconCTCDecoder, audio: Sequence[str]) -> dict[str, Any]:
    """Transcripts of the files of ``audio``, then of each directory, with its WER and CER; every
    input is read (and refused, if bad) before the model runs."""
    files = [a for a in audio if not Path(a).is_dir()]
    directories = [(a, directory_corpus(a)) for a in audio if Path(a).is_dir()]
    corpus = files_corpus(files) if files else None
    out: dict[str, Any] = {"files": [], "directories": []}
    if corpus is not None:
        with tempfile.TemporaryDirectory() as cache:  # features of loose files are not worth keeping
            rows = _rows(*transcribe_corpus(recognizer, decoder, corpus, cache))
        out["files"] = [{k: v for k, v in row.items() if k != "reference"} for row in rows]
    for name, data in directories:
        uids, transcripts = transcribe_corpus(recognizer, decoder, data, None)
        try:
            metrics = transcripts.error_rates()
        except ValueError as error:  # jiwer: an empty reference
            raise ValueError(f"{name}: {error}; allowed: transcripts with at least one word") from None
        out["directories"].append({"directory": name, "corpus": data.name, "utterances": len(uids),
                                   "metrics": metrics, "transcripts": _rows(uids, transcripts)})
    return out


def lines(result: dict[str, Any]) -> list[str]:
    """What is printed: one tab-separated line per file and utterance, a ``#`` line per directory."""
    out = [f"{row['name']}\t{row['greedy']}\t{row['lexicon']}" for row in result["files"]]
    for data in result["directories"]:
        out += [f"{row['name']}\t{row['greedy']}\t{row['lexicon']}" for row in data["transcripts"]]
        m = data["metrics"]
        out.append(f"# {data['directory']}: {data['utterances']} utterances, "
                   f"WER {m['wer_lexicon']:.3f} (greedy {m['wer_greedy']:.3f}), "
                   f"CER {m['cer_lexicon']:.3f} (greedy {m['cer_greedy']:.3f})")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``deepthin-transcribe MODEL AUDIO... [--run RUN_DIR] [--lexicon FILE] [--lm FILE] [--out JSON]``."""
    parser = OneLineParser(prog="deepthin-transcribe", description=__doc__.splitlines()[0])
    parser.add_argument("model", metavar="MODEL", help=MODEL_KINDS)
    parser.add_argument("audio", metavar="AUDIO", nargs="+", help="audio files or data directories")
    parser.add_argument("--run", help="the run directory of MODEL (default: the folder MODEL is in)")
    parser.add_argument("--lexicon", help="word list, one word per line (default: the run's)")
    parser.add_argument("--lm", help="n-gram language model, ARPA or KenLM binary (default: the run's)")
    parser.add_argument("--out", help="also write the transcripts (and rates) to this JSON file")
    args = parser.parse_args(argv)
    if args.out and not Path(args.out).expanduser().parent.is_dir():
        parser.error(f"--out {args.out}: its folder does not exist; allowed: a path in an existing folder")
    try:
        recognizer = load_recognizer(args.model, args.run)
        decoder = decoder_of(recognizer.config, args.lexicon, args.lm)
        result = transcribe(recognizer, decoder, args.audio)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error).splitlines()[0])
    print("\n".join(lines(result)))
    if args.out:
        record = {"model": str(args.model), "run": str(recognizer.run_dir),
                  "features": asdict(recognizer.features), **result}
        Path(args.out).expanduser().write_text(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
