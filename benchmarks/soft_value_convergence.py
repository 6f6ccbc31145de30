"""Do SoftDQN and DiscreteSAC learn the exact soft Q*? Their Q networks against soft value iteration on GridWorld-v0.

For several temperatures tau, SoftDQN (temperature = tau) and DiscreteSAC (fixed entropy coefficient alpha = tau)
train on the open 8 x 8 GridWorld (9 moves) with the discount of ``zoo_configs/soft_dqn.yml`` (gamma 0.9); every
``--eval-every`` steps the Q network (``tabular_policy_from_model``; for DiscreteSAC the min of its twin critics)
is evaluated on every state and compared with the soft Q* that ``soft_value_iteration`` computes from the
environment's transition model, over the non-terminal states and all actions:

* ``max_rel``  = max |Q - Q*| / max |Q*|
* ``mean_rel`` = mean |Q - Q*| / max |Q*|
* ``v_max_rel`` = max |V - V*| / max |V*| with V = tau logsumexp(Q / tau) (the actions the soft policy
  rarely takes weigh little here).
* ``tv_max`` / ``tv_mean`` = max / mean over the non-terminal states of the total variation
  0.5 sum_a |pi(a|s) - pi*(a|s)| between the agent's policy (DiscreteSAC's actor; SoftDQN's softmax(Q / tau))
  and the soft-optimal pi*.

DiscreteSAC takes the ``GridWorld-v0`` entry of ``zoo_configs/discrete_sac.yml`` with ``ent_coef = tau`` and
SoftDQN's update cadence (``train_freq`` 4, one gradient step), so that both agents make the same number of
updates on the same data budget.

Control: SB3's DQN (hard max target, epsilon-greedy) with the same settings, compared with the same soft Q*
(and with the hard Q*). Where soft and hard Q* differ it must not converge to the soft one.

Coverage: episodes start in a uniformly drawn non-terminal cell (exploring starts, through the env's
``reset(options={"start": cell})``), the first ``learning_starts`` steps are uniformly random actions, and
the replay buffer keeps the whole run, so every state-action pair is in the data; otherwise the Q-values of
actions that a low-temperature Boltzmann policy never takes stay unlearned and dominate the max error. The
other settings are the ``GridWorld-v0`` entries of ``zoo_configs/soft_dqn.yml`` / ``dqn.yml`` /
``discrete_sac.yml``.

``--agents`` runs a subset of the agents; with ``--reuse`` the runs of the other agents are kept from the
recorded JSON (same steps, warm-up, evaluation period and temperatures, checked), so that adding an agent
does not retrain the others.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/soft_value_convergence.py           # full: 3 seeds
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/soft_value_convergence.py --agents discrete_sac --reuse
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/soft_value_convergence.py --quick   # ~1 minute, *_quick.* files
    .venv/bin/python benchmarks/soft_value_convergence.py --report                    # re-render md/png from JSON

Writes ``benchmarks/results/soft_value_convergence{,_quick}.json``, ``.md`` and ``.png``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import harness
import numpy as np
import torch as th
from matplotlib.figure import Figure
from numpy.typing import NDArray
from stable_baselines3 import DQN
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from sb3_maxent.common.soft_math import boltzmann_policy_numpy, soft_value_numpy
from sb3_maxent.discrete_sac import DiscreteSAC
from sb3_maxent.envs.gridworld import GridWorldEnv
from sb3_maxent.envs.plotting import save_figure, tabular_policy_from_model
from sb3_maxent.envs.solver import SoftSolution, hard_value_iteration, soft_value_iteration
from sb3_maxent.soft_dqn import SoftDQN

NAME = "soft_value_convergence"
ENV_ID = "GridWorld-v0"

FULL: dict[str, Any] = {
    "seeds": 3,
    "steps": 40_000,
    "learning_starts": 8_000,
    "eval_every": 2_000,
    "taus": [0.05, 0.2, 1.0],
}
QUICK: dict[str, Any] = {"seeds": 2, "steps": 2_000, "learning_starts": 1_000, "eval_every": 500, "taus": [0.2]}
#: Pairs the soft-optimal policy takes with at least this probability (the table's "likely pairs" column)
MIN_POLICY = 1e-3
METRICS: tuple[str, ...] = ("max_rel", "mean_rel", "v_max_rel", "tv_max", "tv_mean")
METRIC_LABELS: dict[str, str] = {
    "max_rel": "max|Q - Q*| / max|Q*|",
    "mean_rel": "mean|Q - Q*| / max|Q*|",
    "v_max_rel": "max|V - V*| / max|V*|",
    "tv_max": "max TV(pi, pi*)",
    "tv_mean": "mean TV(pi, pi*)",
}
AGENTS: tuple[str, ...] = ("soft_dqn", "discrete_sac", "dqn")
AGENT_LABELS: dict[str, str] = {"soft_dqn": "SoftDQN", "discrete_sac": "DiscreteSAC", "dqn": "DQN"}


class ExploringStarts(gym.Wrapper[Any, Any, Any, Any]):
    """Start every episode in a uniformly drawn non-terminal cell of a GridWorld (the model, hence Q*, is unchanged)."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        grid: GridWorldEnv = env.unwrapped  # type: ignore[assignment]
        self._cells = [grid.to_cell(int(s)) for s in np.flatnonzero(grid.free_mask.ravel())]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        if seed is not None:
            self.env.reset(seed=seed)  # seeds the env's np_random, which draws the start
        index = int(self.env.unwrapped.np_random.integers(len(self._cells)))
        return self.env.reset(options={**(options or {}), "start": self._cells[index]})


