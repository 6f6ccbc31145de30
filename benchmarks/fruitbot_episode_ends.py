"""How FruitBot episodes end under a policy: level completed, agent died, or cut at the time limit.

SB3's PPO bootstraps an episode that ends by truncation (``r + gamma * V(terminal observation)``); baselines'
ppo2 (the Procgen paper's PPO) treats every end as terminal. Our Procgen wrapper flags an episode that reaches
FruitBot's 1000-step limit without completing the level as truncated (``info["TimeLimit.truncated"]``), so the
two set-ups differ only on those episodes. This script measures how many there are: it plays a saved model
(a ``fruitbot_paper.py`` checkpoint's ``model.zip``; stochastic actions, as in training) or the uniform random
policy on the training levels, 64 environments at once as in training, and counts the episodes and the steps
that end each way.

.. code-block:: bash

    # a resume checkpoint of a run (a finished run removes them unless --keep-checkpoints; the trained policy
    # itself is not saved, so the last one is that of the last --checkpoint-every point before the end)
    python benchmarks/fruitbot_episode_ends.py --model \\
        benchmarks/results/checkpoints/fruitbot_impala_glorot_ppo2/ppo_0.01_200levels_seed0/t0000983040/model.zip
    python benchmarks/fruitbot_episode_ends.py            # the uniform random policy
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from stable_baselines3 import PPO

from sb3_maxent.envs.procgen import make_procgen_vec_env

ENDS = ("completed", "died", "truncated")


def play(model: PPO | None, n_envs: int, num_levels: int, steps: int, seed: int) -> dict[str, Any]:
    """Play ``steps`` steps in each of ``n_envs`` environments; count finished episodes and their steps by end."""
    env = make_procgen_vec_env(n_envs=n_envs, num_levels=num_levels, start_level=0, distribution_mode="easy", seed=seed)
    timeout = env.get_attr("timeout", indices=0)[0]
    n_actions = int(env.action_space.n)  # type: ignore[attr-defined]
    rng = np.random.default_rng(seed)
    episodes = dict.fromkeys(ENDS, 0)
    episode_steps = dict.fromkeys(ENDS, 0)
    lengths = np.zeros(n_envs, dtype=np.int64)
    try:
        obs = env.reset()
        for _ in range(steps):
            if model is None:
                actions = rng.integers(0, n_actions, size=n_envs)
            else:
                actions, _ = model.predict(obs, deterministic=False)  # type: ignore[arg-type]
            obs, _, dones, infos = env.step(actions)
            lengths += 1
            for idx in np.flatnonzero(dones):
                info = infos[idx]
                end = "truncated" if info["TimeLimit.truncated"] else "completed" if info["level_complete"] else "died"
                episodes[end] += 1
                episode_steps[end] += int(lengths[idx])
                lengths[idx] = 0
    finally:
        env.close()
    total_episodes, total_steps = sum(episodes.values()), sum(episode_steps.values())
    return {
        "episodes": episodes,
        "steps": episode_steps,
        "episode_share": {end: episodes[end] / max(total_episodes, 1) for end in ENDS},
        "step_share": {end: episode_steps[end] / max(total_steps, 1) for end in ENDS},
        "mean_length": total_steps / max(total_episodes, 1),
        "timeout": timeout,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a saved PPO model.zip (default: the uniform random policy)")
    parser.add_argument("--num-levels", type=int, default=200, help="training levels 0..N-1 (default: 200)")
    parser.add_argument("--n-envs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=2000, help="steps per environment (default: 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    args = parser.parse_args(argv)
    if args.model is not None and not args.model.is_file():
        parser.error(f"--model {args.model}: no such file; give a checkpoint's model.zip")
    if min(args.num_levels, args.n_envs, args.steps) <= 0:
        parser.error("--num-levels, --n-envs and --steps must be positive")
    th.set_num_threads(args.threads)
    model = None if args.model is None else PPO.load(args.model, device="cpu")
    result = play(model, args.n_envs, args.num_levels, args.steps, args.seed)
    result["policy"] = str(args.model) if args.model else "uniform random"
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
