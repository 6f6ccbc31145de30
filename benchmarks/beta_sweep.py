"""Sweep MaxEntPPO's temperature beta (``maxent_coef``) on tasks of different kinds, in both modes.

The measurement behind MaxEntPPO's default ``maxent_coef`` (with FruitBot's stage-1 sweep in
``benchmarks/fruitbot_paper.py``): a discrete task (CartPole-v1) and a continuous one (Pendulum-v1, gSDE), each
with rl-zoo's tuned PPO hyperparameters and ``ent_coef=0``. For every (task, mode, beta, seed): the final
deterministic evaluation return (20 episodes), the number of environment steps until the 100-episode training
return first reaches the task's threshold, and the policy entropy H(pi_old) of the last rollout (MaxEntPPO's
``rollout/policy_entropy``). Writes ``benchmarks/results/beta_sweep.{json,md}``; the JSON is rewritten after
every run and ``--resume`` skips the runs already in it.

    python benchmarks/beta_sweep.py --tasks cartpole pendulum --seeds 0 1 2 --betas 0 0.003 0.01 0.03 0.1 0.3
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import harness
import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.utils import safe_mean

from sb3_maxent import MaxEntPPO

# rl-baselines3-zoo hyperparams/ppo.yml (CartPole-v1 and Pendulum-v1 entries), ent_coef 0 in both
TASKS: dict[str, dict[str, Any]] = {
    "cartpole": dict(
        env_id="CartPole-v1",
        n_envs=8,
        timesteps=100_000,
        threshold=475.0,
        hyperparams=dict(
            n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, learning_rate=1e-3, clip_range=0.2
        ),
        # uniform policy over 2 actions: log 2 = 0.693 nats
        max_entropy=float(np.log(2)),
    ),
    "pendulum": dict(
        env_id="Pendulum-v1",
        n_envs=4,
        timesteps=100_000,
        threshold=-200.0,
        hyperparams=dict(
            n_steps=1024,
            gae_lambda=0.95,
            gamma=0.9,
            n_epochs=10,
            learning_rate=1e-3,
            clip_range=0.2,
            use_sde=True,
            sde_sample_freq=4,
        ),
        max_entropy=None,  # a Gaussian's entropy is unbounded
    ),
}


class SweepCallback(BaseCallback):
    """First timestep at which the mean training return reaches ``threshold``; entropy of the last rollout."""

    def __init__(self, threshold: float) -> None:
        super().__init__()
        self.threshold = threshold
        self.reached_at: int | None = None
        self.entropy = float("nan")

    def _on_rollout_end(self) -> None:
        # runs inside the parent's rollout collection, before MaxEntPPO's entropy pass: the rollout's entropy
        # (logged as rollout/policy_entropy) is read when training ends
        buffer = self.model.ep_info_buffer
        enough = self.reached_at is None and buffer is not None and len(buffer) >= 20
        if enough and safe_mean([info["r"] for info in buffer]) >= self.threshold:
            self.reached_at = self.num_timesteps

    def _on_training_end(self) -> None:
        self.entropy = float(self.model._last_rollout_entropy)  # H(pi_old) of the last rollout

    def _on_step(self) -> bool:
        return True


def run(task: str, mode: str, beta: float, seed: int) -> dict[str, Any]:
    spec = TASKS[task]
    env = make_vec_env(spec["env_id"], n_envs=spec["n_envs"], seed=seed)
    model = MaxEntPPO(
        "MlpPolicy", env, maxent_mode=mode, maxent_coef=beta, ent_coef=0.0, seed=seed, **spec["hyperparams"]
    )
    callback = SweepCallback(spec["threshold"])
    start = time.perf_counter()
    model.learn(spec["timesteps"], callback=callback)
    elapsed = time.perf_counter() - start
    eval_env = make_vec_env(spec["env_id"], n_envs=1, seed=seed + 1000)
    mean, std = evaluate_policy(model, eval_env, n_eval_episodes=20, deterministic=True)
    return {
        "task": task,
        "mode": mode,
        "beta": beta,
        "seed": seed,
        "eval_mean": float(mean),
        "eval_std": float(std),
        "steps_to_threshold": callback.reached_at,
        "final_entropy": callback.entropy,
        "seconds": round(elapsed, 1),
    }


def mean_std_ddof0(values: list[float], spec: str) -> str:
    """``mean ± std`` with the population std (ddof 0), as the committed tables state (harness.fmt uses ddof 1)."""
    array = np.asarray(values, dtype=float)
    return f"{array.mean():{spec}} ± {array.std():{spec}}"


def markdown(data: dict[str, Any]) -> str:
    lines = []
    for task, spec in TASKS.items():
        runs = [run for run in data["runs"] if run["task"] == task]
        if not runs:
            continue
        seeds = sorted({run["seed"] for run in runs})
        ceiling = f"; uniform policy: {spec['max_entropy']:.3f} nats" if spec["max_entropy"] else ""
        header = [
            "mode",
            "beta",
            "seeds",
            "eval return (20 episodes, deterministic)",
            f"steps to training return {spec['threshold']:g}",
            "runs reaching it",
            "final policy entropy (nats)",
        ]
        table = []
        for mode, beta in sorted({(run["mode"], run["beta"]) for run in runs}):
            rows = [run for run in runs if run["mode"] == mode and run["beta"] == beta]
            reached = [run["steps_to_threshold"] for run in rows if run["steps_to_threshold"] is not None]
            table.append(
                [
                    mode,
                    f"{beta:g}",
                    len(rows),
                    mean_std_ddof0([run["eval_mean"] for run in rows], ".1f"),
                    mean_std_ddof0(reached, ",.0f") if reached else "never",
                    f"{len(reached)}/{len(rows)}",
                    mean_std_ddof0([run["final_entropy"] for run in rows], ".3f"),
                ]
            )
        lines += [
            f"**{spec['env_id']}** ({spec['timesteps']:,d} steps per run, seeds {seeds} so far, rl-zoo's PPO "
            f"hyperparameters, ent_coef 0{ceiling})",
            "",
            *harness.md_table(header, table, align="lrrrrrr"),
            "",
        ]
    lines.append("Mean ± std over seeds (std with ddof 0). Generated by `benchmarks/beta_sweep.py`.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--modes", nargs="+", default=["one_step", "soft_return"])
    parser.add_argument("--betas", nargs="+", type=float, default=[0.0, 0.003, 0.01, 0.03, 0.1, 0.3])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--output", type=Path, default=harness.result_path("beta_sweep", quick=False))
    parser.add_argument("--resume", action="store_true", help="keep the runs already in --output, skip them")
    harness.add_run_arguments(parser, quick_help=None, report_help="only rewrite the markdown from --output's JSON")
    args = parser.parse_args()
    data: dict[str, Any] = {"tasks": TASKS, "runs": []}
    if args.resume or args.report:
        data = harness.read_json(args.output, default=data)
    if args.report:
        harness.write_text(args.output.with_suffix(".md"), markdown(data))
        return
    th.set_num_threads(1)
    done = {(run["task"], run["mode"], run["beta"], run["seed"]) for run in data["runs"]}
    # seed by seed: a sweep cut short still has every cell at its first seeds
    plan = [
        (task, mode, beta, seed)
        for seed in args.seeds
        for task in args.tasks
        for mode in args.modes
        for beta in args.betas
        if (task, mode, beta, seed) not in done
    ]
    for task, mode, beta, seed in plan:
        result = run(task, mode, beta, seed)
        data["runs"].append(result)
        print(json.dumps(result), flush=True)
        harness.write_json(args.output, data)
        harness.write_text(args.output.with_suffix(".md"), markdown(data))
    print(markdown(data))


if __name__ == "__main__":
    main()
