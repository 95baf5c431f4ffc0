# The two commands a new user types: `make repro` and `make test`.
# Both create .venv and install the project on first use; later runs reuse it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PATH := $(CURDIR)/$(BIN):$(PATH)

PLOTS_TEMPLATE := .dvc/tmp/offline_plots.html

.PHONY: install repro test test-fast bench plots browser clean-venv

install: $(STAMP)

# pip byte-compiles one file at a time (half of a fresh install's 90 s): compileall does it on every
# core instead. torch's py312_intrinsics.py is Python 3.12 syntax, never imported on 3.11.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --no-compile -e .
	$(BIN)/python -m compileall -q -j 0 -x py312_intrinsics $(VENV)/lib
	touch $(STAMP)

repro: $(STAMP)
	$(BIN)/dvc repro

# Both spread the tests over the cores (pytest-xdist), a whole module to a worker (its fixtures are
# built once), in collection order: under xdist, conftest.py puts the slow tests first.
XDIST := -n auto --dist loadscope --no-loadscope-reorder

test: $(STAMP) browser
	$(BIN)/python -m pytest -q $(XDIST)

# Headless Chromium for the tests that look at the report as a person does: installed from
# Debian when missing and run as root (CI, a fresh machine); elsewhere those tests skip.
browser:
	@if ! command -v chromium >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the rendering tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium fonts-dejavu-core >/dev/null; \
	fi

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" $(XDIST)

# `dvc plots show` with Vega's scripts inlined (DVC's own page loads them from a CDN): writes
# dvc_plots/index.html, and points plots.html_template at the template so later `dvc plots
# show` and `dvc plots diff` draw offline too.
plots: $(PLOTS_TEMPLATE)
	$(BIN)/dvc config --local plots.html_template $(PLOTS_TEMPLATE:.dvc/%=%)
	$(BIN)/dvc plots show

$(PLOTS_TEMPLATE): $(STAMP)
	$(BIN)/evolcoder plots-template $@

bench: $(STAMP)
	for script in bench/*_speed.py bench/train_packing.py; do name=$$(basename $$script .py); \
	  echo "== bench.$$name"; $(BIN)/python -m bench.$$name || exit 1; done

clean-venv:
	rm -rf $(VENV)
