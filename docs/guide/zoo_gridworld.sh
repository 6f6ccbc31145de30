#!/usr/bin/env bash
# The commands of docs/guide/zoo.md (GridWorld, a few minutes on two CPU cores).
# tests/test_zoo_learning.py::test_docs_gridworld_script runs this file as it is, in a temporary folder.
set -euo pipefail

# [train]
# MaxEntPPO with the packaged configuration (zoo_configs/maxent_ppo.yml), evaluated on 20 episodes
# every 5000 steps; the agent, its monitor files and evaluations go to logs/maxent_ppo/GridWorld-v0_1/
sb3-maxent train --algo maxent_ppo --env GridWorld-v0 --seed 0 --num-threads 1 --eval-freq 5000 --eval-episodes 20
# The PPO baseline, same evaluation
sb3-maxent train --algo ppo --env GridWorld-v0 --seed 0 --num-threads 1 --eval-freq 5000 --eval-episodes 20
# [/train]

# [enjoy]
# Watch the trained agent (--no-render: no window, statistics only) and report its success rate
sb3-maxent enjoy --algo maxent_ppo --env GridWorld-v0 -f logs --no-render -n 500
# [/enjoy]

# [optimize]
# Two workers fill one Optuna study (2 short trials each, a demonstration: real searches use the full
# budget and many more trials): here two processes on one machine, on several machines the same
# command on each, with a storage they all reach. --num-threads 1 gives each worker one PyTorch thread:
# by default every worker starts one per core, and the workers slow each other down many times over
for worker in 1 2; do
  sb3-maxent train --algo soft_dqn --env GridWorld-v0 -optimize --seed "$worker" --num-threads 1 \
    --storage logs/soft_dqn_gridworld.log --study-name soft_dqn_gridworld \
    --n-trials 2 -n 2000 --n-evaluations 1 --eval-episodes 5 --no-optim-plots &
done
wait
# Train with the hyperparameters of one trial of the study (here the first one, number 0), for as many
# steps as the trials had (-n; without it, the configured budget)
sb3-maxent train --algo soft_dqn --env GridWorld-v0 --seed 0 -n 2000 \
  --storage logs/soft_dqn_gridworld.log --study-name soft_dqn_gridworld --trial-id 0
# [/optimize]

# [plot]
# Training success rate from the monitor files (a window; nothing is shown with a non-interactive backend)
sb3-maxent plot_train --algo maxent_ppo --env GridWorld-v0 -f logs -y success -w 20
# Evaluation success rate of both algorithms (table on stdout, data saved to logs/gridworld_success.pkl)
sb3-maxent all_plots --algos maxent_ppo ppo --env GridWorld-v0 -f logs --key successes \
  -o logs/gridworld_success --no-display
# [/plot]
