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

# Bytecode is written as modules are first imported, once, where they lie (.venv, the repo's
# __pycache__, which git and DVC ignore), also where the environment says not to (CI's does):
# without it every process compiles torch and transformers again, and compiling the whole
# environment up front (22,700 files) took 52 s of a fresh install, for the 7,300 the tests import.
unexport PYTHONDONTWRITEBYTECODE

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --no-compile -e .
	touch $(STAMP)

repro: $(STAMP)
	$(BIN)/dvc repro

# Both spread the tests over the cores (pytest-xdist), a whole module to a worker (its fixtures are
# built once), in collection order: under xdist, conftest.py puts the slow tests first.
XDIST := -n auto --dist loadscope --no-loadscope-reorder

# The install and the browser (an apt-get) are independent: side by side, then the tests.
test:
	$(MAKE) --no-print-directory --jobs=2 install browser
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
