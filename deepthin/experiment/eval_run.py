"""``deepthin-eval RUN_DIR [OVERRIDES...]``: a finished run's model evaluated on another data set.

    deepthin-eval results/synth/.../seed=0 data=librispeech data.root=~/LibriSpeech
    deepthin-eval RUN_DIR data=kaldi data.root=~/kaldi eval.split=dev --name kaldi-dev

The overrides are Hydra's, composed on top of the config the run recorded (its ``results.json``):
the run's own data set is the default of the ``data`` group, so ``data=NAME`` picks another from
``conf/data/`` and ``data.root=...``, ``data.splits.test=...``, ``eval.lexicon=...`` change what
they name. Only what an evaluation reads may change (:data:`EDITABLE`): the model, its features and
its training are the run's. The decoder's words follow ``deepthin-run``'s rule: ``eval.lexicon``,
else the evaluated corpus's words (its training transcripts for librispeech and kaldi; with
``data.splits.train=null`` there are none, so give ``eval.lexicon``).

Only the evaluated split's features are computed. The results go to
``RUN_DIR/eval/NAME/`` (NAME: ``--name``, else the data set, plus ``-dev`` for ``eval.split=dev``):
``results.json`` (metrics as the run's: ``test_loss``, WER and CER of greedy and lexicon decoding,
``blank_fraction``; the composed config; provenance) and ``transcripts.tsv`` (what was decoded). The
run's own ``results.json`` is never touched, and a NAME that holds another evaluation is refused.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.errors import HydraException, InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from deepthin.conf_dir import CONF_DIR
from deepthin.data import SPLITS, VOCAB, Corpus, FeatureConfig, extract_features, make_dataset
from deepthin.experiment.datamodule import ctc_examples
from deepthin.experiment.decoders import lexicon_decoder
from deepthin.experiment.evaluate import Transcripts, is_trained, keras_forward, transcribe_batches
from deepthin.experiment.provenance import provenance
from deepthin.experiment.records import differing_keys, finished_run
from deepthin.experiment.run import check_overrides, quote_paths
from deepthin.export import load_deployable
from deepthin.validation import OneLineParser, check_choice

#: What an evaluation may change of the run's config (a key or the first part of a dotted one).
EDITABLE = ("data", "eval", "batch_size", "cache_dir")
#: The ``data`` option that stands for the run's recorded data set, and the config composed on it.
RECORDED_DATA, EVAL_CONFIG = "_recorded", "_deepthin_eval"


def check_editable(overrides: Sequence[str]) -> None:
    """Refuse an override of what the trained model fixed, in one line."""
    for override in overrides:
        key = override.partition("=")[0].lstrip("+~")
        if key.split(".")[0] not in EDITABLE:
            raise ValueError(f"{override!r}: a trained run's {key} is fixed; allowed: overrides of "
                             f"{', '.join(EDITABLE)} (and their keys)")


def compose_on_run(recorded: dict[str, Any], overrides: Sequence[str]) -> tuple[DictConfig, str | None]:
    """The run's config with ``overrides`` composed by Hydra, and the ``data`` option they chose
    (None: the run's own data set)."""
    store = ConfigStore.instance()
    store.store(group="data", name=RECORDED_DATA, node=recorded["data"])
    rest = {key: value for key, value in recorded.items() if key != "data"}
    store.store(name=EVAL_CONFIG, node={"defaults": [{"data": RECORDED_DATA}, "_self_"], **rest})
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose(EVAL_CONFIG, overrides=list(overrides), return_hydra_config=True)
    except HydraException as error:
        raise ValueError(str(error).splitlines()[0]) from None
    choice = cfg.hydra.runtime.choices.data
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg, None if choice == RECORDED_DATA else choice


def eval_split(cfg: DictConfig, corpus: Corpus) -> list[Any]:
    """The evaluated split's examples, with the run's features, that CTC can align at its stride.

    Only that split is featurized: a corpus's training split can be hours of audio.
    """
    split = cfg.eval.split
    only = Corpus(corpus.name, {s: corpus.splits[s] if s == split else [] for s in SPLITS}, corpus.lexicon)
    examples = extract_features(only, FeatureConfig(**cfg.model.features), cache_dir=cfg.cache_dir)
    return ctc_examples({split: examples[split]}, int(cfg.model.arch.get("stride", 1)))[split]


def out_dir_of(run_dir: Path, name: str | None, data: str, split: str) -> Path:
    """``RUN_DIR/eval/NAME``, NAME by default the data set plus ``-dev`` for the dev split."""
    if name is not None and (not name or Path(name).name != name or name in (".", "..")):
        raise ValueError(f"--name {name!r}; allowed: a folder name, without /")
    return run_dir / "eval" / (name or (data if split == "test" else f"{data}-{split}"))


def check_free(out_dir: Path, config: dict[str, Any]) -> None:
    """Refuse an evaluation directory that holds an evaluation with another config."""
    path = out_dir / "results.json"
    if path.is_file() and (differ := differing_keys(json.loads(path.read_text())["config"], config)):
        raise ValueError(f"{out_dir} holds an evaluation with another config (differs in: "
                         f"{', '.join(differ)}); allowed: the same config, or --name NAME for another folder")


def write_transcripts(path: Path, uids: list[str], transcripts: Transcripts) -> None:
    """``transcripts.tsv``: each utterance's id, reference and decodings."""
    with path.open("w", newline="") as file:
        out = csv.writer(file, delimiter="\t", lineterminator="\n")
        out.writerow(["uid", "reference", "greedy", "lexicon"])
        out.writerows(zip(uids, transcripts.references, transcripts.greedy, transcripts.lexicon, strict=True))


def evaluate_run(run_dir: str | Path, overrides: Sequence[str] = (), name: str | None = None
                 ) -> dict[str, Any]:
    """Evaluate the finished run in ``run_dir`` as ``overrides`` say; write and return the results."""
    run_dir = Path(run_dir)
    check_editable(overrides)
    run = finished_run(run_dir)
    cfg, choice = compose_on_run(run["config"], overrides)
    split = check_choice("eval.split", cfg.eval.split, ("test", "dev"))
    data = choice or run["data"]
    out_dir = out_dir_of(run_dir, name, data, split)
    config = OmegaConf.to_container(cfg, resolve=True)
    check_free(out_dir, config)
    model, _ = load_deployable(run_dir)
    try:
        corpus = instantiate(cfg.data).load()
    except InstantiationException as error:  # wraps the corpus reader's own one-line error
        raise ValueError(str(error.__cause__ or error).splitlines()[0]) from None
    decoder = lexicon_decoder(cfg.eval, corpus, VOCAB)
    examples = eval_split(cfg, corpus)
    transcripts = transcribe_batches(keras_forward(model), make_dataset(examples, int(cfg.batch_size)),
                                     VOCAB, decoder)
    metrics = transcripts.metrics()
    results = {
        "run": str(run_dir), **{key: run[key] for key in ("model", "preset", "method", "ratio", "seed")},
        "trained_on": run["data"], "data": data, "split": split, "utterances": len(examples),
        "metrics": metrics, "trained": is_trained(metrics),
        "corpus": corpus.summary().to_dict(orient="records"),
        "config": config, "overrides": list(overrides), **provenance(), "complete": True,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_transcripts(out_dir / "transcripts.tsv", [e.uid for e in examples], transcripts)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1, default=float))
    return {**results, "out_dir": str(out_dir)}


