"""What the paper reports and how it measures it: the report compares our runs against these.

The metric per model is the paper's (lower is better): WER from a lexicon decoder for TFKaldi and
test (CTC) loss for DeepSpeech. CER (greedy) is our second view of every model: WER saturates near 1
long before CER does, so CER still separates methods where WER cannot.
"""

from __future__ import annotations

PRIMARY_METRIC = {"tfkaldi": "wer_lexicon", "deepspeech": "test_loss"}
DEFAULT_METRIC = "wer_lexicon"
#: The WER whose saturation the report points out: the paper's (decoded with the corpus's lexicon).
REPORTED_WER = "wer_lexicon"
SECONDARY_METRIC = "cer_greedy"
#: A seed mean of WER at or above this counts as saturated (almost no word right).
SATURATED_WER = 0.95
METRIC_LABELS = {"wer_lexicon": "WER (lexicon)", "cer_lexicon": "CER (lexicon)", "wer_greedy": "WER (greedy)",
                 "cer_greedy": "CER (greedy)", "test_loss": "test loss (CTC)"}
#: Methods in plotting and table order.
METHODS = ("dense", "deepthin", "deepthin-aligned", "lowrank", "hashednet", "pruning", "handtuned")
#: DeepThin's baselines in the paper's order of margin, largest first: the paper's ordering claim.
BASELINES = ("lowrank", "pruning", "handtuned", "hashednet")
#: Compared with DeepThin like a baseline, though the paper has no number for it: does the aligned
#: policy (fast factored inference) keep the paper policy's accuracy?
VARIANTS = ("deepthin-aligned",)
BASELINE_NAMES = {"lowrank": "rank factorization", "pruning": "magnitude pruning",
                  "handtuned": "hand-tuned", "hashednet": "HashedNets",
                  "deepthin-aligned": "DeepThin, aligned policy"}
#: The paper's published average relative improvement of DeepThin over each baseline.
PAPER_IMPROVEMENT = {
    "tfkaldi": {"lowrank": 0.60, "pruning": 0.57, "handtuned": 0.23, "hashednet": 0.06},
    "deepspeech": {"lowrank": 0.28, "pruning": 0.27, "handtuned": 0.20, "hashednet": 0.12},
}
#: The paper-scale grid of conf/experiment/paper_*.yaml (what the CPU grids cut from).
PAPER_GRID = {"preset": "paper", "ratios": (0.005, 0.01, 0.02, 0.05, 0.1, 0.2), "seeds": 3,
              "methods": METHODS}
#: What ``results.json``'s ``method_details.step_convention`` holds for pruning runs that follow
#: TFMOT's step convention (deepthin.methods.pruning.STEP_CONVENTION; not imported, to keep the
#: report free of TensorFlow).
STEP_CONVENTION = "tfmot"


def metric_of(model: str) -> str:
    """The paper's metric for ``model``."""
    return PRIMARY_METRIC.get(model, DEFAULT_METRIC)