def zoo_settings(algo: str) -> dict[str, Any]:
    """
    The rl-zoo hyperparameters of ``algo`` for GridWorld-v0, without the temperature (set per run here);
    DiscreteSAC with SoftDQN's update cadence.
    """
    settings = harness.zoo_settings(algo, ENV_ID)
    settings.pop("temperature", None)
    settings.pop("ent_coef", None)
    if algo == "discrete_sac":
        soft_dqn = harness.zoo_settings("soft_dqn", ENV_ID)
        settings.update(train_freq=soft_dqn["train_freq"], gradient_steps=soft_dqn.get("gradient_steps", 1))
    return settings


def model_tables(
    model: BaseAlgorithm, temperature: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """
    Q(s, .), V(s) and pi(.|s) of a model on every state: for DiscreteSAC the min of its twin critics, the soft
    value tau logsumexp(Q / tau) of that min and its actor's policy; otherwise ``tabular_policy_from_model``.
    """
    if isinstance(model, DiscreteSAC):
        states = th.arange(int(model.observation_space.n), device=model.device)  # type: ignore[attr-defined]
        with th.no_grad():
            q = th.min(th.stack(model.critic(states)), dim=0).values.cpu().numpy().astype(np.float64)
            pi = model.actor.log_probs(states).exp().cpu().numpy().astype(np.float64)
        return q, soft_value_numpy(q, temperature), pi
    table = tabular_policy_from_model(model, temperature=temperature)
    assert table.q_values is not None
    return table.q_values, table.values, table.policy


def total_variation(
    policy: NDArray[np.float64], solution: SoftSolution, active: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """TV(pi(.|s), pi*(.|s)) = 0.5 sum_a |pi - pi*| on each ``active`` state."""
    return 0.5 * np.abs(policy[active] - solution.policy[active]).sum(axis=1)


def relative_errors(
    q: NDArray[np.float64],
    values: NDArray[np.float64],
    policy: NDArray[np.float64],
    solution: SoftSolution,
    active: NDArray[np.bool_],
) -> dict[str, float]:
    """The errors of a Q table, its soft values and a policy against a solver result, on ``active`` states."""
    q_star, v_star = solution.q_values[active], solution.values[active]
    diff = np.abs(q[active] - q_star)
    scale = float(np.abs(q_star).max())
    tv = total_variation(policy, solution, active)
    return {
        "max_rel": float(diff.max() / scale),
        "mean_rel": float(diff.mean() / scale),
        "v_max_rel": float(np.abs(values[active] - v_star).max() / np.abs(v_star).max()),
        "tv_max": float(tv.max()),
        "tv_mean": float(tv.mean()),
    }


class QErrorCallback(BaseCallback):
    """
    Every ``eval_every`` steps, compare the model's Q table with each reference solution.

    :param references: name -> solver result (soft Q* per tau, hard Q*)
    :param active: non-terminal states
    :param eval_every: evaluation period in environment steps
    """

    def __init__(self, references: dict[str, SoftSolution], active: NDArray[np.bool_], eval_every: int) -> None:
        super().__init__()
        self.references = references
        self.active = active
        self.eval_every = eval_every
        self.steps: list[int] = []
        self.errors: dict[str, dict[str, list[float]]] = {
            name: {metric: [] for metric in METRICS} for name in references
        }

    def record(self) -> None:
        self.steps.append(self.num_timesteps)
        for name, solution in self.references.items():
            # soft values at the reference's temperature (max_a Q for the hard reference)
            q, values, policy = model_tables(self.model, solution.tau)
            for metric, value in relative_errors(q, values, policy, solution, self.active).items():
                self.errors[name][metric].append(value)

    def pop_step(self, step: int) -> None:
        """Drop the evaluation recorded at ``step`` if it is the last one."""
        if self.steps and self.steps[-1] == step:
            self.steps.pop()
            for errors in self.errors.values():
                for values in errors.values():
                    values.pop()

    def _on_training_start(self) -> None:
        self.record()

    def _on_step(self) -> bool:
        if self.num_timesteps % self.eval_every == 0:
            self.record()
        return True


def pairs_covered(model: BaseAlgorithm, n_states: int, n_actions: int, active: NDArray[np.bool_]) -> float:
    """Fraction of the (non-terminal state, action) pairs present in the replay buffer."""
    buffer = model.replay_buffer  # type: ignore[attr-defined]
    size = buffer.buffer_size if buffer.full else buffer.pos
    seen = np.zeros((n_states, n_actions), dtype=bool)
    seen[buffer.observations[:size, 0].reshape(-1).astype(np.int64), buffer.actions[:size, 0].reshape(-1)] = True
    return float(seen[active].mean())


def run_one(agent: str, tau: float | None, seed: int, budget: dict[str, Any], gamma: float) -> dict[str, Any]:
    """Train SoftDQN or DiscreteSAC at temperature ``tau`` (or the DQN control, ``tau`` None); record its errors."""
    env = ExploringStarts(gym.make(ENV_ID))
    grid: GridWorldEnv = env.unwrapped  # type: ignore[assignment]
    active = ~grid.terminal_mask
    references: dict[str, SoftSolution] = {
        f"soft_tau={t:g}": soft_value_iteration(grid, gamma, t) for t in budget["taus"]
    }
    references["hard"] = hard_value_iteration(grid, gamma)
    if tau is not None:  # SoftDQN, DiscreteSAC: compare with their own soft Q* only
        references = {f"soft_tau={tau:g}": references[f"soft_tau={tau:g}"]}
    coverage = {"learning_starts": budget["learning_starts"], "buffer_size": budget["steps"]}
    model: BaseAlgorithm
    if agent == "dqn":
        settings = {**zoo_settings("dqn"), **coverage}
        model = DQN(settings.pop("policy"), env, seed=seed, **settings)
    elif agent == "discrete_sac":
        settings = {**zoo_settings("discrete_sac"), **coverage}
        model = DiscreteSAC(settings.pop("policy"), env, seed=seed, ent_coef=tau, **settings)
    else:
        settings = {**zoo_settings("soft_dqn"), **coverage}
        model = SoftDQN(settings.pop("policy"), env, seed=seed, temperature=tau, **settings)
    callback = QErrorCallback(references, active, budget["eval_every"])
    start = time.perf_counter()
    model.learn(budget["steps"], callback=callback)
    seconds = time.perf_counter() - start
    # The last callback call comes before the final gradient step(s): evaluate the trained model once more
    callback.pop_step(model.num_timesteps)
    callback.record()
    final_q, _, final_policy = model_tables(model, tau or 0.0)
    record: dict[str, Any] = {"final_q": final_q.round(6).tolist()}
    if agent == "discrete_sac":  # the actor (the other agents' policies follow from their Q)
        record["final_policy"] = final_policy.round(6).tolist()
    return {
        **record,
        "agent": agent,
        "tau": tau,
        "seed": seed,
        "train_seconds": seconds,
        "pairs_covered": pairs_covered(model, grid.n_states, grid.n_actions, active),
        "steps": callback.steps,
        "errors": callback.errors,
    }


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------
def fmt(values: Sequence[float], percent: bool = True, digits: int = 2) -> str:
    """``mean ± std`` of relative errors, in percent; a single run's value alone (no spread to show)."""
    if len(values) == 1:
        return f"{values[0] * (100 if percent else 1):.{digits}f}{'%' if percent else ''} (1 seed)"
    return harness.fmt(values, digits=digits, percent=percent)


def paths(quick: bool) -> dict[str, Path]:
    return {key: harness.result_path(NAME, quick, f".{key}") for key in ("json", "md", "png")}


def soft_runs(data: dict[str, Any], tau: float, agent: str = "soft_dqn") -> list[dict[str, Any]]:
    return [r for r in data["runs"] if r["agent"] == agent and r["tau"] == tau]


def agent_seeds(data: dict[str, Any], agent: str) -> list[int]:
    return sorted({r["seed"] for r in data["runs"] if r["agent"] == agent})


def seeds_text(data: dict[str, Any]) -> str:
    """The seeds of each agent, e.g. ``SoftDQN: 3 seeds (0, 1, 2)``."""
    parts = []
    for agent in AGENTS:
        seeds = agent_seeds(data, agent)
        if seeds:
            count = f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''}"
            parts.append(f"{AGENT_LABELS[agent]}: {count} ({', '.join(map(str, seeds))})")
    return "; ".join(parts)


def dqn_runs(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in data["runs"] if r["agent"] == "dqn"]


def final(runs: list[dict[str, Any]], reference: str, metric: str) -> list[float]:
    return [r["errors"][reference][metric][-1] for r in runs]


def separation(data: dict[str, Any], tau: float) -> dict[str, Any]:
    """Final max error to the soft Q*: DQN minus SoftDQN, against the larger seed std of the two."""
    reference = f"soft_tau={tau:g}"
    soft_mean, soft_std, _ = harness.mean_std(final(soft_runs(data, tau), reference, "max_rel"))
    dqn_mean, dqn_std, _ = harness.mean_std(final(dqn_runs(data), reference, "max_rel"))
    difference, threshold = dqn_mean - soft_mean, max(soft_std, dqn_std)
    separated = min(len(agent_seeds(data, "soft_dqn")), len(agent_seeds(data, "dqn"))) >= 2 and difference > threshold
    return {"difference": difference, "threshold": threshold, "separated": separated}


def likely_pairs_error(run: dict[str, Any], grid: GridWorldEnv, gamma: float) -> float:
    """Final max |Q - Q*| / max |Q*| of a SoftDQN run over the non-terminal pairs with pi*(a|s) >= MIN_POLICY."""
    solution = soft_value_iteration(grid, gamma, run["tau"])
    likely = (~grid.terminal_mask)[:, None] & (solution.policy >= MIN_POLICY)
    diff = np.abs(np.asarray(run["final_q"]) - solution.q_values)[likely]
    return float(diff.max() / np.abs(solution.q_values[~grid.terminal_mask]).max())


def final_policy(run: dict[str, Any]) -> NDArray[np.float64]:
    """The final policy of a run: DiscreteSAC's actor, SoftDQN's softmax(Q / tau)."""
    if "final_policy" in run:
        return np.asarray(run["final_policy"])
    return boltzmann_policy_numpy(np.asarray(run["final_q"]), run["tau"])


def final_tv(run: dict[str, Any], grid: GridWorldEnv, gamma: float, reduce: str) -> float:
    """Final max or mean (``reduce``) total variation of a run's policy from its soft pi*, on non-terminal states."""
    solution = soft_value_iteration(grid, gamma, run["tau"])
    tv = total_variation(final_policy(run), solution, ~grid.terminal_mask)
    return float(tv.max() if reduce == "max" else tv.mean())


def render_plot(data: dict[str, Any], quick: bool) -> Path:
    """Relative errors vs environment steps: one colour per tau, SoftDQN solid (mean ± std), DQN control dashed."""
    figure = Figure(figsize=(19, 4.8), layout="constrained")
    axes = figure.subplots(1, 3)
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]
    for ax, metric in zip(axes, ("max_rel", "mean_rel", "tv_max"), strict=True):
        for colour, tau in zip(colours, data["taus"], strict=False):
            reference = f"soft_tau={tau:g}"
            for runs, style, label in (
                (soft_runs(data, tau), "-", f"SoftDQN tau={tau:g}"),
                (soft_runs(data, tau, "discrete_sac"), ":", f"DiscreteSAC alpha={tau:g}"),
                (dqn_runs(data), "--", f"DQN (control) vs soft Q*, tau={tau:g}"),
            ):
                # runs recorded before a metric existed (tv_* of older SoftDQN runs) have no curve for it
                runs = [r for r in runs if metric in r["errors"][reference]]
                if not runs:
                    continue
                steps = np.asarray(runs[0]["steps"])
                curves = np.asarray([r["errors"][reference][metric] for r in runs])
                mean, std = curves.mean(axis=0), curves.std(axis=0, ddof=1) if len(runs) > 1 else 0 * curves[0]
                ax.plot(steps, mean, style, color=colour, label=label)
                ax.fill_between(steps, np.maximum(mean - std, 1e-6), mean + std, color=colour, alpha=0.15)
        dqn = [r for r in dqn_runs(data) if metric in r["errors"]["hard"]]
        if dqn:
            curves = np.asarray([r["errors"]["hard"][metric] for r in dqn])
            ax.plot(dqn[0]["steps"], curves.mean(axis=0), "-.", color="black", label="DQN (control) vs hard Q*")
        ax.axvline(data["budget"]["learning_starts"], color="grey", linewidth=0.8, linestyle=":")
        ax.set_yscale("log")
        ax.set_xlabel("environment steps")
        ax.set_ylabel(METRIC_LABELS[metric])
        ax.set_title(f"{METRIC_LABELS[metric]} (mean ± std over seeds)")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    figure.suptitle(
        f"{ENV_ID}, gamma={data['gamma']:g}: learned Q and policy vs the exact soft Q* and pi* "
        "(grey vertical line: end of the random warm-up)"
    )
    return save_figure(figure, paths(quick)["png"])


