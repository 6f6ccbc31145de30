"""Make the figures of the environment pages (docs/envs/gridworld.md and docs/envs/multigoal.md).

Usage (from the repository root):

    # all figures: exact solver figures, a short PPO run on GridWorld-v0, a short SAC run on MultiGoal-v0
    OMP_NUM_THREADS=1 python benchmarks/make_env_figures.py
    # solver figures only (seconds)
    python benchmarks/make_env_figures.py --quick

Writes PNGs to ``docs/_static/`` and the numbers quoted on the pages to
``benchmarks/results/env_figures.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import harness
import numpy as np
import torch as th
from matplotlib.figure import Figure
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

import sb3_maxent  # noqa: F401  (registers the environment ids)
from sb3_maxent.envs.gridworld import GridWorldEnv
from sb3_maxent.envs.multigoal import MultiGoalEnv
from sb3_maxent.envs.plotting import (
    VisitCountCallback,
    VisitCounter,
    plot_model,
    plot_multigoal,
    plot_solution,
    plot_visits,
    save_figure,
)
from sb3_maxent.envs.solver import hard_value_iteration, soft_value_iteration

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "docs" / "_static"
RESULTS = harness.result_path("env_figures", quick=False)  # --quick keeps the trained entries of a full run

GAMMA = 0.9  # the blog's discount factor
OPEN_TAUS = (1.0, 0.02)  # entropy dominates / goal reached with a stochastic policy
TWO_GOALS_TAU = 0.01
N_SAMPLED_EPISODES = 500
PPO_STEPS = 20_000
SAC_STEPS = 10_000


def open_grid_figure() -> dict[str, Any]:
    """Soft values at tau = 1 and tau = 0.02 next to hard values on GridWorld-v0's open 8 x 8 grid."""
    env = GridWorldEnv("open")
    figure = Figure(figsize=(16, 4.6), layout="constrained")
    axes = figure.subplots(1, 3)
    numbers: dict[str, Any] = {"gamma": GAMMA, "n_actions": env.n_actions}
    for ax, tau in zip(axes, (*OPEN_TAUS, 0.0), strict=True):
        solution = soft_value_iteration(env, GAMMA, tau) if tau > 0 else hard_value_iteration(env, GAMMA)
        plot = plot_solution(env, solution, ax=ax)
        numbers[f"tau={tau:g}"] = {
            "V(start)": round(float(solution.values[0]), 4),
            "max pi(.|start)": round(float(solution.policy[0].max()), 3),
            "greedy path reaches goal": plot.trajectory[-1] in env.goal_cells,
            "residual": float(f"{solution.residual:.2e}"),
            "iterations": solution.iterations,
        }
    v_bar = math.log(env.n_actions) / (1 - GAMMA)
    numbers["log|A|/(1-gamma)"] = round(v_bar, 4)
    numbers["tau=1 deficit at the far corner, Vbar - V(0,0)"] = float(
        f"{v_bar - soft_value_iteration(env, GAMMA, 1.0).values[0]:.2e}"
    )
    save_figure(figure, STATIC / "gridworld_open_soft_vs_hard.png")
    return numbers


