# The README's two commands are `make train` and `make test`; both create the virtual
# environment on first use (CPU build of torch first, so pip never pulls CUDA wheels).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?= -n 2 --durations=15

.PHONY: install train test test-fast lint format type doc bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install "$(TORCH_SPEC)"
	$(PY) -m pip install -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

train: install
	$(PY) -m sb3_maxent.examples.train_cartpole

test: install
	OMP_NUM_THREADS=1 $(PY) -m pytest $(PYTEST_ARGS)

test-fast: install
	OMP_NUM_THREADS=1 $(PY) -m pytest $(PYTEST_ARGS) -m "not slow"

lint: install
	$(PY) -m ruff check sb3_maxent tests benchmarks docs
	$(PY) -m ruff format --check sb3_maxent tests benchmarks docs

format: install
	$(PY) -m ruff check --fix sb3_maxent tests benchmarks docs
	$(PY) -m ruff format sb3_maxent tests benchmarks docs

type: install
	$(PY) -m mypy

doc: install
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

bench: install
	OMP_NUM_THREADS=1 $(PY) benchmarks/overhead.py --quick

clean:
	rm -rf docs/_build build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
