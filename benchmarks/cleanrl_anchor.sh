#!/usr/bin/env bash
# CleanRL's ppo_procgen.py beside the IMPALA anchor (docs/benchmarks.md, "The IMPALA anchor"): the Procgen
# paper's PPO (ent_coef 0.01, IMPALA CNN, 64 environments x 256 steps, gamma 0.999, lr 5e-4, 3 epochs of 8
# minibatches) written independently of this package, with ppo2's clipped value loss and Adam epsilon 1e-5,
# on FruitBot in easy mode. CleanRL's file is run, not copied into this repository: this script copies it into
# the run folder (logs/cleanrl_anchor/, or $CLEANRL_WORK) with two kinds of edit, each checked to apply exactly
# once: its training levels set to the anchor's 200 (CleanRL's script trains on the full level distribution),
# and checkpoints. Every $CHECKPOINT_EVERY updates (default 2, 32,768 steps) the copy saves the network, Adam's
# state, the reward normaliser's statistics, the RNG states and the step count to checkpoint_seed<SEED>.pt, and
# the same command run again resumes from it: the TensorBoard run continues (purge_step drops what the cut run
# logged after its checkpoint) and the environments start new episodes (the cut run's unfinished episodes are
# lost; Procgen's level RNG is not restored). Delete the checkpoint to start over. The update itself is
# CleanRL's, line for line.
#
# It needs a Python with the dependencies of CleanRL's procgen script, which uses gym 0.23's wrappers (gym
# 0.26 changed reset()), kept apart from this package's environment:
#   python -m venv .venv-cleanrl
#   .venv-cleanrl/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu   # or plain pip where
#                                                                   # that index cannot be reached
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
WORK=${CLEANRL_WORK:-logs/cleanrl_anchor}
mkdir -p "$WORK"
"$PYTHON" - "$CLEANRL/cleanrl/ppo_procgen.py" "$WORK/ppo_procgen.py" <<'PY'
import sys
from pathlib import Path

# (what CleanRL's script says, what the run folder's copy says instead): each must occur exactly once.
EDITS = [
    # the anchor's 200 training levels (CleanRL trains on the full distribution)
    ("num_levels=0, start_level=0", "num_levels=200, start_level=0"),
    # checkpoints: a run cut short resumes from the last one (model, optimiser, reward normaliser, RNGs, steps)
    (
        "    run_name = f\"{args.env_id}__{args.exp_name}__{args.seed}__{int(time.time())}\"\n",
        "    checkpoint_path = f\"checkpoint_seed{args.seed}.pt\"\n"
        "    checkpoint = torch.load(checkpoint_path, weights_only=False) if os.path.exists(checkpoint_path) else None\n"
        "    run_name = checkpoint[\"run_name\"] if checkpoint else "
        "f\"{args.env_id}__{args.exp_name}__{args.seed}__{int(time.time())}\"\n",
    ),
    (
        "    writer = SummaryWriter(f\"runs/{run_name}\")\n",
        # TensorBoard drops what the cut run logged after its last checkpoint (steps >= purge_step)
        "    writer = SummaryWriter(f\"runs/{run_name}\", purge_step=checkpoint[\"global_step\"] + 1 if checkpoint else None)\n",
    ),
    (
        "    next_done = torch.zeros(args.num_envs).to(device)\n",
        "    next_done = torch.zeros(args.num_envs).to(device)\n"
        "    start_iteration = 1\n"
        "    if checkpoint:  # the environments start new episodes: the cut run's unfinished ones are not counted\n"
        "        agent.load_state_dict(checkpoint[\"agent\"])\n"
        "        optimizer.load_state_dict(checkpoint[\"optimizer\"])\n"
        "        envs.env.return_rms = checkpoint[\"return_rms\"]\n"
        "        global_step, start_iteration = checkpoint[\"global_step\"], checkpoint[\"iteration\"] + 1\n"
        "        start_time -= checkpoint[\"seconds\"]\n"
        "        random.setstate(checkpoint[\"random\"])\n"
        "        np.random.set_state(checkpoint[\"numpy\"])\n"
        "        torch.set_rng_state(checkpoint[\"torch\"])\n"
        "        print(f\"resumed {run_name} at global_step={global_step}\")\n",
    ),
    (
        "    for iteration in range(1, args.num_iterations + 1):\n",
        "    for iteration in range(start_iteration, args.num_iterations + 1):\n",
    ),
    (
        "        writer.add_scalar(\"charts/SPS\", int(global_step / (time.time() - start_time)), global_step)\n",
        "        writer.add_scalar(\"charts/SPS\", int(global_step / (time.time() - start_time)), global_step)\n"
        "        if iteration % int(os.environ.get(\"CHECKPOINT_EVERY\", \"2\")) == 0 or iteration == args.num_iterations:\n"
        "            writer.flush()\n"
        "            state = {\n"
        "                \"run_name\": run_name, \"iteration\": iteration, \"global_step\": global_step,\n"
        "                \"seconds\": time.time() - start_time, \"agent\": agent.state_dict(),\n"
        "                \"optimizer\": optimizer.state_dict(), \"return_rms\": envs.env.return_rms,\n"
        "                \"random\": random.getstate(), \"numpy\": np.random.get_state(), \"torch\": torch.get_rng_state(),\n"
        "            }\n"
        "            torch.save(state, checkpoint_path + \".tmp\")\n"
        "            os.replace(checkpoint_path + \".tmp\", checkpoint_path)\n",
    ),
]
source = Path(sys.argv[1]).read_text()
for old, new in EDITS:
    if source.count(old) != 1:
        sys.exit(f"{sys.argv[1]}: expected one {old.strip()!r}, found {source.count(old)}: a CleanRL this script does not know")
    source = source.replace(old, new)
if "gym.wrappers.NormalizeReward(envs, gamma=args.gamma)\n    envs = gym.wrappers.TransformReward(" not in source:
    sys.exit(f"{sys.argv[1]}: the reward normaliser is not the wrapper under TransformReward; its checkpoint would be wrong")
Path(sys.argv[2]).write_text(source)
PY
git -C "$CLEANRL" rev-parse HEAD > "$WORK/COMMIT" 2>/dev/null || echo unknown > "$WORK/COMMIT"
cd "$WORK"
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} exec "$PYTHON" ppo_procgen.py --env-id fruitbot --total-timesteps "$TIMESTEPS" \
    --seed "$SEED" --no-cuda "${@:4}"