def _sample_goals(env: GridWorldEnv, policy: np.ndarray, n_episodes: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """Run ``n_episodes`` episodes sampling actions from ``policy``; return visit counts and goals reached."""
    rng = np.random.default_rng(seed)
    counter = VisitCounter(env)
    goals = []
    for episode in range(n_episodes):
        state, _ = counter.reset(seed=seed + episode)
        done, info = False, {}
        while not done:
            action = rng.choice(env.n_actions, p=policy[int(state)])
            state, _, terminated, truncated, info = counter.step(action)
            done = terminated or truncated
        goals.append(int(info["goal"]))
    return counter.counts.copy(), goals


def two_goals_figure() -> dict[str, Any]:
    """Soft policy of GridWorldTwoGoals-v0 keeps both goals; the greedy (argmax) hard policy keeps one."""
    env = GridWorldEnv("two_goals")
    soft = soft_value_iteration(env, GAMMA, TWO_GOALS_TAU)
    hard = hard_value_iteration(env, GAMMA)
    greedy = np.eye(env.n_actions)[hard.q_values.argmax(axis=1)]  # what an argmax agent (DQN) does
    soft_counts, soft_goals = _sample_goals(env, soft.policy, N_SAMPLED_EPISODES, seed=0)
    hard_counts, hard_goals = _sample_goals(env, greedy, N_SAMPLED_EPISODES, seed=0)

    figure = Figure(figsize=(16, 3.6), layout="constrained")
    axes = figure.subplots(1, 3)
    plot_solution(env, soft, ax=axes[0], arrows="all", show_trajectory=False)
    plot_visits(env, soft_counts, ax=axes[1], title=f"visits, {N_SAMPLED_EPISODES} episodes sampled from soft pi*")
    plot_visits(env, hard_counts, ax=axes[2], title=f"visits, {N_SAMPLED_EPISODES} episodes of argmax hard Q*")
    save_figure(figure, STATIC / "gridworld_two_goals.png")

    def fractions(goals: list[int]) -> dict[str, float]:
        return {f"goal {g} {env.goal_cells[g]}": goals.count(g) / len(goals) for g in range(len(env.goal_cells))}

    start = env.to_state(env.start)
    return {
        "gamma": GAMMA,
        "tau": TWO_GOALS_TAU,
        "soft pi*(.|start)": {
            name: round(float(p), 3) for name, p in zip(env.action_names, soft.policy[start], strict=True)
        },
        "soft pi*: fraction of episodes per goal": fractions(soft_goals),
        "argmax hard Q*: fraction of episodes per goal": fractions(hard_goals),
        "episodes": N_SAMPLED_EPISODES,
    }


def ppo_figure(steps: int, seed: int = 0) -> dict[str, Any]:
    """Diagnostics of a short PPO run on GridWorld-v0: critic values, policy arrows and visit counts."""
    env = VisitCounter(GridWorldEnv("open"))
    callback = VisitCountCallback()
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, gamma=GAMMA, seed=seed, verbose=0)
    model.learn(steps, callback=callback)
    assert callback.counts is not None
    figure = Figure(figsize=(11, 4.6), layout="constrained")
    axes = figure.subplots(1, 2)
    plot = plot_model(model, env, ax=axes[0], title=f"PPO after {steps} steps: critic V(s), greedy policy")
    plot_visits(env, callback.counts, ax=axes[1], title=f"states visited during training ({steps} steps)")
    save_figure(figure, STATIC / "gridworld_ppo_diagnostics.png")
    mean_return, std_return = evaluate_policy(
        model, Monitor(GridWorldEnv("open")), n_eval_episodes=10, deterministic=True
    )
    return {
        "algorithm": "PPO (SB3 defaults, n_steps=256, batch_size=64, gamma=0.9)",
        "seed": seed,
        "timesteps": steps,
        "greedy path reaches goal": plot.trajectory[-1] in env.unwrapped.goal_cells,
        "greedy path length": len(plot.trajectory) - 1,
        "deterministic eval return (10 episodes)": f"{mean_return:.2f} +- {std_return:.2f}",
        "unvisited free cells": int((callback.counts.reshape(8, 8)[env.unwrapped.free_mask] == 0).sum()),
    }


def multigoal_figure(steps: int, seed: int = 0) -> dict[str, Any]:
    """The MultiGoal reward landscape and rollouts of SAC's stochastic policy after a short run."""
    env = MultiGoalEnv()
    figure = Figure(figsize=(11, 4.6), layout="constrained")
    axes = figure.subplots(1, 2)
    plot_multigoal(env, ax=axes[0], title="MultiGoal-v0: - distance cost, goals (green)")
    model = SAC("MlpPolicy", env, learning_starts=1000, seed=seed, verbose=0)
    model.learn(steps)
    rollouts = plot_multigoal(
        env, model, n_episodes=50, deterministic=False, ax=axes[1], title=f"SAC after {steps} steps: 50 episodes"
    )
    save_figure(figure, STATIC / "multigoal.png")
    reached = rollouts.goals_reached
    return {
        "algorithm": "SAC (SB3 defaults, learning_starts=1000)",
        "seed": seed,
        "timesteps": steps,
        "episodes per goal (x+, x-, y+, y-)": [int((reached == g).sum()) for g in range(4)],
        "episodes truncated": int((reached == -1).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    harness.add_run_arguments(parser, "solver figures only (no training)", report=False)
    parser.add_argument("--ppo-steps", type=int, default=PPO_STEPS)
    parser.add_argument("--sac-steps", type=int, default=SAC_STEPS)
    args = parser.parse_args()
    th.set_num_threads(1)

    start = time.time()
    results: dict[str, Any] = harness.read_json(RESULTS, default={})
    results["open grid (GridWorld-v0)"] = open_grid_figure()
    results["two goals (GridWorldTwoGoals-v0)"] = two_goals_figure()
    if not args.quick:
        results["PPO on GridWorld-v0"] = ppo_figure(args.ppo_steps)
        results["SAC on MultiGoal-v0"] = multigoal_figure(args.sac_steps)
    harness.write_json(RESULTS, results, indent=2)
    print(json.dumps(results, indent=2))
    print(f"done in {time.time() - start:.0f} s; figures in {STATIC}")


if __name__ == "__main__":
    main()
