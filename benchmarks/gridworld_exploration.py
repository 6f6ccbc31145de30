"""Exploration on the GridWorld: epsilon-greedy DQN against SoftDQN's Boltzmann exploration.

The soft Q-learning blog in the project's references shows, after 100 episodes on its grid world, a
visitation map in which soft Q-learning has reached every corner while the Q-learning agent has not.
This benchmark measures that claim with SB3 agents, over many seeds and with a fixed step budget:

* ``dqn``: SB3's DQN, epsilon-greedy, every setting from the ``GridWorld-v0`` entry of ``zoo_configs/dqn.yml``;
* ``soft_dqn_const``: SoftDQN at a constant temperature (default: the tuned 0.01 of ``zoo_configs/soft_dqn.yml``);
* ``soft_dqn_annealed``: SoftDQN with the blog's annealing (0.5 lowered by 1e-5 at every read until it
  reaches 0.005, read three times per environment step), i.e.
  ``linear_schedule_from_rate(0.5, 0.005, rate=-1e-5, total_calls=3 * total_timesteps)``.

Both SoftDQN agents otherwise use the ``GridWorld-v0`` entry of ``zoo_configs/soft_dqn.yml`` (identical to
DQN's apart from the exploration settings). Each agent trains for the same number of environment steps on
the blog-style open grid (``GridWorld-v0``) and on the two-goal layout (``GridWorldTwoGoals-v0``).

Measured per run: distinct states visited and the entropy of the state-visitation distribution over the
first ``--first-episodes`` training episodes (default 100, as in the blog's figure), environment steps to the
first goal, the success rate of greedy (deterministic) and of stochastic evaluation episodes
(``evaluate_policy``; stochastic means Boltzmann sampling at the final temperature for SoftDQN and
epsilon-greedy at the final epsilon for DQN), and which goal each training and evaluation episode ended at.

The verdict on "soft Q-learning explores more evenly than epsilon-greedy" is computed, not written: for a
SoftDQN agent and a layout it is "reproduced" only when the SoftDQN mean visitation entropy exceeds DQN's by
more than the larger of the two seed standard deviations.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gridworld_exploration.py            # full: 10 seeds
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gridworld_exploration.py --quick    # ~1 minute, *_quick.* files
    .venv/bin/python benchmarks/gridworld_exploration.py --report                     # re-render md/png from JSON

Writes ``benchmarks/results/gridworld_exploration{,_quick}.json``, ``.md`` and one PNG of visitation heatmaps
per layout (``gridworld_exploration_<layout>{,_quick}.png``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import stable_baselines3
import torch as th
import yaml
from matplotlib.figure import Figure
from numpy.typing import NDArray
from stable_baselines3 import DQN
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.utils import set_random_seed

import sb3_maxent  # registers the GridWorld ids
from sb3_maxent.common import linear_schedule_from_rate
from sb3_maxent.envs.gridworld import GridWorldEnv
from sb3_maxent.envs.plotting import VisitCountCallback, plot_visits, save_figure
from sb3_maxent.envs.solver import soft_value_iteration
from sb3_maxent.soft_dqn import SoftDQN
from sb3_maxent.zoo.configs import config_path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
NAME = "gridworld_exploration"

ENV_IDS: dict[str, str] = {"open": "GridWorld-v0", "two_goals": "GridWorldTwoGoals-v0"}
AGENTS: tuple[str, ...] = ("dqn", "soft_dqn_const", "soft_dqn_annealed")
AGENT_LABELS: dict[str, str] = {
    "dqn": "DQN (epsilon-greedy)",
    "soft_dqn_const": "SoftDQN, constant tau",
    "soft_dqn_annealed": "SoftDQN, blog annealing",
}
SOFT_AGENTS: tuple[str, ...] = ("soft_dqn_const", "soft_dqn_annealed")

# The blog's annealing: start, floor, change per read, reads per environment step (act + two soft values)
BLOG_ANNEALING: dict[str, float] = {"start": 0.5, "end": 0.005, "rate": -1e-5, "reads_per_step": 3}

# Full run: 10 seeds at the zoo configs' own budget (n_timesteps 1e4 for both GridWorld ids), about 20 minutes
FULL: dict[str, Any] = {"seeds": 10, "steps": 10_000, "first_episodes": 100, "eval_det": 10, "eval_stoch": 100}
QUICK: dict[str, Any] = {"seeds": 2, "steps": 2_000, "first_episodes": 15, "eval_det": 2, "eval_stoch": 10}


# --------------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------------
def zoo_settings(algo: str, env_id: str) -> dict[str, Any]:
    """The rl-zoo hyperparameters of ``algo`` for ``env_id`` (packaged ``zoo_configs/<algo>.yml``), as model kwargs."""
    path = config_path(algo)
    if path is None:
        raise FileNotFoundError(f"no packaged zoo configuration for {algo!r}")
    entry = dict(yaml.safe_load(path.read_text())[env_id])
    for key in ("n_timesteps", "monitor_kwargs", "env_kwargs", "n_envs"):
        entry.pop(key, None)
    return entry


def blog_annealing(total_timesteps: int) -> Any:
    """The blog's per-read temperature annealing as a schedule of SB3's progress_remaining."""
    return linear_schedule_from_rate(
        BLOG_ANNEALING["start"],
        BLOG_ANNEALING["end"],
        rate=BLOG_ANNEALING["rate"],
        total_calls=int(BLOG_ANNEALING["reads_per_step"] * total_timesteps),
    )


def annealing_description(total_timesteps: int) -> str:
    """What the blog's annealing becomes for a run of ``total_timesteps`` steps (for the report)."""
    schedule = blog_annealing(total_timesteps)
    floor_step = math.ceil((BLOG_ANNEALING["end"] - BLOG_ANNEALING["start"]) / BLOG_ANNEALING["rate"] - 1e-6)
    floor_step = math.ceil(floor_step / BLOG_ANNEALING["reads_per_step"])
    helper = (
        f"`linear_schedule_from_rate(0.5, 0.005, rate=-1e-5, total_calls=3 * {total_timesteps})` "
        "(the blog's -1e-5 per read, 3 reads per environment step)"
    )
    if schedule.end_fraction < 1 or schedule.end == BLOG_ANNEALING["end"]:
        return (
            f"tau {schedule.start:g} → {schedule.end:g} linearly until step {floor_step:,} "
            f"({schedule.end_fraction:.3f} of training), then constant: {helper}"
        )
    return (
        f"tau {schedule.start:g} → {schedule.end:g} linearly over the whole run: {helper}; the blog's floor "
        f"{BLOG_ANNEALING['end']:g} would come at step {floor_step:,}, after this budget, so the temperature "
        f"ends at {schedule.end:g}"
    )


