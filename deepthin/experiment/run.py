"""``deepthin-run``: train and evaluate one (model, method, ratio) on speech.

A Hydra app over ``conf/``: ``deepthin-run method=deepthin ratio=0.01`` runs
the default (synth corpus, TFKaldi recipe, ``cpu`` preset); ``-m`` sweeps.
Each run writes into its output directory ``results.json`` (metrics, sizes,
resolved config, command-line overrides, the strategy's ``method_details``, seed, git commit, package
versions), the trained model and its checkpoints. Running the same command again resumes a killed run, and a
run whose ``results.json`` is complete is skipped. ``from_run``, ``init`` and ``allocate`` start from a
finished dense run instead of from scratch (:mod:`deepthin.experiment.start`).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import hydra
import keras
import tensorflow as tf
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from deepthin.compress import INITS
from deepthin.conf_dir import CONF_DIR
from deepthin.data import VOCAB, FeatureConfig, extract_features, make_dataset
from deepthin.experiment.ctc import feasible
from deepthin.experiment.decoders import lexicon_decoder
from deepthin.experiment.evaluate import (
    dev_metrics,
    is_trained,
    recognition_metrics,
    size_metrics,
    speed_metrics,
)
from deepthin.experiment.provenance import git_commit, package_versions
from deepthin.experiment.start import (
    ALLOCATIONS,
    layer_ratios,
    results_complete,
    source_builder,
    variant_suffix,
)
from deepthin.experiment.trainer import Trainer, TrainerConfig, saved_state
from deepthin.inference import for_inference
from deepthin.size import RATIO_TOLERANCE, model_stored_params
from deepthin.validation import check_choice, check_ratio
from recipes.presets import build

GROUPS = ("data", "model", "method", "preset")
#: Plain keys with a fixed set of values, checked before Hydra composes (the run directory uses them).
CHOICES = {"init": INITS, "allocate": ALLOCATIONS}
# the run directory's method part: the method's name plus the start's suffix (conf/config.yaml)
OmegaConf.register_new_resolver("variant", variant_suffix, replace=True)


def choices(group: str) -> list[str]:
    """The options of a config group: the YAML files in ``conf/<group>/``."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def check_overrides(argv: list[str]) -> None:
    """Reject unknown group options and bad ratios before Hydra starts, in one line each."""
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
                try:
                    number = float(option)
                except ValueError:
                    message = f"ratio={option!r} is not a number; allowed: a number in (0, 1]"
                    raise ValueError(message) from None
                check_ratio(number)


#: Settings that change how a run looks, not what it computes: ignored when comparing configs.
DISPLAY_KEYS = ("trainer.progress", "trainer.tensorboard", "data.progress", "data.num_workers",
                "data.cache_dir", "cache_dir")
