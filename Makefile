# Entry points. `make run` and `make test` each install everything first
# (Debian packages via apt, then this package with pip), so they work on a
# fresh Debian/Ubuntu machine.
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := espeak-ng libsndfile1

.PHONY: install system-deps run demo test lint ratios bench

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; fi

install: system-deps
	$(PYTHON) -m pip install -q -e '.[dev]'

run: install
	$(PYTHON) -m deepthin.experiment.run method=deepthin ratio=0.01

demo: install
	$(PYTHON) scripts/demo.py

test: install
	$(PYTHON) -m pytest -q

lint:
	ruff check .

ratios:
	deepthin-ratios

bench:
	deepthin-bench --out results