def render_markdown(data: dict[str, Any], quick: bool) -> str:
    budget = data["budget"]
    commands = data["commands"] if "commands" in data else [data["command"]]
    lines = [
        f"## SoftDQN's and DiscreteSAC's Q against the exact soft Q*{' (quick run)' if quick else ''}",
        "",
        "Command" + ("s (the second adds agents to the first's runs, `--reuse`)" if len(commands) > 1 else "") + ":",
        "",
        "```bash",
        *commands,
        "```",
        "",
        f"{ENV_ID} (open 8 x 8 grid, 9 moves, goal reward 1), gamma = {data['gamma']:g} (zoo config), "
        f"{budget['steps']:,} environment steps per run; {seeds_text(data)}; "
        f"{data['total_seconds'] / 60:.1f} min in total on {data['machine']}. Settings: the `GridWorld-v0` entries "
        "of `zoo_configs/soft_dqn.yml` and `zoo_configs/dqn.yml` (MlpPolicy 64-64, learning rate 1e-3, batch 64, "
        "train_freq 4, target update every 500 steps; DQN: epsilon 1 → 0.05 over 30% of training) and "
        "`zoo_configs/discrete_sac.yml` (actor and twin critics 64-64, learning rate 1e-3, batch 64, Polyak "
        "tau 0.005 per gradient step, fixed `ent_coef` = tau, with SoftDQN's train_freq 4 so that both make the "
        "same number of updates), except, for "
        "coverage: exploring starts (uniform non-terminal start cell), "
        f"`learning_starts={budget['learning_starts']:,}` "
        f"uniformly random steps, and a replay buffer holding the whole run (`buffer_size={budget['steps']:,}`). "
        "Errors over the non-terminal states and all actions; Q* from `soft_value_iteration` on the env's model. "
        "Values: mean ± sample std over seeds.",
        "",
        "Final errors (at the last step):",
        "",
        "| tau | soft vs hard Q*: max gap / max abs soft Q* | SoftDQN max rel. error | SoftDQN mean-abs rel. error "
        f"| SoftDQN soft-value max rel. error | SoftDQN max rel. error where pi*(a given s) >= {MIN_POLICY:g} "
        "| DQN control vs soft Q*: max | DQN control vs soft Q*: mean-abs "
        "| DQN farther than SoftDQN (max error; rule: difference > larger std) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    grid = GridWorldEnv("open")
    active = ~grid.terminal_mask
    for tau in data["taus"]:
        reference = f"soft_tau={tau:g}"
        soft, dqn = soft_runs(data, tau), dqn_runs(data)
        control = "n/a | n/a | n/a"
        if dqn:
            sep = separation(data, tau)
            control = (
                f"{fmt(final(dqn, reference, 'max_rel'))} | {fmt(final(dqn, reference, 'mean_rel'))} "
                f"| {'yes' if sep['separated'] else 'no'} ({100 * sep['difference']:+.1f} pts, threshold "
                f"{100 * sep['threshold']:.1f})"
            )
        lines.append(
            f"| {tau:g} | {100 * data['soft_hard_gap'][reference]:.1f}% | {fmt(final(soft, reference, 'max_rel'))} "
            f"| {fmt(final(soft, reference, 'mean_rel'))} | {fmt(final(soft, reference, 'v_max_rel'))} "
            f"| {fmt([likely_pairs_error(r, grid, data['gamma']) for r in soft])} | {control} |"
        )
    dqn = dqn_runs(data)
    if dqn:
        lines += [
            "",
            f"DQN control against the hard Q* (its own fixed point): max {fmt(final(dqn, 'hard', 'max_rel'))}, "
            f"mean-abs {fmt(final(dqn, 'hard', 'mean_rel'))}.",
        ]
    lines += [
        "",
        "SoftDQN and DiscreteSAC side by side (final; DiscreteSAC's Q is the min of its twin critics, its policy "
        "the actor's; SoftDQN's policy is softmax(Q / tau); TV = total variation from pi* over the non-terminal "
        "states):",
        "",
        "| tau (= alpha) | agent | max rel. error | mean-abs rel. error | soft-value max rel. error "
        f"| max rel. error where pi*(a given s) >= {MIN_POLICY:g} | max TV(pi, pi*) | mean TV(pi, pi*) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for tau in data["taus"]:
        reference = f"soft_tau={tau:g}"
        for agent in ("soft_dqn", "discrete_sac"):
            runs = soft_runs(data, tau, agent)
            if not runs:
                continue
            lines.append(
                f"| {tau:g} | {AGENT_LABELS[agent]} | {fmt(final(runs, reference, 'max_rel'))} "
                f"| {fmt(final(runs, reference, 'mean_rel'))} | {fmt(final(runs, reference, 'v_max_rel'))} "
                f"| {fmt([likely_pairs_error(r, grid, data['gamma']) for r in runs])} "
                f"| {fmt([final_tv(r, grid, data['gamma'], 'max') for r in runs], percent=False, digits=3)} "
                f"| {fmt([final_tv(r, grid, data['gamma'], 'mean') for r in runs], percent=False, digits=3)} |"
            )
    lines += [
        "",
        "Where the final max error sits (each seed's worst non-terminal state-action pair against its own "
        "reference: SoftDQN and DiscreteSAC vs their soft Q*, DQN vs the hard Q*):",
        "",
        "| agent | seed | cell (row, col) | action | Q | Q* | pi*(a given s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in data["runs"]:
        tau = run["tau"]
        solution = (
            hard_value_iteration(grid, data["gamma"]) if tau is None else soft_value_iteration(grid, data["gamma"], tau)
        )
        q = np.asarray(run["final_q"])
        diff = np.where(active[:, None], np.abs(q - solution.q_values), -np.inf)
        state, action = np.unravel_index(int(np.argmax(diff)), diff.shape)
        agent = "DQN" if tau is None else f"{AGENT_LABELS[run['agent']]} tau={tau:g}"
        lines.append(
            f"| {agent} | {run['seed']} | {grid.to_cell(int(state))} | {grid.action_names[action]} "
            f"| {q[state, action]:.3f} | {solution.q_values[state, action]:.3f} "
            f"| {solution.policy[state, action]:.2g} |"
        )
    coverage = [r["pairs_covered"] for r in data["runs"]]
    lines += [
        "",
        f"State-action pairs present in the replay buffer at the end: {100 * min(coverage):.1f}% to "
        f"{100 * max(coverage):.1f}% of the non-terminal pairs over all runs.",
        "",
        f"![relative error vs steps]({paths(quick)['png'].name})",
        "",
    ]
    return "\n".join(lines)


def write_report(data: dict[str, Any], quick: bool) -> None:
    harness.write_report(paths(quick)["md"], render_markdown(data, quick), lambda: render_plot(data, quick))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_run_arguments(parser, "tiny run (2 seeds, 2000 steps, tau 0.2): writes *_quick.* files")
    parser.add_argument("--seeds", type=int, default=None, help=f"number of seeds (default {FULL['seeds']})")
    parser.add_argument("--steps", type=int, default=None, help=f"env steps per run (default {FULL['steps']})")
    parser.add_argument("--taus", type=float, nargs="+", default=None, help=f"temperatures (default {FULL['taus']})")
    parser.add_argument("--no-control", action="store_true", help="skip the DQN control runs")
    parser.add_argument(
        "--agents", nargs="+", choices=AGENTS, default=list(AGENTS), help="agents to train (default: all)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep the recorded runs of the agents not trained now (same budget)"
    )
    args = parser.parse_args(argv)

    out = paths(args.quick)
    if harness.report_requested(args, out["json"], write_report):
        return

    th.set_num_threads(1)
    budget = harness.budget(FULL, QUICK, args.quick, seeds=args.seeds, steps=args.steps, taus=args.taus)
    gamma = float(zoo_settings("soft_dqn")["gamma"])
    grid = GridWorldEnv("open")
    active = ~grid.terminal_mask
    hard = hard_value_iteration(grid, gamma)
    gaps = {}
    for tau in budget["taus"]:
        soft = soft_value_iteration(grid, gamma, tau)
        gaps[f"soft_tau={tau:g}"] = float(
            np.abs(soft.q_values[active] - hard.q_values[active]).max() / np.abs(soft.q_values[active]).max()
        )
    seeds = list(range(budget["seeds"]))
    agents = [a for a in args.agents if not (args.no_control and a == "dqn")]
    data: dict[str, Any] = {
        "commands": [harness.command_line()],
        "budget": budget,
        "seeds": seeds,
        "taus": budget["taus"],
        "gamma": gamma,
        "soft_hard_gap": gaps,
        "settings": {agent: zoo_settings(agent) for agent in AGENTS},
        "machine": harness.machine(),
        "versions": harness.versions("sb3_maxent", "stable_baselines3", "torch"),
        "runs": [],
    }
    previous_seconds = 0.0
    if args.reuse:
        recorded = harness.read_json(out["json"])
        for key in ("steps", "learning_starts", "eval_every", "taus"):
            if recorded["budget"][key] != budget[key]:
                raise SystemExit(f"--reuse: the recorded {key} {recorded['budget'][key]} differs from {budget[key]}")
        data["runs"] = [r for r in recorded["runs"] if r["agent"] not in agents]
        data["commands"] = recorded.get("commands", [recorded.get("command")]) + data["commands"]
        data["seeds"] = sorted({*seeds, *(r["seed"] for r in data["runs"])})
        previous_seconds = float(recorded["total_seconds"])
    jobs: list[tuple[str, float | None]] = [
        (agent, tau) for agent in agents if agent != "dqn" for tau in budget["taus"]
    ] + [("dqn", None)] * ("dqn" in agents)
    start = time.perf_counter()
    for seed in seeds:
        for agent, tau in jobs:
            record = run_one(agent, tau, seed, budget, gamma)
            data["runs"].append(record)
            summary = ", ".join(
                f"{name}: max {errors['max_rel'][-1]:.4f} mean {errors['mean_rel'][-1]:.4f}"
                for name, errors in record["errors"].items()
            )
            print(f"{agent} tau={tau} seed {seed} ({record['train_seconds']:.0f} s): {summary}", flush=True)
    data["total_seconds"] = previous_seconds + time.perf_counter() - start
    if dqn_runs(data) and any(r["agent"] == "soft_dqn" for r in data["runs"]):
        data["separation"] = {f"soft_tau={tau:g}": separation(data, tau) for tau in budget["taus"]}
    harness.write_json(out["json"], data)
    print(f"wrote {out['json']}")
    write_report(data, args.quick)


if __name__ == "__main__":
    main()
