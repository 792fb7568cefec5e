# Entry points. `make run` and `make test` install everything first, so they work on a fresh Debian or
# Ubuntu machine, as root or as a user with sudo: the missing Debian packages (apt), then a project virtual
# environment, .venv (git-ignored), holding this package (editable) and its dependencies. Nothing goes
# into the system interpreter's site-packages, which Debian 12 and Ubuntu 24.04 refuse to pip (PEP 668).
# .venv is made once, with uv when it is on PATH, else with `python3 -m venv`, from the python3 found
# first on PATH (pyenv's included; PYTHON=python3.12 picks another), and reinstalled only when
# pyproject.toml changes (the stamp .venv/.installed): a re-run starts in seconds. `rm -rf .venv` starts over.
PYTHON ?= python3
VENV := .venv
# What every target runs: the environment's interpreter, and its bin/ first on PATH (deepthin-run, ...).
PY := $(CURDIR)/$(VENV)/bin/python
BASE_PYTHON := $(shell command -v $(PYTHON) 2>/dev/null)
UV := $(shell command -v uv 2>/dev/null)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# PYTHON's version, real executable and whether it has ensurepip, e.g. "3.11 /usr/bin/python3.11 1".
PY_INFO := $(shell $(BASE_PYTHON) -c 'import importlib.util as u, os, sys; \
	print("%d.%d" % sys.version_info[:2], os.path.realpath(sys.executable), int(bool(u.find_spec("ensurepip"))))' \
	2>/dev/null)
PY_VERSION := $(word 1,$(PY_INFO))
# Python 3.13 has no flashlight-text wheel: scripts/build_flashlight_text.sh builds it, with these tools.
PY313 := $(if $(filter 3.13,$(PY_VERSION)),1,0)
# `python3 -m venv` needs ensurepip, which Debian and Ubuntu ship apart, in python3.X-venv (uv needs none);
# with no python3 at all, Debian's python3.
VENV_PACKAGES := $(if $(BASE_PYTHON),$(if $(UV)$(filter 1,$(word 3,$(PY_INFO))),,\
	$(if $(filter /usr/%,$(word 2,$(PY_INFO))),python$(PY_VERSION)-venv)),python3 python3-venv)
APT_PACKAGES := espeak-ng libsndfile1 $(VENV_PACKAGES) \
	$(if $(filter 1,$(PY313)),g++ cmake python3-dev zlib1g-dev libbz2-dev liblzma-dev)
# A recipe that fails leaves no half-made .venv/bin/python or stamp behind.
.DELETE_ON_ERROR:

.PHONY: install system-deps run demo test test-slow lint ratios bench bench-train

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "make: installing Debian packages:$$missing"; $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

# Resolved again here: the python3 that system-deps may just have installed.
$(PY): | system-deps
	@rm -rf $(VENV); \
	base=$$(command -v $(PYTHON)) || { echo "make: no $(PYTHON) on PATH; PYTHON=python3.X picks one" >&2; exit 2; }; \
	$$base -c 'import sys; sys.exit(not (3, 10) <= sys.version_info < (3, 14))' || { \
		echo "make: $$base is Python $$($$base -V 2>&1); deepthin needs 3.10-3.13: PYTHON=python3.X picks one" >&2; \
		exit 2; }; \
	echo "make: creating $(VENV) from $$base ($$($$base -V 2>&1))"; \
	$(if $(UV),uv venv -q --seed --python "$$base" $(VENV),"$$base" -m venv $(VENV) && \
		$(PY) -m pip install -q --upgrade pip)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(if $(filter 1,$(PY313)),PYTHON=$(PY) scripts/build_flashlight_text.sh)
	$(if $(UV),uv pip install -q --python $(PY),$(PY) -m pip install -qq) -e '.[dev]'
	touch $@

install: system-deps $(VENV)/.installed

# Its own directory (outputs/, git-ignored): results/ holds the grid's run of the same experiment,
# which a clone would otherwise skip as finished.
run: install
	$(PY) -m deepthin.experiment.run method=deepthin ratio=0.01 hydra.run.dir=outputs/make-run

demo: install
	$(PY) scripts/demo.py

# `make test`: the suite but its tests marked slow (pyproject.toml), under 10 minutes on 2 cores;
# `make test-slow`: those (CI runs both). PYTEST_ARGS: extra pytest arguments, e.g. a test file, or
# PYTEST_ARGS='-m fsdd_full' (what .ci/run's last phase runs; a -m there replaces the slow filter).
PYTEST_ARGS ?=

test: install
	$(PY) -m pytest -q -m 'not slow' $(PYTEST_ARGS)

test-slow: install
	$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

lint: install
	ruff check .

ratios: install
	deepthin-ratios

bench: install
	deepthin-bench --out results

bench-train: install
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

sweep-cpu-tfkaldi-synth: install
	$(call sweep,cpu_tfkaldi_synth)

sweep-cpu-tfkaldi-fsdd: install
	$(call sweep,cpu_tfkaldi_fsdd)

sweep-cpu-deepspeech-synth: install
	$(call sweep,cpu_deepspeech_synth)

sweep-paper-tfkaldi: install
	$(call sweep,paper_tfkaldi)

sweep-paper-deepspeech: install
	$(call sweep,paper_deepspeech)

