# The README's two commands are `make train` and `make test`; both create the virtual
# environment on first use (torch first, from PyTorch's CPU index, so that pip pulls no CUDA wheels).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
# Where torch comes from: PyTorch's CPU-only wheels by default (about 200 MB instead of PyPI's CUDA build, several
# GB on Linux). `make install TORCH_INDEX=` takes PyPI's default build (CUDA on Linux), a CUDA index picks that CUDA
# version (`TORCH_INDEX=https://download.pytorch.org/whl/cu126`). Where the index cannot be reached within
# TORCH_PROBE_TIMEOUT seconds (offline mirrors, firewalls), pip's configured indexes and local wheels are used.
# A torch already importable in $(VENV) (a GPU build, say) is kept in every case.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_PROBE_TIMEOUT ?= 5
TORCH_PROBE = $(PY) -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]))"
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?= -n 2 --durations=15

.PHONY: install train test test-fast lint format type doc bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	@if $(PY) -c "import torch" 2>/dev/null; then \
		echo "make install: keeping torch $$($(PY) -c 'import torch; print(torch.__version__)' 2>/dev/null) of $(VENV)"; \
	elif [ -n "$(TORCH_INDEX)" ] && $(TORCH_PROBE) "$(TORCH_INDEX)/torch/" $(TORCH_PROBE_TIMEOUT) 2>/dev/null; then \
		echo "$(PY) -m pip install \"$(TORCH_SPEC)\" --index-url $(TORCH_INDEX)"; \
		$(PY) -m pip install "$(TORCH_SPEC)" --index-url "$(TORCH_INDEX)"; \
	else \
		[ -z "$(TORCH_INDEX)" ] || echo "make install: $(TORCH_INDEX) cannot be reached;" \
			"torch from pip's configured indexes (PyPI: the CUDA build on Linux, unless a local wheel matches)"; \
		echo "$(PY) -m pip install \"$(TORCH_SPEC)\""; \
		$(PY) -m pip install "$(TORCH_SPEC)"; \
	fi
	$(PY) -m pip install -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# rl-zoo training of MaxEntPPO on GridWorld with the packaged config (zoo_configs/maxent_ppo.yml), saved to
# logs/maxent_ppo/. --verbose 0 --progress: a progress bar and the evaluations (return, episode length, success
# rate every 5000 steps) instead of SB3's logger table after every rollout; drop them to see the tables.
train: install
	$(PY) -m sb3_maxent.train --algo maxent_ppo --env GridWorld-v0 --seed 0 --num-threads 1 \
		--eval-freq 5000 --eval-episodes 20 -f logs --verbose 0 --progress

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
	OMP_NUM_THREADS=1 $(PY) benchmarks/gridworld_tabular.py --quick
	OMP_NUM_THREADS=1 $(PY) benchmarks/gridworld_exploration.py --quick
	OMP_NUM_THREADS=1 $(PY) benchmarks/soft_value_convergence.py --quick
	OMP_NUM_THREADS=1 $(PY) benchmarks/discrete_sac_target_entropy.py --quick
	OMP_NUM_THREADS=1 $(PY) benchmarks/auto_coef.py --quick
	OMP_NUM_THREADS=1 $(PY) benchmarks/fruitbot_paper.py --quick

clean:
	rm -rf docs/_build build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
