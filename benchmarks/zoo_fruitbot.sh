#!/usr/bin/env bash
# The MaxEnt PPO paper's three agents on FruitBot (Procgen, easy mode, 500 training levels, 2M steps each)
# with the packaged rl-zoo configurations, evaluated every 100k steps on 50 episodes of the unseen
# levels 500-999. Each run takes hours on a CPU: add `--device cuda` on a machine with a GPU.
# tests/test_zoo_learning.py::test_fruitbot_script_commands runs every command below with a tiny budget.
set -euo pipefail

# [fruitbot]
# 1. PPO without entropy: the ppo entry with one override, in its own log folder
sb3-maxent train --algo ppo --env FruitBot-v0 --seed 0 --hyperparams ent_coef:0.0 -f logs/no_entropy \
  --eval-freq 100000 --eval-episodes 50 --n-eval-envs 10 --eval-env-kwargs start_level:500 num_levels:500
# 2. PPO with entropy regularisation (ent_coef 0.01, zoo_configs/ppo.yml)
sb3-maxent train --algo ppo --env FruitBot-v0 --seed 0 \
  --eval-freq 100000 --eval-episodes 50 --n-eval-envs 10 --eval-env-kwargs start_level:500 num_levels:500
# 3. MaxEntPPO (maxent_coef 0.003 one-step, ent_coef 0, zoo_configs/maxent_ppo.yml)
sb3-maxent train --algo maxent_ppo --env FruitBot-v0 --seed 0 \
  --eval-freq 100000 --eval-episodes 50 --n-eval-envs 10 --eval-env-kwargs start_level:500 num_levels:500
# Test reward of the three agents (mean over the evaluations logged in evaluations.npz)
sb3-maxent all_plots --algos ppo maxent_ppo --env FruitBot-v0 -f logs/no_entropy logs \
  -l no_entropy default -o logs/fruitbot_test_reward --no-display
# [/fruitbot]