def make_model(
    agent: str, env: gym.Env[Any, Any], seed: int, total_timesteps: int, constant_tau: float
) -> BaseAlgorithm:
    """Build one agent with the zoo settings of ``env``'s id."""
    env_id = env.spec.id if env.spec is not None else "GridWorld-v0"
    if agent == "dqn":
        kwargs = zoo_settings("dqn", env_id)
        return DQN(kwargs.pop("policy"), env, seed=seed, **kwargs)
    kwargs = zoo_settings("soft_dqn", env_id)
    kwargs.pop("temperature", None)
    temperature: Any = constant_tau if agent == "soft_dqn_const" else blog_annealing(total_timesteps)
    return SoftDQN(kwargs.pop("policy"), env, seed=seed, temperature=temperature, **kwargs)


# --------------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------------
class ExplorationCallback(VisitCountCallback):
    """
    The library's visit counter, plus: a snapshot of the counts when the first ``n_first`` training episodes
    have ended, the goal each training episode ended at (-1: truncated), and the step of the first goal.

    :param n_first: number of training episodes covered by the snapshot
    """

    def __init__(self, n_first: int) -> None:
        super().__init__()
        self.n_first = n_first
        self.first_counts: NDArray[np.int64] | None = None
        self.first_complete = False
        self.episode_goals: list[int] = []
        self.first_goal_step: int | None = None
        self.first_policy_goal_step: int | None = None

    def _on_step(self) -> bool:
        super()._on_step()
        assert self.counts is not None
        new_obs = np.asarray(self.locals["new_obs"], dtype=np.int64).reshape(-1)
        dones = np.asarray(self.locals["dones"]).reshape(-1)
        for i in np.flatnonzero(dones):
            goal = int(self.locals["infos"][i].get("goal", -1))
            self.episode_goals.append(goal)
            if goal >= 0 and self.first_goal_step is None:
                self.first_goal_step = self.num_timesteps
            warm_up_over = self.num_timesteps > getattr(self.model, "learning_starts", 0)
            if goal >= 0 and warm_up_over and self.first_policy_goal_step is None:
                self.first_policy_goal_step = self.num_timesteps
            if len(self.episode_goals) == self.n_first and self.first_counts is None:
                snapshot = self.counts.copy()
                # the reset observation just counted starts episode n_first + 1: not part of the snapshot
                snapshot[int(new_obs[i]) - self._start] -= 1
                self.first_counts = snapshot
                self.first_complete = True
        return True

    def _on_training_end(self) -> None:
        if self.first_counts is None and self.counts is not None:
            self.first_counts = self.counts.copy()  # fewer episodes than n_first in the whole run


