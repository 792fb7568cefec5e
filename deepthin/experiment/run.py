"""``deepthin-run``: train and evaluate one (model, method, ratio) on speech.

A Hydra app over ``conf/``: ``deepthin-run method=deepthin ratio=0.01`` runs
the default (synth corpus, TFKaldi recipe, ``cpu`` preset); ``-m`` sweeps.
Each run writes into its output directory ``results.json`` (metrics, sizes,
resolved config, command-line overrides, the strategy's ``method_details``, seed, git commit, package
versions), the trained model and its checkpoints. Running the same command again resumes a killed run, and a
run whose ``results.json`` is complete is skipped. ``from_run``, ``init`` and ``allocate`` start from a
finished dense run instead of from scratch (:mod:`deepthin.experiment.start`).

Bad input is refused where it enters, in one line: the command line before Hydra starts
(:func:`check_overrides`), the composed config before anything is built (:func:`check_config`).
:func:`run` keeps the run directory's books (:mod:`deepthin.experiment.records`); :func:`train` is
the experiment itself: data, the method's model with its budget, training, one evaluation.
"""

from __future__ import annotations

import json
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import hydra
import keras
import tensorflow as tf
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from deepthin.compress import INITS
from deepthin.conf_dir import CONF_DIR, DIVERGED_RECORD, hparams_subdir, schedule_suffix, study_prefix
from deepthin.data import VOCAB
from deepthin.experiment.datamodule import SpeechData
from deepthin.experiment.decoders import lexicon_decoder
from deepthin.experiment.evaluate import dev_metrics, evaluate, is_trained, recognition_metrics
from deepthin.experiment.layer_set import check_compress_output, compressed_layer_pattern
from deepthin.experiment.provenance import provenance
from deepthin.experiment.records import finished_results, record_config, write_results
from deepthin.experiment.start import ALLOCATIONS, check_start, layer_ratios, source_builder, variant_suffix
from deepthin.experiment.strategies import Builder, Built, Strategy
from deepthin.experiment.trainer import Trainer, TrainerConfig, TrainingDiverged, saved_state
from deepthin.methods.base import VALUE_BYTES
from deepthin.size import RATIO_TOLERANCE, model_stored_bytes
from deepthin.validation import check_choice, check_ratio
from recipes.presets import model_builder

GROUPS = ("data", "model", "method", "preset")
#: Plain keys with a fixed set of values, checked before Hydra composes (the run directory uses them).
CHOICES = {"init": INITS, "allocate": ALLOCATIONS}
# the run directory's method part: the method's name plus the start's suffix (conf/config.yaml)
OmegaConf.register_new_resolver("variant", variant_suffix, replace=True)
# ... and the setting part's schedule suffix (conf/config.yaml)
OmegaConf.register_new_resolver("schedule", schedule_suffix, replace=True)
# ... and the study's subtree of results/, "" for the grid (conf/config.yaml)
OmegaConf.register_new_resolver("study_dir", study_prefix, replace=True)
# ... and the tuning sweeps' level before ratio=, "" elsewhere (conf/config.yaml)
OmegaConf.register_new_resolver("hparams_dir", hparams_subdir, replace=True)


