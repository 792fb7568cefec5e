# Entry points. `make run` and `make test` each install everything first
# (Debian packages via apt, then this package with pip), so they work on a
# fresh Debian/Ubuntu machine.
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Python 3.13 has no flashlight-text wheel: scripts/build_flashlight_text.sh builds it, with these tools.
PY313 := $(shell $(PYTHON) -c 'import sys; print(int(sys.version_info >= (3, 13)))' 2>/dev/null)
APT_PACKAGES := espeak-ng libsndfile1 \
	$(if $(filter 1,$(PY313)),g++ cmake python3-dev zlib1g-dev libbz2-dev liblzma-dev)

.PHONY: install system-deps run demo test lint ratios bench bench-train

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; fi

install: system-deps
	if [ "$(PY313)" = 1 ]; then PYTHON=$(PYTHON) scripts/build_flashlight_text.sh; fi
	$(PYTHON) -m pip install -q -e '.[dev]'

# Its own directory (outputs/, git-ignored): results/ holds the grid's run of the same experiment,
# which a clone would otherwise skip as finished.
run: install
	$(PYTHON) -m deepthin.experiment.run method=deepthin ratio=0.01 hydra.run.dir=outputs/make-run

demo: install
	$(PYTHON) scripts/demo.py

# PYTEST_ARGS: extra pytest arguments, e.g. PYTEST_ARGS='-m fsdd_full' (what .ci/run's second phase runs).
PYTEST_ARGS ?=

test: install
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)

lint:
	ruff check .

ratios:
	deepthin-ratios

bench:
	deepthin-bench --out results

bench-train:
	deepthin-bench --train --out results

# Sweeps (conf/experiment/*.yaml) and the report. Each sweep target runs the grid's compressed methods,
# then its dense baseline once per seed. Jobs run in parallel, one per core (hydra-joblib-launcher);
# LAUNCHER='hydra/launcher=submitit_slurm' sends them to a SLURM cluster instead. A re-run skips the
# runs whose results.json is complete, so a killed sweep loses only the runs that were in flight.
SWEEP = deepthin-run -m
LAUNCHER ?=

.PHONY: report sweep-cpu sweep-cpu-tfkaldi-synth sweep-cpu-deepspeech-synth sweep-cpu-tfkaldi-fsdd \
	sweep-paper-tfkaldi sweep-paper-deepspeech

# $(call sweep,EXPERIMENT): the grid, then its dense baseline.
sweep = $(SWEEP) +experiment=$(1) $(LAUNCHER) && $(SWEEP) '+experiment=[$(1),dense]' $(LAUNCHER)

sweep-cpu-tfkaldi-synth:
	$(call sweep,cpu_tfkaldi_synth)

sweep-cpu-tfkaldi-fsdd:
	$(call sweep,cpu_tfkaldi_fsdd)

sweep-cpu-deepspeech-synth:
	$(call sweep,cpu_deepspeech_synth)

sweep-paper-tfkaldi:
	$(call sweep,paper_tfkaldi)

sweep-paper-deepspeech:
	$(call sweep,paper_deepspeech)

# The CPU grid of issue 14 (conf/experiment/cpu_*.yaml: sizes and measured costs in each file; about 10 h on 2 cores).
sweep-cpu: sweep-cpu-tfkaldi-synth sweep-cpu-tfkaldi-fsdd sweep-cpu-deepspeech-synth

report:
	deepthin-report --results results

# Do the recipes learn? Dense and DeepThin at 0.1 and 0.02, seeds 0-2, on each CPU setting, then
# results/recipe_check.csv and the targets of issue 10 (recipes/*/README.md).
.PHONY: recipe-check
recipe-check:
	$(call sweep,recipe_check_tfkaldi_fsdd)
	$(call sweep,recipe_check_tfkaldi_synth)
	$(call sweep,recipe_check_deepspeech_synth)
	deepthin-recipe-check --results results

# Issue 15's measured claims (README, "Compressing a trained model"), on TFKaldi/FSDD (needs FSDD_ROOT) and
# DeepSpeech/synth at the cpu preset, seed 0: a dense run; every per-matrix method at 0.1 and 0.02 from scratch
# and fitted to that dense run then fine-tuned for the same epochs (a, b); DeepThin's sensitivity table, then
# DeepThin fitted at 0.02 and 0.01 with uniform and with allocated ratios (c); then the tables
# (scripts/fit_claims.py). Runs already complete are skipped.
.PHONY: claims-fit claims-fit-tfkaldi claims-fit-deepspeech
FIT_METHODS = deepthin,deepthin_aligned,lowrank,hashednet,pruning
# $(call fit_claims,DATA,MODEL,EXTRA): EXTRA as in the grid's config (DeepSpeech: the 3 h corpus), so the
# from-scratch runs are the grid's own (conf/experiment/cpu_*.yaml) and are skipped when it ran them.
fit_claims = dense=results/$(1)/$(2)-cpu/dense/ratio=1.0/seed=0; \
	deepthin-run data=$(1) model=$(2) $(3) method=dense ratio=1.0 && \
	$(SWEEP) data=$(1) model=$(2) $(3) method=$(FIT_METHODS) ratio=0.1,0.02 $(LAUNCHER) && \
	$(SWEEP) data=$(1) model=$(2) $(3) method=$(FIT_METHODS) ratio=0.1,0.02 init=fit from_run=$$dense $(LAUNCHER) && \
	$(PYTHON) -m deepthin.experiment.sensitivity from_run=$$dense method=deepthin 'ratios=[0.002,0.005,0.01,0.02,0.05,0.1]' && \
	$(SWEEP) data=$(1) model=$(2) $(3) method=deepthin ratio=0.01 init=fit from_run=$$dense $(LAUNCHER) && \
	$(SWEEP) data=$(1) model=$(2) $(3) method=deepthin ratio=0.02,0.01 init=fit from_run=$$dense allocate=sensitivity \
		sensitivity_table=results/$(1)/$(2)-cpu/sensitivity/deepthin/seed=0/sensitivity.csv $(LAUNCHER) && \
	$(PYTHON) scripts/fit_claims.py --data $(1) --model $(2)

claims-fit: claims-fit-tfkaldi claims-fit-deepspeech

claims-fit-tfkaldi:
	$(call fit_claims,fsdd,tfkaldi)

claims-fit-deepspeech:
	$(call fit_claims,synth,deepspeech,data.hours=3.0)