def visitation_stats(counts: NDArray[np.integer], grid: GridWorldEnv) -> dict[str, float]:
    """Distinct cells visited and entropy (nats) of the visitation distribution over the non-wall cells."""
    cells = np.asarray(counts, dtype=np.float64)[~grid.wall_mask.ravel()]
    probs = cells / cells.sum()
    nonzero = probs[probs > 0]
    return {"distinct_states": int((cells > 0).sum()), "entropy": float(-(nonzero * np.log(nonzero)).sum())}


def soft_optimal_success(grid: GridWorldEnv, tau: float, gamma: float) -> float:
    """Probability that the exact soft-optimal policy at ``tau`` enters a goal within ``max_steps`` from the start."""
    policy = soft_value_iteration(grid, gamma, tau).policy
    transition = np.einsum("sa,sat->st", policy, grid.transition_matrix)  # goals are absorbing: mass stays there
    distribution = np.zeros(grid.n_states)
    distribution[grid.to_state(grid.start)] = 1.0
    for _ in range(grid.max_steps):
        distribution = distribution @ transition
    return float(distribution[grid.goal_index >= 0].sum())


def goal_fractions(goals: Sequence[int], n_goals: int) -> list[float]:
    """Fraction of episodes ending at goal 0, ..., goal n_goals-1, then truncated (last entry)."""
    if not goals:
        return [math.nan] * (n_goals + 1)
    array = np.asarray(goals)
    return [float(np.mean(array == g)) for g in range(n_goals)] + [float(np.mean(array < 0))]


def minority_share(fractions: Sequence[float]) -> float:
    """Among episodes that reached a goal, the share of the least chosen goal (0: one goal only, 0.5: balanced)."""
    reached = np.asarray(fractions[:-1], dtype=np.float64)
    return float(reached.min() / reached.sum()) if reached.sum() > 0 else math.nan


def evaluate(model: BaseAlgorithm, env_id: str, n_episodes: int, deterministic: bool, seed: int) -> dict[str, Any]:
    """Success rate and goal fractions of ``n_episodes`` evaluation episodes (SB3's ``evaluate_policy``)."""
    set_random_seed(seed)
    env = Monitor(gym.make(env_id))
    env.reset(seed=seed)
    goals: list[int] = []

    def on_step(locals_: dict[str, Any], _globals: dict[str, Any]) -> None:
        if locals_["done"]:
            goals.append(int(locals_["info"].get("goal", -1)))

    returns, _ = evaluate_policy(
        model,
        env,
        n_eval_episodes=n_episodes,
        deterministic=deterministic,
        callback=on_step,
        warn=False,
        return_episode_rewards=True,
    )
    n_goals = len(env.unwrapped.goal_cells)  # type: ignore[attr-defined]
    fractions = goal_fractions(goals, n_goals)
    return {
        "episodes": len(goals),
        "success_rate": 1.0 - fractions[-1],
        "goal_fractions": fractions,
        "mean_return": float(np.mean(returns)),
    }