def choices(group: str) -> list[str]:
    """The options of a config group: the YAML files in ``conf/<group>/``."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def check_overrides(argv: list[str]) -> None:
    """Reject unknown group options, bad ratios and study names before Hydra starts, in one line each."""
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep:
            continue
        key = key.lstrip("+~")
        sweep = "," in value and not value.startswith(("[", "range("))
        values = value.split(",") if sweep else [value]
        if key in GROUPS:
            for option in values:
                if option not in choices(key):
                    raise ValueError(f"unknown {key} {option!r}; allowed: {', '.join(choices(key))}")
        elif key in CHOICES:
            for option in values:
                check_choice(key, option, CHOICES[key])
        elif key == "ratio":
            for option in values:
                check_ratio(_number(option))
        elif key == "compress_output":
            for option in values:
                check_compress_output(option)
        elif key == "study":
            for option in values:
                study_prefix(None if option == "null" else option)


#: Keys whose value is a path: run directories such as ``.../ratio=1.0/seed=0`` hold ``=``.
PATH_KEYS = ("from_run", "sensitivity_table", "data.root", "eval.lexicon", "eval.lm", "cache_dir")


def quote_paths(argv: list[str]) -> list[str]:
    """``from_run=results/.../ratio=1.0/seed=0`` as Hydra's grammar needs it, ``from_run='...'``.

    Hydra's override parser rejects an unquoted ``=`` in a value, and every run directory has two;
    a path that is already quoted, or holds a quote, is left as it is.
    """
    quoted = []
    for arg in argv:
        key, _, value = arg.partition("=")
        if key.lstrip("+~") in PATH_KEYS and "=" in value and not any(q in value for q in "'\""):
            arg = f"{key}='{value}'"
        quoted.append(arg)
    return quoted


def _number(text: str) -> float | str:
    """``text`` as a number, or as it is (which :func:`check_ratio` then names as not a number)."""
    try:
        return float(text)
    except ValueError:
        return text


def check_config(cfg: DictConfig) -> float:
    """Check the composed config's plain values once, before anything is built, and return the ratio.

    The command line's were checked before Hydra started (:func:`check_overrides`); this covers the
    values that come from config files (a sweep's ratios, say) and from the compose API.
    """
    check_choice("eval.split", cfg.eval.split, ("test", "dev"))
    check_start(cfg.init, cfg.from_run, cfg.allocate, cfg.sensitivity_table)
    check_compress_output(cfg.compress_output)
    return check_ratio(cfg.ratio)


def run(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """The experiment of ``cfg`` in its run directory ``out_dir``: skipped when it finished there,
    resumed from its last checkpoint when it was killed, refused when the directory holds another."""
    config = OmegaConf.to_container(cfg, resolve=True)
    if (finished := finished_results(out_dir, config)) is not None:
        print(f"deepthin-run: {out_dir / 'results.json'} is complete; skipping")
        print(summary_line(finished))   # what it measured, as when it finished
        return finished
    results = train(cfg, out_dir, config)
    write_results(out_dir, results)
    print(summary_line(results))
    return results


def train(cfg: DictConfig, out_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    """One experiment, from its config to its results: data, model, training, evaluation."""
    started = time.perf_counter()
    ratio = check_config(cfg)
    trainer = Trainer(TrainerConfig(**cfg.trainer), VOCAB.blank)  # checks its options before the data loads
    # a resumed run adds the training time of the processes before it (their start-up is not known)
    earlier_seconds = saved.train_seconds if (saved := saved_state(out_dir)) is not None else 0.0
    keras.utils.set_random_seed(int(cfg.seed))
    tf.config.experimental.enable_op_determinism()
    recipe = {"data": HydraConfig.get().runtime.choices.data, "model": cfg.model.name,
              "preset": cfg.preset.name}
    builder = source_builder(cfg, model_builder(cfg.model, VOCAB.size), recipe)
    corpus = instantiate(cfg.data).load()
    decoder = lexicon_decoder(cfg.eval, corpus, VOCAB)  # a bad lexicon or LM fails before the features
    data = SpeechData.from_config(cfg, corpus)
    total_steps = trainer.config.planned_steps(data.steps_per_epoch)
    strategy, built, start = build_model(cfg, builder, ratio, total_steps)
    method = strategy.name + variant_suffix(cfg.init, cfg.allocate, cfg.compress_output)
    identity = {**recipe, "method": method, "ratio": ratio, "seed": int(cfg.seed)}
    if cfg.init == "fit":  # the fitted model before fine-tuning, on the same metrics as the final one
        start["metrics_at_fit"] = {**dev_metrics(built.model, data.dev, VOCAB),
                                   **recognition_metrics(built.model, data.test, VOCAB, decoder)}
    record_config(out_dir, config)
    try:
        model, state = trainer.fit(built.model, data.train, data.dev, data.steps_per_epoch, out_dir,
                                   eligible=partial(within_budget, built.target_params))
    except TrainingDiverged as error:  # an outcome of its settings, recorded: a search's point that lost
        record = {**identity, "config": config, "diverged": str(error)}
        (out_dir / DIVERGED_RECORD).write_text(json.dumps(record, indent=1))
        raise
    evaluation = evaluate(model, data, decoder, built.target_params, out_dir / "model.keras",
                          int(cfg.eval.latency_repeats), built.dense_params)
    metrics = {**evaluation.metrics, **state.metrics(), "eval_seconds": evaluation.seconds,
               "wall_seconds": time.perf_counter() - started + earlier_seconds}
    return {
        **identity, "method_details": strategy.details(total_steps), **start,
        "metrics": metrics, "size": evaluation.size, "history": state.history,
        "corpus": corpus.summary().to_dict(orient="records"),
        "config": config, "overrides": list(HydraConfig.get().overrides.task), **provenance(),
        "trained": is_trained(metrics), "complete": True,
    }


def build_model(cfg: DictConfig, builder: Builder, ratio: float, total_steps: int
                ) -> tuple[Strategy, Built, dict[str, Any]]:
    """The method (``cfg.method``), its model of the recipe with its budget, and what ``results.json``
    records of the model's start."""
    strategy = instantiate(cfg.method)
    ratios, start = layer_ratios(cfg, strategy, builder, ratio, total_steps)
    built = strategy.build(builder, ratio, compressed_layer_pattern(cfg), total_steps, cfg.init, ratios)
    return strategy, built, start


def within_budget(target_params: int, model: keras.Model) -> bool:
    """Whether ``model`` stores no more bytes than its budget allows (what may compete for the best
    epoch): the budget is ``target_params`` dense float32 weights."""
    return model_stored_bytes(model) <= VALUE_BYTES * target_params * (1 + RATIO_TOLERANCE)


def summary_line(results: dict[str, Any]) -> str:
    m, s = results["metrics"], results["size"]
    # the budget is bytes (issue 27); runs finished before it recorded parameters only
    stored = f"{s['stored_bytes']} bytes" if "stored_bytes" in s else f"{s['stored_params']} params"
    line = (f"{results['model']}/{results['method']} ratio={results['ratio']}: WER {m['wer_lexicon']:.3f} "
            f"(greedy {m['wer_greedy']:.3f}), CER {m['cer_lexicon']:.3f} (greedy {m['cer_greedy']:.3f}), "
            f"test loss {m['test_loss']:.2f}, "
            f"stored {stored} ({s['stored_vs_target']:.3f} of target), "
            f"train {m['train_seconds']:.0f}s")
    if not results.get("trained", True):
        line += f"; NOT TRAINED: greedy output blank on {m['blank_fraction']:.0%} of test utterances"
    return line


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def _hydra_main(cfg: DictConfig) -> None:
    try:
        run(cfg, Path(HydraConfig.get().runtime.output_dir))
    except TrainingDiverged as error:  # in a sweep, the other runs go on (a search tries large rates)
        print(f"deepthin-run: error: {error}", file=sys.stderr)
        if HydraConfig.get().mode != RunMode.MULTIRUN:
            sys.exit(2)
    except (ValueError, FileNotFoundError) as error:
        print(f"deepthin-run: error: {error}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    """Console entry point: validate the command line, then hand over to Hydra."""
    sys.argv[1:] = quote_paths(sys.argv[1:])
    try:
        check_overrides(sys.argv[1:])
    except ValueError as error:
        print(f"deepthin-run: error: {error}", file=sys.stderr)
        sys.exit(2)
    _hydra_main()


if __name__ == "__main__":
    main()