def summary_line(results: dict[str, Any]) -> str:
    m = results["metrics"]
    return (f"{results['model']}/{results['method']} ratio={results['ratio']} "
            f"(trained on {results['trained_on']}) on {results['data']} {results['split']}, "
            f"{results['utterances']} utterances: "
            f"WER {m['wer_lexicon']:.3f} (greedy {m['wer_greedy']:.3f}), CER {m['cer_lexicon']:.3f} "
            f"(greedy {m['cer_greedy']:.3f}), test loss {m['test_loss']:.2f}; wrote {results['out_dir']}")


def main(argv: Sequence[str] | None = None) -> int:
    """``deepthin-eval RUN_DIR [OVERRIDES...] [--name NAME]``."""
    parser = OneLineParser(prog="deepthin-eval", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory of deepthin-run")
    parser.add_argument("overrides", metavar="OVERRIDES", nargs="*",
                        help="Hydra overrides of data, eval, batch_size, cache_dir: data=fsdd data.root=DIR")
    parser.add_argument("--name", help="folder under RUN_DIR/eval (default: the data set, plus -dev "
                        "for eval.split=dev)")
    args = parser.parse_args(argv)
    overrides = quote_paths(args.overrides)
    try:
        check_overrides(overrides)
        results = evaluate_run(args.run_dir, overrides, args.name)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error).splitlines()[0])
    print(summary_line(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