def run_one(layout: str, agent: str, seed: int, budget: dict[str, Any], constant_tau: float) -> dict[str, Any]:
    """Train one agent on one layout with one seed, then evaluate it."""
    env_id = ENV_IDS[layout]
    env = gym.make(env_id)
    grid: GridWorldEnv = env.unwrapped  # type: ignore[assignment]
    model = make_model(agent, env, seed, budget["steps"], constant_tau)
    callback = ExplorationCallback(budget["first_episodes"])
    start = time.perf_counter()
    model.learn(budget["steps"], callback=callback)
    seconds = time.perf_counter() - start
    assert callback.counts is not None
    assert callback.first_counts is not None
    n_goals = len(grid.goal_cells)
    first_goals = callback.episode_goals[: budget["first_episodes"]]
    record: dict[str, Any] = {
        "layout": layout,
        "agent": agent,
        "seed": seed,
        "train_seconds": seconds,
        "first_episodes_complete": callback.first_complete,
        "first": visitation_stats(callback.first_counts, grid),
        "all": visitation_stats(callback.counts, grid),
        "first_counts": callback.first_counts.tolist(),
        "all_counts": callback.counts.tolist(),
        "first_goal_step": callback.first_goal_step,
        "first_policy_goal_step": callback.first_policy_goal_step,
        "train_episodes": len(callback.episode_goals),
        "train_goal_fractions": goal_fractions(callback.episode_goals, n_goals),
        "first_goal_fractions": goal_fractions(first_goals, n_goals),
        "eval_det": evaluate(model, env_id, budget["eval_det"], True, seed + 10_000),
        "eval_stoch": evaluate(model, env_id, budget["eval_stoch"], False, seed + 20_000),
    }
    if isinstance(model, SoftDQN):
        record["final_temperature"] = model._current_temperature()
    else:
        record["final_epsilon"] = float(model.exploration_rate)  # type: ignore[attr-defined]
    return record


