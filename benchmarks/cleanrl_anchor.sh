#!/usr/bin/env bash
# CleanRL's ppo_procgen.py beside the IMPALA anchor (docs/benchmarks.md, "The IMPALA anchor"): the Procgen
# paper's PPO (ent_coef 0.01, IMPALA CNN, 64 environments x 256 steps, gamma 0.999, lr 5e-4, 3 epochs of 8
# minibatches) written independently of this package, with ppo2's clipped value loss and Adam epsilon 1e-5,
# on FruitBot in easy mode. CleanRL's file is run, not copied into this repository: this script copies it into
# the run folder (logs/cleanrl_anchor/) and sets its training levels to the anchor's 200 (CleanRL's script
# trains on the full level distribution). It writes no checkpoints: a run cut short keeps what TensorBoard
# flushed, and benchmarks/impala_anchor.py compares the steps it reached.
#
# It needs a Python with the dependencies of CleanRL's procgen script, which uses gym 0.23's wrappers (gym
# 0.26 changed reset()), kept apart from this package's environment:
#   python -m venv .venv-cleanrl
#   .venv-cleanrl/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
#   .venv-cleanrl/bin/pip install "gym==0.23.1" tyro tensorboard "numpy<2" procgen-mirror   # Python 3.11-3.12;
#                                                                   # procgen==0.10.7 on Python <= 3.10
# Usage:
#   git clone https://github.com/vwxyzjn/cleanrl /tmp/cleanrl
#   CLEANRL_PYTHON=.venv-cleanrl/bin/python bash benchmarks/cleanrl_anchor.sh /tmp/cleanrl [TIMESTEPS] [SEED] \
#       [more ppo_procgen.py options]
#   python benchmarks/impala_anchor.py --cleanrl logs/cleanrl_anchor/runs/fruitbot__ppo_procgen__<seed>__<time>
set -euo pipefail
CLEANRL=${1:?usage: bash benchmarks/cleanrl_anchor.sh CLEANRL_CHECKOUT [TIMESTEPS] [SEED] [OPTIONS]}
TIMESTEPS=${2:-999424}
SEED=${3:-0}
PYTHON=${CLEANRL_PYTHON:-python}
WORK=logs/cleanrl_anchor
mkdir -p "$WORK"
"$PYTHON" - "$CLEANRL/cleanrl/ppo_procgen.py" "$WORK/ppo_procgen.py" <<'PY'
import sys
from pathlib import Path

source = Path(sys.argv[1]).read_text()
line = "num_levels=0, start_level=0"
if source.count(line) != 1:
    sys.exit(f"{sys.argv[1]}: expected one '{line}' (the training environment) to set 200 levels, found {source.count(line)}")
Path(sys.argv[2]).write_text(source.replace(line, "num_levels=200, start_level=0"))
PY
git -C "$CLEANRL" rev-parse HEAD > "$WORK/COMMIT" 2>/dev/null || echo unknown > "$WORK/COMMIT"
cd "$WORK"
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} exec "$PYTHON" ppo_procgen.py --env-id fruitbot --total-timesteps "$TIMESTEPS" \
    --seed "$SEED" --no-cuda "${@:4}"
