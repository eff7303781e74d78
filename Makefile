# lecturekit: two commands. `make lab` to teach, `make test` to check everything.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lecturekit-installed
NB ?= 05

# The lecture images: CI and the developers have them beside the checkout; elsewhere they are
# downloaded once into the user cache (see lecturekit/data.py).
ifneq ($(wildcard ../shared/data/images),)
export LECTUREKIT_DATA ?= $(abspath ../shared/data/images)
endif

NBVAL_FLAGS := --nbval-lax --nbval-current-env --nbval-sanitize-with .ci/nbval_sanitize.cfg --nbval-cell-timeout=900

.PHONY: setup lab test test-backbones unit notebooks browser browser-deps bench present slides clean-notebooks check-notebooks execute-notebooks

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e ".[test,present]"
	@touch $(STAMP)

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

test: setup check-notebooks browser-deps
	$(BIN)/python -m pytest -q tests notebooks $(NBVAL_FLAGS) -m "not backbones" --durations=25

# Every notebook in the random-weight test mode on VGG-19 and GoogLeNet too, at 64 px (make test runs
# SqueezeNet 1.1). About 20 minutes on 2 cores (measured 2026-12-04: 16 notebooks in 19.9 min).
test-backbones: setup
	$(BIN)/python -m pytest -q tests/test_notebooks.py -m backbones --tb=native --durations=0

# Debian's Chromium for the browser test (playwright comes from PyPI with the test extras).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the browser test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: the browser test will be skipped"; \
	  else echo "chromium is not installed and cannot be installed here: the browser test will be skipped"; fi; }

unit: setup
	$(BIN)/python -m pytest -q tests -m "not browser"

# Every cell with real weights, the figure-only cells too (make test runs those in the test mode only).
notebooks: setup
	LECTUREKIT_FIGURE_CELLS=1 $(BIN)/python -m pytest -q notebooks $(NBVAL_FLAGS)

browser: setup browser-deps
	$(BIN)/python -m pytest -q tests -m browser

bench: setup
	$(BIN)/python bench/run_all.py

# Present lesson NB offline: its stored figures, with the set-up and the explorers live (nothing installed now).
present: setup
	$(BIN)/voila --strip_sources=True \
	  $$($(BIN)/python tools/present.py notebook notebooks/$(NB)_*.ipynb)

# Each lesson as a self-contained HTML slide deck, and its figures as PNG files, in build/slides/.
slides: setup
	$(BIN)/python tools/present.py slides notebooks/*.ipynb

# Re-execute every notebook and store its outputs (run after changing a lesson).
execute-notebooks: setup
	$(BIN)/python tools/notebooks.py execute notebooks/*.ipynb

clean-notebooks: setup
	$(BIN)/python tools/notebooks.py clean notebooks/*.ipynb

check-notebooks: setup
	$(BIN)/python tools/notebooks.py check notebooks/*.ipynb