#: Keys added to the config after runs were recorded, with the value those runs had implicitly.
ADDED_KEYS = {"init": "random", "from_run": None, "allocate": "uniform", "sensitivity_table": None}


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}} -> {"a.b": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def check_same_experiment(saved: dict[str, Any], current: dict[str, Any], where: Path) -> None:
    """Refuse to skip or resume a run directory that holds a different experiment.

    Run directories are named by data, model, preset, method, ratio and seed only;
    a re-run with, say, other epochs would otherwise be skipped as "complete" or
    resumed from the wrong checkpoint without a word.
    """
    old, new = {**ADDED_KEYS, **_flatten(saved)}, _flatten(current)
    differ = sorted(k for k in old.keys() | new.keys()
                    if k not in DISPLAY_KEYS and old.get(k) != new.get(k))
    if differ:
        raise ValueError(
            f"{where} holds a run with a different config (differs in: {', '.join(differ)}); "
            "allowed: the same config, or another hydra.run.dir (or delete that directory)"
        )


def record_config(path: Path, config: dict[str, Any]) -> None:
    """Record the config a run trains with, once, as training starts (a resumed run keeps its record).

    Not before: a run that stops on bad input (a wrong ``data.root``, say) would leave a record that
    makes the corrected command refuse this directory as holding "a different config".
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(config, indent=1))


def run(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """One experiment, start to finish (or from its last checkpoint); returns the results."""
    run_started = time.perf_counter()
    results_path = out_dir / "results.json"
    config = OmegaConf.to_container(cfg, resolve=True)
    if results_complete(results_path):
        results = json.loads(results_path.read_text())
        check_same_experiment(results["config"], config, out_dir)
        print(f"deepthin-run: {results_path} is complete; skipping")
        return results
    saved_config = out_dir / "checkpoint" / "config.json"
    if saved_config.exists():
        check_same_experiment(json.loads(saved_config.read_text()), config, out_dir)
    resumed_seconds = saved.train_seconds if (saved := saved_state(out_dir)) is not None else 0.0

    ratio = check_ratio(cfg.ratio)
    keras.utils.set_random_seed(int(cfg.seed))
    tf.config.experimental.enable_op_determinism()
    data_name = HydraConfig.get().runtime.choices.data
    builder = source_builder(cfg, partial(build, cfg.model, cfg.preset.name, VOCAB.size),
                             {"data": data_name, "model": cfg.model.name, "preset": cfg.preset.name})

    corpus = instantiate(cfg.data).load()
    decoder = lexicon_decoder(cfg.eval, corpus, VOCAB)  # a bad lexicon or LM fails before training
    examples = load_examples(cfg, corpus)
    batch_size = int(cfg.batch_size)
    full_batches = len(examples["train"]) >= batch_size

    def train_batches(epoch: int) -> tf.data.Dataset:
        return make_dataset(examples["train"], batch_size, shuffle=True, seed=int(cfg.seed) * 1000 + epoch,
                            drop_remainder=full_batches, sort_window=int(cfg.sort_window))

    dev = make_dataset(examples["dev"], batch_size)
    test = make_dataset(examples[check_choice("eval.split", cfg.eval.split, ("test", "dev"))], batch_size)
    steps_per_epoch = len(examples["train"]) // batch_size if full_batches else 1
    trainer_config = TrainerConfig(**cfg.trainer)

    strategy = instantiate(cfg.method)
    layers = cfg.model.compressed_layers
    total_steps = trainer_config.epochs * steps_per_epoch
    ratios, start = layer_ratios(cfg, strategy, builder, total_steps)
    model = strategy.build(builder, ratios, layers, total_steps, init=cfg.init)
    target = strategy.target_params(builder, ratio, layers)
    if cfg.init == "fit":  # the fitted model before fine-tuning, on the same metrics as the final one
        start["metrics_at_fit"] = {**dev_metrics(model, dev, VOCAB), **recognition_metrics(model, test, VOCAB,
                                                                                             decoder)}

    def within_budget(candidate: keras.Model) -> bool:
        return model_stored_params(candidate) <= target * (1 + RATIO_TOLERANCE)

    record_config(saved_config, config)
    model, state = Trainer(trainer_config, VOCAB.blank).fit(
        model, train_batches, dev, steps_per_epoch, out_dir, eligible=within_budget
    )
    started = time.perf_counter()
    metrics = recognition_metrics(model, test, VOCAB, decoder)
    frame_seconds = FeatureConfig(**cfg.model.features).hop_ms / 1000
    deployed = for_inference(model)  # each method's fast inference path, as it would be deployed
    metrics.update(speed_metrics(deployed, examples["test"], frame_seconds, int(cfg.eval.latency_repeats)))
    metrics.update({
        "dev_loss": state.best_dev_loss if state.best_epoch > 0 else state.history[-1]["dev_loss"],
        "best_epoch": state.best_epoch, "epochs_run": state.epoch,
        "stopped_early": state.stopped_early, "train_steps": state.steps,
        "train_seconds": state.train_seconds, "eval_seconds": time.perf_counter() - started,
    })
    # a resumed run adds the training time of the processes before it (their start-up is not known)
    metrics["wall_seconds"] = time.perf_counter() - run_started + resumed_seconds
    results = {
        "model": cfg.model.name, "preset": cfg.preset.name, "data": data_name,
        "method": strategy.name + variant_suffix(cfg.init, cfg.allocate), "ratio": ratio,
        "seed": int(cfg.seed),
        "method_details": strategy.details(total_steps), **start,
        "metrics": metrics,
        "size": size_metrics(model, target, out_dir / "model.keras"),
        "history": state.history,
        "corpus": corpus.summary().to_dict(orient="records"),
        "config": config,
        "overrides": list(HydraConfig.get().overrides.task),
        "git_commit": git_commit(), "packages": package_versions(),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "trained": is_trained(metrics),
        "complete": True,
    }
    results_path.write_text(json.dumps(results, indent=1, default=float))
    print(summary_line(results))
    return results


def load_examples(cfg: DictConfig, corpus: Any) -> dict[str, list[Any]]:
    """Each split's features, less the utterances CTC cannot align (runs and sensitivity analyses)."""
    features = FeatureConfig(**cfg.model.features)
    return ctc_examples(extract_features(corpus, features, cache_dir=cfg.cache_dir), cfg)


def ctc_examples(examples: dict[str, list[Any]], cfg: DictConfig) -> dict[str, list[Any]]:
    """Each split without the utterances CTC cannot align at the model's frame rate (counted, warned)."""
    stride = int(cfg.model.presets[cfg.preset.name].get("stride", 1))
    kept = {}
    for split, items in examples.items():
        kept[split], dropped = feasible(items, stride)
        if dropped:
            print(f"deepthin-run: warning: {dropped} of {len(items)} {split} utterances have more labels "
                  f"than frames after subsampling by {stride}; left out", file=sys.stderr)
        if not kept[split]:
            raise ValueError(f"no {split} utterance fits CTC at stride {stride}; allowed: a smaller stride")
    return kept


def summary_line(results: dict[str, Any]) -> str:
    m, s = results["metrics"], results["size"]
    line = (f"{results['model']}/{results['method']} ratio={results['ratio']}: WER {m['wer_lexicon']:.3f} "
            f"(greedy {m['wer_greedy']:.3f}), CER {m['cer_lexicon']:.3f} (greedy {m['cer_greedy']:.3f}), "
            f"test loss {m['test_loss']:.2f}, "
            f"stored {s['stored_params']} params ({s['stored_vs_target']:.3f} of target), "
            f"train {m['train_seconds']:.0f}s")
    if not results.get("trained", True):
        line += f"; NOT TRAINED: greedy output blank on {m['blank_fraction']:.0%} of test utterances"
    return line


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def _hydra_main(cfg: DictConfig) -> None:
    try:
        run(cfg, Path(HydraConfig.get().runtime.output_dir))
    except (ValueError, FileNotFoundError) as error:
        print(f"deepthin-run: error: {error}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    """Console entry point: validate the command line, then hand over to Hydra."""
    try:
        check_overrides(sys.argv[1:])
    except ValueError as error:
        print(f"deepthin-run: error: {error}", file=sys.stderr)
        sys.exit(2)
    _hydra_main()


if __name__ == "__main__":
    main()