# The CPU grid of issue 14 (conf/experiment/cpu_*.yaml: sizes and measured costs in each file; about 10 h on 2 cores).
sweep-cpu: sweep-cpu-tfkaldi-synth sweep-cpu-tfkaldi-fsdd sweep-cpu-deepspeech-synth

report: install
	deepthin-report --results results

# Do the recipes learn? Dense and DeepThin at 0.1 and 0.02, seeds 0-2, on each CPU setting, then
# results/recipe_check.csv and the targets of issue 10 (recipes/*/README.md).
.PHONY: recipe-check
recipe-check: install
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
	$(PY) -m deepthin.experiment.sensitivity from_run=$$dense method=deepthin 'ratios=[0.002,0.005,0.01,0.02,0.05,0.1]' && \
	$(SWEEP) data=$(1) model=$(2) $(3) method=deepthin ratio=0.01 init=fit from_run=$$dense $(LAUNCHER) && \
	$(SWEEP) data=$(1) model=$(2) $(3) method=deepthin ratio=0.02,0.01 init=fit from_run=$$dense allocate=sensitivity \
		sensitivity_table=results/$(1)/$(2)-cpu/sensitivity/deepthin/seed=0/sensitivity.csv $(LAUNCHER) && \
	$(PY) scripts/fit_claims.py --data $(1) --model $(2)

claims-fit: claims-fit-tfkaldi claims-fit-deepspeech

claims-fit-tfkaldi: install
	$(call fit_claims,fsdd,tfkaldi)

claims-fit-deepspeech: install
	$(call fit_claims,synth,deepspeech,data.hours=3.0)

# The limit study of issue 27 (point 6; conf/experiment/limit_*.yaml, sizes and costs there), under
# results/limit/ (study=limit), seed 0: the trained dense model; every per-matrix method fitted to it and not
# trained (0 epochs); the hand-designed net at depths 1-4 on the recipe's budget, trained like the grid.
# `make report` adds its table to REPORT.md. Runs already complete are skipped.
.PHONY: limit-tfkaldi-fsdd limit-tfkaldi-synth
# $(call limit,EXPERIMENT,DENSE_RUN): DENSE_RUN is where the first sweep writes the dense run.
limit = $(SWEEP) '+experiment=[$(1),dense]' $(LAUNCHER) && \
	$(SWEEP) '+experiment=[$(1),_limit_fit]' from_run=$(2) $(LAUNCHER) && \
	$(SWEEP) '+experiment=[$(1),_limit_depth]' $(LAUNCHER)

limit-tfkaldi-fsdd:
	$(call limit,limit_tfkaldi_fsdd,results/limit/fsdd/tfkaldi-cpu-12epochs/dense/ratio=1.0/seed=0)

limit-tfkaldi-synth:
	$(call limit,limit_tfkaldi_synth,results/limit/synth/tfkaldi-cpu/dense/ratio=1.0/seed=0)

# Issue 27, a fair comparison: each method's learning rate and dropout searched on dev only (runs under
# results/tuning/, never counted as grid runs), the picks written where the fair grids load them
# (conf/tuned/<setting>/<method>.yaml), then those grids (results/fair/). Sizes and costs in each
# config (conf/experiment/tune_*.yaml, fair_*.yaml). FSDD needs FSDD_ROOT (or data.root=...). A re-run
# skips the runs already complete, as the grid's sweeps do.
.PHONY: tune-tfkaldi-fsdd tune-tfkaldi-synth tune-pick sweep-fair-tfkaldi-fsdd sweep-fair-tfkaldi-synth \
	sweep-fair-deepspeech-synth sweep-paper-tfkaldi-fsdd

tune-tfkaldi-fsdd:
	$(SWEEP) +experiment=tune_tfkaldi_fsdd $(LAUNCHER)

tune-tfkaldi-synth:
	$(SWEEP) +experiment=tune_tfkaldi_synth $(LAUNCHER)

tune-pick:
	deepthin-tune-pick --results results

# $(call fair_sweep,EXPERIMENT,SETTING): the grid and its dense baseline, refused until `make tune-pick`
# has written the setting's picks (else every method would silently train with the defaults).
fair_sweep = test -d conf/tuned/$(2) || { echo "no picks in conf/tuned/$(2): run make tune-pick first" >&2; \
	exit 2; }; $(call sweep,$(1))

sweep-fair-tfkaldi-fsdd:
	$(call fair_sweep,fair_tfkaldi_fsdd,fsdd_tfkaldi-cpu-12epochs)

sweep-fair-tfkaldi-synth:
	$(call fair_sweep,fair_tfkaldi_synth,synth_tfkaldi-cpu-30epochs-plateau)

# not in the search: every method keeps the defaults (conf/experiment/fair_deepspeech_synth.yaml)
sweep-fair-deepspeech-synth:
	$(call sweep,fair_deepspeech_synth)

# Issue 29: the paper's TFKaldi size (6 x 2048) on FSDD, every method with the picks of the cpu preset's
# search (conf/experiment/paper_cpu.yaml: about 15 CPU-hours a seed; chunks there).
sweep-paper-tfkaldi-fsdd:
	$(call fair_sweep,paper_cpu,fsdd_tfkaldi-cpu-12epochs)
