"""SB3 track: does SoftDQN's Boltzmann exploration visit the GridWorld more evenly than DQN's epsilon-greedy?

The soft Q-learning blog in the project's references shows, from one tabular run of 100 episodes, its soft
Q-learning agent visiting a grid world more evenly than a Q-learning agent that samples its actions from a softmax
of Q at temperature 1 (not epsilon-greedy); its soft agent, as coded, samples from a softmax of the soft policy,
close to a uniform random walk. ``benchmarks/gridworld_tabular.py`` repeats that tabular experiment; this
script asks the same question of the package's function-approximation agents, with a comparison made fair:

* ``dqn``: SB3's DQN with the blog's exploration, a constant epsilon of 0.1 (``exploration_initial_eps =
  exploration_final_eps = 0.1``);
* ``soft_dqn_blog_tau``: SoftDQN at the blog's temperature, 0.05;
* ``soft_dqn_zoo_tau``: SoftDQN at the tuned temperature of ``zoo_configs/soft_dqn.yml`` (0.01);
* ``soft_dqn_annealed``: SoftDQN annealed linearly from 0.5 to 0.005 (the blog's bounds) over the first half of
  training, then constant, so that the late window is measured after the annealing has finished (the blog's rate,
  -1e-5 per read and 3 reads per step, would reach the floor at step 16,500: beyond this script's CPU budget;
  the tabular track runs the blog's own rate).

Every other setting is the ``GridWorld-v0`` / ``GridWorldTwoGoals-v0`` entry of ``zoo_configs/dqn.yml`` /
``zoo_configs/soft_dqn.yml`` (gamma 0.9, MlpPolicy, ...), except ``learning_starts``: 100 for every agent
instead of the zoo's 1,000, so that the uniform warm-up, identical for all agents under one seed, is a small part
of every window.

Measured in windows of a fixed number of environment steps (not episodes: an agent that fails plays longer
episodes and a window of episodes would hand it more steps): ``n_visits[s, a]`` counted for the state acted in,
its state and state-action entropies (nats), states visited, behaviour success (episodes ended at a goal among
those that ended in the window), greedy success (one deterministic episode of the greedy policy at the window's
end: the environment and the policy are deterministic) and, on two goals, whether both goals were reached and the
share of the rarer one. The verdict rule is ``exploration.VERDICT_RULE``: a verdict only where the success rates
are comparable, computed by the script against DQN.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gridworld_exploration.py            # full: 4 seeds, 8,000 steps
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gridworld_exploration.py --quick    # ~1.5 minutes, *_quick.* files
    .venv/bin/python benchmarks/gridworld_exploration.py --report                     # re-render md/png from JSON

Writes ``benchmarks/results/gridworld_exploration{,_quick}.json``, ``.md`` and one PNG of state-action visit
heatmaps per layout (``gridworld_exploration_<layout>{,_quick}.png``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import exploration
import gymnasium as gym
import harness
import numpy as np
import torch as th
from exploration import window_metrics
from numpy.typing import NDArray
from stable_baselines3 import DQN
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from sb3_maxent.common import linear_schedule
from sb3_maxent.envs.gridworld import GridWorldEnv
from sb3_maxent.envs.solver import soft_value_iteration
from sb3_maxent.soft_dqn import SoftDQN

NAME = "gridworld_exploration"
AGENT_LABELS: dict[str, str] = {
    "dqn": "DQN, epsilon 0.1",
    "soft_dqn_blog_tau": "SoftDQN, tau 0.05 (blog)",
    "soft_dqn_zoo_tau": "SoftDQN, tau 0.01 (zoo)",
    "soft_dqn_annealed": "SoftDQN, tau 0.5 → 0.005",
}
AGENTS: tuple[str, ...] = tuple(AGENT_LABELS)
SOFT_AGENTS: tuple[str, ...] = AGENTS[1:]
EPSILON, BLOG_TAU, ANNEAL = 0.1, 0.05, (0.5, 0.005)

# Full: about 25 minutes on 2 shared cores (4 agents x 2 layouts x 4 seeds x 8,000 steps, ~6 ms per step)
FULL: dict[str, Any] = {
    "seeds": 4,
    "steps": 8_000,
    "learning_starts": 100,
    "anneal_fraction": 0.5,
    "windows": {"early": [0, 2_000], "late": [6_000, 8_000]},
}
QUICK: dict[str, Any] = {
    "seeds": 2,
    "steps": 1_000,
    "learning_starts": 100,
    "anneal_fraction": 0.5,
    "windows": {"early": [0, 300], "late": [700, 1_000]},
}


def make_model(agent: str, env_id: str, seed: int, budget: dict[str, Any]) -> BaseAlgorithm:
    """One agent with the zoo settings of ``env_id`` and the fair-track changes of the module docstring."""
    env = gym.make(env_id)
    if agent == "dqn":
        kwargs = harness.zoo_settings("dqn", env_id)
        kwargs.update(exploration_initial_eps=EPSILON, exploration_final_eps=EPSILON)
        kwargs["learning_starts"] = budget["learning_starts"]
        return DQN(kwargs.pop("policy"), env, seed=seed, **kwargs)
    kwargs = harness.zoo_settings("soft_dqn", env_id)
    zoo_tau = kwargs.pop("temperature")
    temperature = {
        "soft_dqn_blog_tau": BLOG_TAU,
        "soft_dqn_zoo_tau": zoo_tau,
        "soft_dqn_annealed": linear_schedule(*ANNEAL, end_fraction=budget["anneal_fraction"]),
    }[agent]
    kwargs["learning_starts"] = budget["learning_starts"]
    return SoftDQN(kwargs.pop("policy"), env, seed=seed, temperature=temperature, **kwargs)


class WindowCallback(BaseCallback):
    """
    ``n_visits[s, a]`` of the state acted in and the goal of every ended episode, snapshotted at each window bound
    together with the goal the greedy policy reaches then (one deterministic episode, -1: none).

    :param bounds: environment steps at which to snapshot
    :param env_id: environment of the greedy episode
    """

    def __init__(self, bounds: Sequence[int], env_id: str) -> None:
        super().__init__()
        self.bounds = set(bounds)
        self.eval_env = gym.make(env_id)
        grid: GridWorldEnv = self.eval_env.unwrapped  # type: ignore[assignment]
        self.n_goals = len(grid.goal_cells)
        self.visits = np.zeros((grid.n_states, grid.n_actions), dtype=np.int64)
        self.endings = np.zeros(self.n_goals + 1, dtype=np.int64)
        self.snapshots: dict[int, dict[str, Any]] = {}

    def greedy_goal(self) -> int:
        obs, _ = self.eval_env.reset(seed=0)
        while True:
            action, _ = self.model.predict(obs, deterministic=True)
            obs, _, terminated, truncated, info = self.eval_env.step(action)
            if terminated or truncated:
                return int(info.get("goal", -1))

    def snapshot(self) -> None:
        greedy = self.greedy_goal()
        self.snapshots[self.num_timesteps] = {
            "visits": self.visits.copy(),
            "endings": self.endings.copy(),
            "greedy": greedy,
        }

    def _on_training_start(self) -> None:
        if 0 in self.bounds:
            self.snapshot()

    def _on_step(self) -> bool:
        # called after env.step and before SB3 stores the transition: _last_obs is still the state acted in
        state = int(np.asarray(self.model._last_obs).reshape(-1)[0])  # type: ignore[union-attr]
        action = int(np.asarray(self.locals["actions"]).reshape(-1)[0])
        self.visits[state, action] += 1
        if bool(np.asarray(self.locals["dones"]).reshape(-1)[0]):
            goal = int(self.locals["infos"][0].get("goal", -1))
            self.endings[goal if goal >= 0 else self.n_goals] += 1
        if self.num_timesteps in self.bounds:
            self.snapshot()
        return True


def run_one(layout: str, agent: str, seed: int, budget: dict[str, Any]) -> dict[str, Any]:
    """Train one agent on one layout with one seed; the window snapshots and the final temperature or epsilon."""
    env_id = exploration.LAYOUTS[layout]
    model = make_model(agent, env_id, seed, budget)
    callback = WindowCallback([b for w in budget["windows"].values() for b in w], env_id)
    start = time.perf_counter()
    model.learn(budget["steps"], callback=callback)
    seconds = time.perf_counter() - start
    final = model._current_temperature() if isinstance(model, SoftDQN) else float(model.exploration_rate)  # type: ignore[attr-defined]
    return {"snapshots": callback.snapshots, "seconds": seconds, "final_exploration": final}


def soft_optimal_success(grid: GridWorldEnv, tau: float, gamma: float) -> float:
    """Probability that the exact soft-optimal policy at ``tau`` enters a goal within ``max_steps`` from the start."""
    policy = soft_value_iteration(grid, gamma, tau).policy
    transition = np.einsum("sa,sat->st", policy, grid.transition_matrix)  # goals are absorbing: mass stays there
    distribution = np.zeros(grid.n_states)
    distribution[grid.to_state(grid.start)] = 1.0
    for _ in range(grid.max_steps):
        distribution = distribution @ transition
    return float(distribution[grid.goal_index >= 0].sum())


def aggregate(layout: str, agent: str, runs: list[dict[str, Any]], budget: dict[str, Any]) -> dict[str, Any]:
    """Per-seed window metrics (lists over seeds) and pooled visits, as the tabular track stores them."""
    n_goals = len(GridWorldEnv(layout).goal_cells)
    windows = {}
    for name, (first, last) in budget["windows"].items():

        def stack(key: str, at: int) -> NDArray[np.int64]:
            return np.stack([r["snapshots"][at][key] for r in runs])

        counts = stack("visits", last) - stack("visits", first)
        ended = stack("endings", last) - stack("endings", first)
        greedy = np.array([r["snapshots"][last]["greedy"] for r in runs])
        windows[name] = window_metrics(counts, ended, greedy, n_goals)
        windows[name]["pooled_visits"] = counts.sum(axis=0).tolist()
    return {
        "layout": layout,
        "agent": agent,
        "windows": windows,
        "train_seconds": [r["seconds"] for r in runs],
        "final_exploration": [r["final_exploration"] for r in runs],
    }


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------
TRACK = exploration.Track(NAME, exploration.LAYOUTS, AGENT_LABELS, "seeds")


def caption(metrics: dict[str, Any]) -> str:
    return f"H(s) {harness.fmt(metrics['state_entropy'], 2)}, success {exploration.success_text(metrics)}"


def render_markdown(data: dict[str, Any], quick: bool) -> str:
    budget = data["budget"]
    n = len(data["seeds"])
    gamma = float(data["settings"]["soft_dqn"]["gamma"])
    lines = [
        f"## GridWorld exploration, SB3 track: DQN (epsilon 0.1) vs SoftDQN{' (quick run)' if quick else ''}",
        "",
        *harness.command_block(data["command"]),
        f"{n} seeds, {budget['steps']:,} environment steps per agent and layout, learning_starts "
        f"{budget['learning_starts']} for every agent, {data['total_seconds'] / 60:.1f} min in total on "
        f"{data['machine']}. Values are mean ± sample std over seeds. The annealed agent reaches tau {ANNEAL[1]:g} at "
        f"step {int(budget['anneal_fraction'] * budget['steps']):,}.",
        "",
    ]
    for layout in data["layouts"]:
        grid = GridWorldEnv(layout)
        lines += TRACK.layout_heading(layout)
        for window in budget["windows"]:
            lines += TRACK.window_table(data, layout, window)
        reach = ", ".join(
            f"tau {tau:g}: {100 * soft_optimal_success(grid, tau, gamma):.3g}%" for tau in (BLOG_TAU, 0.01, ANNEAL[1])
        )
        lines += [
            f"For reference, the exact soft-optimal policy (`soft_value_iteration`, gamma {gamma:g}) reaches a goal "
            f"within {grid.max_steps} steps from the start with probability {reach}.",
            "",
            f"![n_visits on {exploration.LAYOUTS[layout]}]({TRACK.paths(quick)[layout].name})",
            "",
        ]
    lines += TRACK.verdict_lines(data)
    return "\n".join(lines)


def write_report(data: dict[str, Any], quick: bool) -> None:
    TRACK.write_report(data, quick, render_markdown(data, quick), caption)


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_run_arguments(parser, f"tiny run ({QUICK['seeds']} seeds, {QUICK['steps']} steps): *_quick.* files")
    parser.add_argument("--seeds", type=int, default=None, help=f"number of seeds (default {FULL['seeds']})")
    parser.add_argument("--layouts", nargs="+", choices=list(exploration.LAYOUTS), default=list(exploration.LAYOUTS))
    parser.add_argument("--agents", nargs="+", choices=list(AGENTS), default=list(AGENTS))
    args = parser.parse_args(argv)

    out = TRACK.paths(args.quick)
    if harness.report_requested(args, out["json"], write_report):
        return

    th.set_num_threads(1)
    budget = harness.budget(FULL, QUICK, args.quick, seeds=args.seeds)
    seeds = list(range(budget["seeds"]))
    data: dict[str, Any] = {
        "command": harness.command_line(),
        "budget": budget,
        "seeds": seeds,
        "layouts": args.layouts,
        "agents": args.agents,
        "settings": {algo: harness.zoo_settings(algo, "GridWorld-v0") for algo in ("dqn", "soft_dqn")},
        "machine": harness.machine(),
        "versions": harness.versions("sb3_maxent", "stable_baselines3", "torch"),
        "results": [],
    }
    start = time.perf_counter()
    for layout in args.layouts:
        for agent in args.agents:
            runs = []
            for seed in seeds:
                runs.append(run_one(layout, agent, seed, budget))
                print(f"{layout:9s} {agent:18s} seed {seed} ({runs[-1]['seconds']:.0f} s)", flush=True)
            result = aggregate(layout, agent, runs, budget)
            data["results"].append(result)
            harness.write_json(out["json"], data)  # partial results survive an interrupted run
            for window, m in result["windows"].items():
                print(
                    f"    {window}: H {np.mean(m['state_entropy']):.3f}, behaviour success "
                    f"{np.mean(m['behaviour_success']):.2f}, greedy {np.mean(m['greedy_success']):.2f}",
                    flush=True,
                )
    data["total_seconds"] = time.perf_counter() - start
    data["verdicts"] = exploration.verdicts(data, SOFT_AGENTS, ("dqn",))
    harness.write_json(out["json"], data)
    print(f"wrote {out['json']}")
    write_report(data, args.quick)


if __name__ == "__main__":
    main()
