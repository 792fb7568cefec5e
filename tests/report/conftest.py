"""Hand-made results trees: runs whose metrics are known, so the report's numbers can be checked."""

import json
from pathlib import Path

import pytest

from deepthin.conf_dir import schedule_suffix

RATIOS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
SEEDS = (0, 1, 2)
#: WER (lexicon) per method at seed s: base + 0.01 s at every ratio (dense: ratio 1.0).
BASE_WER = {"dense": 0.10, "deepthin": 0.20, "lowrank": 0.40, "pruning": 0.30, "handtuned": 0.15}


def write_run(root: Path, method: str, ratio: float, seed: int, wer: float, *, data: str = "fsdd",
              model: str = "tfkaldi", trained: bool = True, complete: bool = True, epochs: int = 8,
              size: dict | None = None) -> Path:
    """One run's results.json as deepthin-run writes it (the fields the report reads), of the cpu
    preset (8 epochs) trained for ``epochs``; ``size``: more fields of its ``size`` block."""
    metrics = {"wer_lexicon": wer, "cer_lexicon": wer / 2, "wer_greedy": wer * 1.5, "cer_greedy": wer / 3,
               "test_loss": 10 * wer, "dev_loss": 10 * wer, "blank_fraction": 0.0 if trained else 1.0,
               "latency_per_audio_second": 0.001 * (ratio if method != "dense" else 1.0) + 1e-4,
               "train_seconds": 100.0, "eval_seconds": 5.0}
    results = {"data": data, "model": model, "preset": "cpu", "method": method, "ratio": ratio, "seed": seed,
               "metrics": metrics, "size": {"stored_params": int(1e6 * ratio),
                                            "model_file_bytes": int(4e6 * ratio), **(size or {})},
               "config": {"trainer": {"epochs": epochs}, "preset": {"epochs": 8}}, "trained": trained,
               "git_commit": "abc123",
               "overrides": [f"method={method}", f"ratio={ratio}", f"seed={seed}",
                             "+experiment=cpu_tfkaldi_fsdd"],
               "finished_at": "2026-11-30T00:00:00+00:00", "complete": complete}
    setting = f"{model}-cpu{schedule_suffix(epochs, 8)}"
    path = root / data / setting / method / f"ratio={ratio}" / f"seed={seed}" / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results))
    return path


def hashednet_wer(ratio_index: int, seed: int) -> float:
    """DeepThin's WER, 0.01 better or worse by turns: a difference no test can separate."""
    return BASE_WER["deepthin"] + 0.01 * seed + (0.01 if (ratio_index + seed) % 2 else -0.01)


def make_grid(root: Path) -> Path:
    """A full synthetic grid on one setting: DeepThin beats lowrank and pruning at every point (by
    known margins), loses to hand-tuned at every point, ties HashedNets; HashedNets lacks ratio 0.2."""
    for seed in SEEDS:
        write_run(root, "dense", 1.0, seed, BASE_WER["dense"] + 0.01 * seed)
        for i, ratio in enumerate(RATIOS):
            for method in ("deepthin", "lowrank", "pruning", "handtuned"):
                write_run(root, method, ratio, seed, BASE_WER[method] + 0.01 * seed)
            if ratio != 0.2:
                write_run(root, "hashednet", ratio, seed, hashednet_wer(i, seed))
    return root


@pytest.fixture
def grid(tmp_path) -> Path:
    return make_grid(tmp_path / "results")


@pytest.fixture(scope="package")
def built_grid(tmp_path_factory) -> Path:
    """The synthetic grid with its report built (read-only for the tests that share it)."""
    from deepthin.report.cli import build

    root = make_grid(tmp_path_factory.mktemp("built") / "results")
    build(root, ["--results", str(root)])
    return root
