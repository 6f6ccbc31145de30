#!/usr/bin/env bash
# FruitBot comparison at the paper's settings on one GPU machine: IMPALA CNN, 2M steps, 500 training levels,
# test levels 500-999, seeds 0 1 2, PPO (ent_coef 0.01) against the MaxEntPPO agent chosen by the CPU sweep
# (stage 1 of docs/benchmarks.md). The six runs go in parallel, two procgen/torch threads each (12 of 16
# cores), all on one GPU, sharing one results JSON (file lock). Every run checkpoints at each evaluation:
# the same command with the same OUT continues where an interrupted one stopped.
#
#   bash benchmarks/fruitbot_gpu.sh                       # AGENT, OUT, DEVICE, THREADS may be overridden
#   AGENT=maxent_soft_return:0.003 OUT=benchmarks/results/fruitbot_gpu_soft.json bash benchmarks/fruitbot_gpu.sh
#
# Sized for about 10 minutes of an H100/H200-class GPU (estimated, not yet measured: 12M frames in total,
# about 3-4k frames/s per run); the log of each run is written beside OUT.
set -euo pipefail
cd "$(dirname "$0")/.."

AGENT=${AGENT:-maxent_one_step:0.003}  # stage 1 best so far (docs/benchmarks.md)
OUT=${OUT:-benchmarks/results/fruitbot_gpu.json}
DEVICE=${DEVICE:-cuda}
THREADS=${THREADS:-2}
PYTHON=${PYTHON:-python}

pids=()
for seed in 0 1 2; do
  for agent in ppo:0.01 "$AGENT"; do
    log="${OUT%.json}_${agent/:/_}_seed${seed}.log"
    OMP_NUM_THREADS=$THREADS "$PYTHON" benchmarks/fruitbot_paper.py --policy impala --device "$DEVICE" \
      --threads "$THREADS" --timesteps 2000000 --num-levels 500 --seeds "$seed" --agents "$agent" \
      --eval-every 500000 --eval-episodes 128 --out "$OUT" --resume \
      --title "FruitBot at the paper's settings (IMPALA CNN, 2M steps, GPU)" > "$log" 2>&1 &
    pids+=($!)
  done
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
"$PYTHON" benchmarks/fruitbot_paper.py --report --out "$OUT"
exit $status
