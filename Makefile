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

# rl-zoo training of MaxEntPPO on GridWorld with the packaged config (zoo_configs/maxent_ppo.yml);
# prints the evaluation (return, success rate) every 5000 steps and saves to logs/maxent_ppo/
train: install
	$(PY) -m sb3_maxent.train --algo maxent_ppo --env GridWorld-v0 --seed 0 --num-threads 1 \
		--eval-freq 5000 --eval-episodes 20 -f logs

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

# quick versions of every benchmark (written to benchmarks/results/*_quick.*, not committed; the full
# runs and their commands are in docs/benchmarks.md). Not part of CI.
bench: install
	OMP_NUM_THREADS=1 $(PY) benchmarks/overhead.py --quick
	OMP_NUM_THREADS=1 $(PY) benchmarks/throughput.py --quick
	OMP_NUM_THREADS=1 $(PY) benchmarks/gridworld_exploration.py --quick
	OMP_NUM_THREADS=1 $(PY) benchmarks/soft_value_convergence.py --quick
	OMP_NUM_THREADS=1 $(PY) benchmarks/fruitbot_paper.py --quick

clean:
	rm -rf docs/_build build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
