"""``deepthin-sensitivity``: how much each layer of a trained model tolerates compression.

    deepthin-sensitivity from_run=PATH method=deepthin ratios=[0.005,0.01,0.02,0.05,0.1] [out=DIR]

Distiller's sensitivity analysis for the methods here: for each compressible layer of the finished
dense run in ``from_run`` and each ratio, that layer alone is compressed with ``init=fit`` (no
fine-tuning) and the model's dev CTC loss and greedy CER are measured. It writes ``sensitivity.csv``
(one row per layer and ratio, with the dense model's numbers beside them and the loss increase)
and ``sensitivity.png`` (dev loss and CER against the ratio, one line per layer) into ``out``,
by default ``results/<data>/<model>-<preset>/sensitivity/<method>/seed=<seed>`` of the source run;
the source run is only read. ``deepthin-run allocate=sensitivity sensitivity_table=.../sensitivity.csv``
turns the table into per-layer ratios (:mod:`deepthin.allocate`). The data, model and preset are
the source run's (its recorded config); ``method`` picks ``conf/method/<method>.yaml``, options
included. Bad input ends in one line and exit status 2, as ``deepthin-run``'s does.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import keras
import pandas as pd
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from deepthin.compress import _select, compress
from deepthin.conf_dir import CONF_DIR
from deepthin.data import VOCAB
from deepthin.experiment.datamodule import SpeechData
from deepthin.experiment.evaluate import dev_metrics
from deepthin.experiment.method_confs import per_matrix_methods
from deepthin.experiment.records import current_shape
from deepthin.experiment.run import choices
from deepthin.experiment.start import load_source
from deepthin.experiment.strategies import PerMatrix
from deepthin.size import size_report
from deepthin.validation import check_choice, check_ratio

DEFAULTS = {"from_run": None, "method": "deepthin", "ratios": [0.005, 0.01, 0.02, 0.05, 0.1], "out": None}


def parse(argv: list[str]) -> DictConfig:
    """``key=value`` arguments over :data:`DEFAULTS`, checked (one-line errors)."""
    args = OmegaConf.merge(DEFAULTS, OmegaConf.from_cli(argv)) if argv else OmegaConf.create(DEFAULTS)
    unknown = sorted(set(args) - set(DEFAULTS))
    if unknown or args.from_run is None:
        raise ValueError(f"unknown or missing option(s) {', '.join(unknown) or 'from_run'}; allowed: "
                         "from_run=PATH (required), method=NAME, ratios=[R,...], out=DIR")
    check_choice("method", args.method, choices("method"))
    if not OmegaConf.is_list(args.ratios) or not args.ratios:
        raise ValueError(f"ratios={args.ratios} is not a list; allowed: ratios=[R,...], each in (0, 1]")
    args.ratios = sorted(check_ratio(r) for r in args.ratios)
    return args


def measure(model: keras.Model, strategy: PerMatrix, ratios: list[float], dev: Any,
            layers: str) -> pd.DataFrame:
    """One row per compressible layer and ratio: that layer alone fitted at that ratio, on dev."""
    dense = dev_metrics(model, dev, VOCAB)
    chosen = _select(model, layers)
    names = [layer.name for layer in model.layers if layer.name in chosen]  # in the model's order
    rows = []
    for name in names:
        for ratio in ratios:
            small = compress(model, strategy.method, ratio, [name], init="fit", **strategy.method_options(1))
            total = size_report(small).iloc[-1]
            rows.append({"method": strategy.name, "layer": name, "ratio": ratio,
                         "stored_params": int(total["stored_params"]),
                         "original_params": int(total["original_params"]), **dev_metrics(small, dev, VOCAB),
                         "dense_dev_loss": dense["dev_loss"], "dense_cer_greedy": dense["cer_greedy"]})
    table = pd.DataFrame(rows)
    table["loss_increase"] = table["dev_loss"] - table["dense_dev_loss"]
    return table


def plot(table: pd.DataFrame, path: Path) -> None:
    """Dev loss and greedy CER against the ratio, one line per layer, the dense model dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("dev_loss", "cer_greedy"), strict=True):
        for layer, rows in table.groupby("layer", sort=False):
            ax.plot(rows["ratio"], rows[metric], marker="o", label=layer)
        ax.axhline(table[f"dense_{metric}"].iloc[0], color="black", linestyle="--", label="dense")
        ax.set(xscale="log", xlabel="ratio (that layer alone, fitted, not fine-tuned)", ylabel=metric)
    axes[0].legend()
    fig.suptitle(f"sensitivity of each layer to {table['method'].iloc[0]}")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def sensitivity(argv: list[str]) -> Path:
    """Run the analysis the arguments describe; return the path of ``sensitivity.csv``."""
    args = parse(argv)
    strategy = instantiate(OmegaConf.load(CONF_DIR / "method" / f"{args.method}.yaml"))
    if not isinstance(strategy, PerMatrix):
        raise ValueError(f"method {args.method} is not a per-matrix method; allowed: "
                         f"{', '.join(per_matrix_methods())}")
    results, model = load_source(args.from_run, {})
    cfg = OmegaConf.create(current_shape(results["config"]))
    keras.utils.set_random_seed(int(cfg.seed))
    dev = SpeechData.from_config(cfg, instantiate(cfg.data).load()).dev
    table = measure(model, strategy, list(args.ratios), dev, cfg.model.compressed_layers)
    out = Path(args.out or f"results/{results['data']}/{results['model']}-{results['preset']}/sensitivity/"
                           f"{strategy.name}/seed={results['seed']}")
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "sensitivity.csv", index=False)
    plot(table, out / "sensitivity.png")
    return out / "sensitivity.csv"


def main() -> None:
    """Console entry point: one line and exit status 2 on bad input."""
    try:
        print(f"deepthin-sensitivity: wrote {sensitivity(sys.argv[1:])}")
    except (ValueError, FileNotFoundError) as error:
        print(f"deepthin-sensitivity: error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