# --------------------------------------------------------------------------------------------------
# Aggregation and verdict
# --------------------------------------------------------------------------------------------------
def mean_std(values: Sequence[float | int | None]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (ddof=1; 0 for one value) and count of the non-missing values."""
    array = np.asarray([v for v in values if v is not None and not math.isnan(float(v))], dtype=np.float64)
    if array.size == 0:
        return math.nan, math.nan, 0
    std = float(array.std(ddof=1)) if array.size > 1 else 0.0
    return float(array.mean()), std, int(array.size)


def fmt(values: Sequence[float | int | None], digits: int = 2, percent: bool = False) -> str:
    """``mean ± std`` of the values (``(k/n)`` appended when some runs have no value)."""
    mean, std, count = mean_std(values)
    if count == 0:
        return "n/a"
    scale = 100.0 if percent else 1.0
    unit = "%" if percent else ""
    text = f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}{unit}"
    return text if count == len(values) else f"{text} ({count}/{len(values)} runs)"


def runs_of(data: dict[str, Any], layout: str, agent: str) -> list[dict[str, Any]]:
    return [r for r in data["runs"] if r["layout"] == layout and r["agent"] == agent]


def verdicts(data: dict[str, Any]) -> list[dict[str, Any]]:
    """
    For each layout and SoftDQN agent: difference of mean visitation entropy (and distinct states) over the
    first episodes, SoftDQN minus DQN, against the larger seed standard deviation of the two.
    """
    rows = []
    for layout in data["layouts"]:
        base = runs_of(data, layout, "dqn")
        for agent in SOFT_AGENTS:
            soft = runs_of(data, layout, agent)
            if not soft or not base:
                continue
            row: dict[str, Any] = {"layout": layout, "agent": agent}
            for metric in ("entropy", "distinct_states"):
                soft_mean, soft_std, n_soft = mean_std([r["first"][metric] for r in soft])
                base_mean, base_std, n_base = mean_std([r["first"][metric] for r in base])
                difference, threshold = soft_mean - base_mean, max(soft_std, base_std)
                # a standard deviation needs two seeds: with one, the claim cannot pass the rule
                passed = min(n_soft, n_base) >= 2 and difference > threshold
                row[metric] = {
                    "soft_mean": soft_mean,
                    "dqn_mean": base_mean,
                    "difference": difference,
                    "threshold": threshold,
                    "verdict": "reproduced" if passed else "not reproduced",
                }
            rows.append(row)
    return rows


def overall_verdict(rows: list[dict[str, Any]]) -> str:
    """'reproduced' only if the entropy verdict is 'reproduced' for every layout and SoftDQN agent."""
    ok = bool(rows) and all(row["entropy"]["verdict"] == "reproduced" for row in rows)
    return "reproduced" if ok else "not reproduced"


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------
def paths(quick: bool) -> dict[str, Path]:
    suffix = "_quick" if quick else ""
    out = {"json": RESULTS_DIR / f"{NAME}{suffix}.json", "md": RESULTS_DIR / f"{NAME}{suffix}.md"}
    for layout in ENV_IDS:
        out[layout] = RESULTS_DIR / f"{NAME}_{layout}{suffix}.png"
    return out


def render_heatmaps(data: dict[str, Any], quick: bool) -> list[Path]:
    """One figure per layout: visits summed over seeds, first episodes (top) and the whole training (bottom)."""
    written = []
    n_first = data["budget"]["first_episodes"]
    for layout in data["layouts"]:
        grid = GridWorldEnv(layout)
        agents = [a for a in data["agents"] if runs_of(data, layout, a)]
        figure = Figure(figsize=(1.2 + 3.6 * len(agents), 1.6 + 0.75 * grid.height * 2), layout="constrained")
        axes = figure.subplots(2, len(agents), squeeze=False)
        for col, agent in enumerate(agents):
            runs = runs_of(data, layout, agent)
            for row, (key, when) in enumerate(
                (("first_counts", f"first {n_first} episodes"), ("all_counts", f"all {data['budget']['steps']} steps"))
            ):
                counts = np.sum([r[key] for r in runs], axis=0)
                stats_key = "first" if key == "first_counts" else "all"
                entropy = fmt([r[stats_key]["entropy"] for r in runs])
                title = f"{AGENT_LABELS[agent]}\n{when}, {len(runs)} seeds\nentropy {entropy} nats"
                plot_visits(grid, counts, ax=axes[row, col], title=title)
        figure.suptitle(f"{ENV_IDS[layout]}: state visits during training (summed over seeds; black = never)")
        written.append(save_figure(figure, paths(quick)[layout]))
    return written


def render_markdown(data: dict[str, Any], quick: bool) -> str:
    budget = data["budget"]
    n_first = budget["first_episodes"]
    n_seeds = len(data["seeds"])
    rows = verdicts(data)
    lines = [
        f"## GridWorld exploration: epsilon-greedy DQN vs SoftDQN{' (quick run)' if quick else ''}",
        "",
        "Command:",
        "",
        "```bash",
        data["command"],
        "```",
        "",
        f"{n_seeds} seeds ({', '.join(map(str, data['seeds']))}), {budget['steps']:,} environment steps per agent "
        f"and layout, {data['total_seconds'] / 60:.1f} min in total on {data['machine']}. "
        f"Values are mean ± sample std over seeds (n = {n_seeds}).",
        "",
        "Agents (all other settings: the `GridWorld-v0` entries of `zoo_configs/dqn.yml` / `zoo_configs/soft_dqn.yml`,"
        " gamma 0.9, MlpPolicy, learning_starts 1000 uniform-random steps):",
        "",
        f"- **{AGENT_LABELS['dqn']}**: epsilon 1 → {data['settings']['dqn'].get('exploration_final_eps')} over the "
        f"first {data['settings']['dqn'].get('exploration_fraction')} of training.",
        f"- **{AGENT_LABELS['soft_dqn_const']}**: tau = {data['constant_tau']:g}.",
        f"- **{AGENT_LABELS['soft_dqn_annealed']}**: {annealing_description(budget['steps'])}.",
        "",
        f"Every agent acts uniformly at random for its first {data['settings']['dqn'].get('learning_starts')} steps "
        "(SB3's `learning_starts` warm-up), and with the same seed these steps are identical for all agents: they "
        f"are part of the first {n_first} episodes, and the first goal is often reached during them, hence the "
        "extra column that counts only goals reached after the warm-up.",
        "",
    ]
    for layout in data["layouts"]:
        grid = GridWorldEnv(layout)
        n_cells = int((~grid.wall_mask).sum())
        goal_names = [f"goal {g} {cell}" for g, cell in enumerate(grid.goal_cells)]
        lines += [
            f"### {ENV_IDS[layout]} ({grid.height} x {grid.width}, {len(grid.goal_cells)} goal(s), "
            f"{n_cells} non-wall cells, max entropy log {n_cells} = {math.log(n_cells):.3f} nats)",
            "",
            f"Exploration during the first {n_first} training episodes, and steps to the first goal:",
            "",
            "| agent | distinct states visited | visitation entropy (nats) | env steps to first goal "
            "| env steps to first goal after the warm-up |",
            "| --- | --- | --- | --- | --- |",
        ]
        for agent in data["agents"]:
            runs = runs_of(data, layout, agent)
            if not runs:
                continue
            lines.append(
                f"| {AGENT_LABELS[agent]} | {fmt([r['first']['distinct_states'] for r in runs], 1)} "
                f"| {fmt([r['first']['entropy'] for r in runs], 3)} | {fmt([r['first_goal_step'] for r in runs], 0)} "
                f"| {fmt([r['first_policy_goal_step'] for r in runs], 0)} |"
            )
        lines += [
            "",
            f"Final policy: success rate of {budget['eval_det']} greedy and {budget['eval_stoch']} stochastic "
            "evaluation episodes (stochastic: Boltzmann at the final temperature for SoftDQN, epsilon-greedy at the "
            "final epsilon for DQN), and where the episodes ended (training: all training episodes):",
            "",
            "| agent | success, greedy | success, stochastic | "
            + " | ".join(f"{name}: train / stoch. eval" for name in goal_names)
            + " | truncated: train / stoch. eval |",
            "| --- | --- | --- | " + " | ".join("---" for _ in goal_names) + " | --- |",
        ]
        for agent in data["agents"]:
            runs = runs_of(data, layout, agent)
            if not runs:
                continue
            cells = []
            for k in range(len(goal_names) + 1):
                train = fmt([r["train_goal_fractions"][k] for r in runs], 0, percent=True)
                stoch = fmt([r["eval_stoch"]["goal_fractions"][k] for r in runs], 0, percent=True)
                cells.append(f"{train} / {stoch}")
            lines.append(
                f"| {AGENT_LABELS[agent]} | {fmt([r['eval_det']['success_rate'] for r in runs], 0, percent=True)} "
                f"| {fmt([r['eval_stoch']['success_rate'] for r in runs], 0, percent=True)} | "
                + " | ".join(cells)
                + " |"
            )
        if len(grid.goal_cells) > 1:
            lines += [
                "",
                "Multi-modality: share of the less frequent goal among the episodes that reached a goal "
                "(0: always the same goal, 50%: both equally), per seed, then mean ± std; greedy evaluation "
                "is deterministic, so it always picks one goal:",
                "",
                "| agent | training episodes | stochastic evaluation | seeds whose stochastic evaluation reached "
                "both goals |",
                "| --- | --- | --- | --- |",
            ]
            for agent in data["agents"]:
                runs = runs_of(data, layout, agent)
                if not runs:
                    continue
                both = sum(1 for r in runs if min(r["eval_stoch"]["goal_fractions"][:-1]) > 0)
                lines.append(
                    f"| {AGENT_LABELS[agent]} "
                    f"| {fmt([minority_share(r['train_goal_fractions']) for r in runs], 0, True)} "
                    f"| {fmt([minority_share(r['eval_stoch']['goal_fractions']) for r in runs], 0, True)}"
                    f" | {both}/{len(runs)} |"
                )
        gamma = float(data["settings"]["soft_dqn"]["gamma"])
        final_taus = {
            AGENT_LABELS["soft_dqn_const"]: data["constant_tau"],
            AGENT_LABELS["soft_dqn_annealed"]: float(blog_annealing(budget["steps"])(0.0)),
        }
        reach = ", ".join(
            f"{label} (tau = {tau:g}): {100 * soft_optimal_success(grid, tau, gamma):.3g}%"
            for label, tau in final_taus.items()
        )
        lines += [
            "",
            f"For reference, the exact soft-optimal policy (`soft_value_iteration`, gamma {gamma:g}) at each SoftDQN "
            f"agent's final temperature reaches a goal within {grid.max_steps} steps from the start with "
            f"probability: {reach}.",
            "",
            f"![visits on {ENV_IDS[layout]}]({paths(quick)[layout].name})",
            "",
        ]

    lines += [
        "### Verdict",
        "",
        'Claim (soft Q-learning blog): "soft Q-learning explores more evenly than epsilon-greedy". Rule, applied by '
        f"the script: over the first {n_first} episodes, the SoftDQN mean visitation entropy minus DQN's must exceed "
        "the larger of the two seed standard deviations. Distinct states visited are shown with the same rule.",
        "",
        "| layout | SoftDQN agent | entropy: SoftDQN - DQN (threshold) | verdict | distinct states: SoftDQN - DQN "
        "(threshold) | verdict |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        ent, dis = row["entropy"], row["distinct_states"]
        lines.append(
            f"| {ENV_IDS[row['layout']]} | {AGENT_LABELS[row['agent']]} | {ent['difference']:+.3f} "
            f"({ent['threshold']:.3f}) | **{ent['verdict']}** | {dis['difference']:+.1f} ({dis['threshold']:.1f}) "
            f"| {dis['verdict']} |"
        )
    lines += [
        "",
        f"**Overall: {overall_verdict(rows)}** (reproduced only if the entropy verdict is reproduced for every "
        "layout and SoftDQN agent above).",
        "",
    ]
    return "\n".join(lines)


def write_report(data: dict[str, Any], quick: bool) -> None:
    out = paths(quick)
    out["md"].write_text(render_markdown(data, quick))
    written = render_heatmaps(data, quick)
    print(f"wrote {out['md']}" + "".join(f", {p}" for p in written))


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run (2 seeds, 2000 steps): writes *_quick.* files")
    parser.add_argument("--report", action="store_true", help="only re-render the markdown and PNGs from the JSON")
    parser.add_argument("--seeds", type=int, default=None, help=f"number of seeds (default {FULL['seeds']})")
    parser.add_argument("--steps", type=int, default=None, help=f"env steps per agent (default {FULL['steps']})")
    parser.add_argument("--first-episodes", type=int, default=None, help="episodes covered by the exploration metrics")
    parser.add_argument(
        "--constant-tau", type=float, default=None, help="temperature of soft_dqn_const (default: zoo_configs value)"
    )
    parser.add_argument("--layouts", nargs="+", choices=list(ENV_IDS), default=list(ENV_IDS))
    parser.add_argument("--agents", nargs="+", choices=list(AGENTS), default=list(AGENTS))
    args = parser.parse_args(argv)

    out = paths(args.quick)
    if args.report:
        write_report(json.loads(out["json"].read_text()), args.quick)
        return

    th.set_num_threads(1)
    budget = dict(QUICK if args.quick else FULL)
    for key, value in (("seeds", args.seeds), ("steps", args.steps), ("first_episodes", args.first_episodes)):
        if value is not None:
            budget[key] = value
    soft_settings = zoo_settings("soft_dqn", "GridWorld-v0")
    constant_tau = float(soft_settings["temperature"] if args.constant_tau is None else args.constant_tau)
    schedule = blog_annealing(budget["steps"])
    annealing = {**BLOG_ANNEALING, "schedule": repr(schedule)}
    seeds = list(range(budget["seeds"]))
    data: dict[str, Any] = {
        "command": "OMP_NUM_THREADS=1 .venv/bin/python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "budget": budget,
        "seeds": seeds,
        "layouts": args.layouts,
        "agents": args.agents,
        "constant_tau": constant_tau,
        "annealing": annealing,
        "settings": {"dqn": zoo_settings("dqn", "GridWorld-v0"), "soft_dqn": soft_settings},
        "machine": f"{platform.processor() or platform.machine()}, torch threads 1, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}",
        "versions": {
            "sb3_maxent": sb3_maxent.__version__,
            "stable_baselines3": stable_baselines3.__version__,
            "torch": th.__version__,
            "python": platform.python_version(),
        },
        "runs": [],
    }
    start = time.perf_counter()
    for layout in args.layouts:
        for seed in seeds:
            for agent in args.agents:
                record = run_one(layout, agent, seed, budget, constant_tau)
                data["runs"].append(record)
                print(
                    f"{layout:9s} {agent:17s} seed {seed}: entropy {record['first']['entropy']:.3f}, "
                    f"distinct {record['first']['distinct_states']}, first goal {record['first_goal_step']}, "
                    f"greedy success {record['eval_det']['success_rate']:.2f}, "
                    f"stochastic {record['eval_stoch']['success_rate']:.2f} ({record['train_seconds']:.0f} s)",
                    flush=True,
                )
    data["total_seconds"] = time.perf_counter() - start
    data["verdicts"] = verdicts(data)
    data["overall_verdict"] = overall_verdict(data["verdicts"])
    out["json"].parent.mkdir(parents=True, exist_ok=True)
    out["json"].write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {out['json']}")
    write_report(data, args.quick)
    print(f"overall verdict: {data['overall_verdict']}")


if __name__ == "__main__":
    main()
