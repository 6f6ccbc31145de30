"""Tabular track: the soft Q-learning blog's own experiment, on our GridWorld, many runs, fixed step windows.

The blog (``seeds/soft-q-learning-gridworld-blog.md`` in the project's references) trains a tabular agent and
shows, after 100 episodes, that its soft Q-learning agent has visited the grid more evenly than a Q-learning
agent whose actions are drawn from a softmax of Q at temperature 1. This script repeats that experiment with
the blog's code read line by line, and adds the comparators and measurements a verdict needs.

Protocol kept from the blog's code: Q-table initialised at 0, learning rate 0.1, gamma 0.9, at most 100 steps
per episode, the update ``Q[s, a] += 0.1 * (r + 0.9 * V(Q[s']) - Q[s, a])`` with no ``(1 - done)`` mask (the
goal's row of Q is never updated, so it stays 0, and ``V`` of it is 0 for max, ``tau * log |A|`` for the soft
value), exponentials clipped to [-300, 300] where the blog clips them, and ``n_visits[s, a]`` counted for the
state acted in. Agents:

* ``uniform``: uniform random actions (a reference: what "evenly" can mean within the step limit);
* ``softmax_t1``: the blog's comparator, actions sampled from ``softmax(Q / 1)``, max backup;
* ``eps_greedy``: the blog's Q-learning, epsilon 0.1 (uniform over all actions), otherwise an argmax with
  random tie-breaking, max backup;
* ``sql_blog``: soft Q-learning as the blog coded it, tau 0.05: ``pi = exp((Q - V_soft) / tau)`` is passed to
  the T = 1 softmax again, so the actions follow ``softmax(pi)``; since ``pi`` lies in [0, 1], no action is
  ever more than e times as likely as another, whatever Q and tau are;
* ``sql_blog_annealed``: the same with the blog's annealing object (0.5, lowered by 1e-5 at every read down to
  0.005, read once by the policy and twice by the soft value: 3 reads per step, the floor from step 16,500);
* ``sql``: standard soft Q-learning, actions from ``softmax(Q / tau)`` at tau 0.05, soft backup
  ``tau * logsumexp(Q / tau)`` (computed stably);
* ``sql_annealed``: the same with the blog's annealing sequence (the policy's read at the step, the value's
  first read for the backup).

Differences from the blog, and what each decides: the environment is our ``GridWorld-v0`` (8 x 8, 8 moves +
stay, reward 1 at the far corner) and ``GridWorldTwoGoals-v0`` (the blog's grid world is in a notebook that is
not published); 20 independent runs from one seeded generator per (layout, agent) instead of one unseeded run;
every agent runs the same number of environment steps and is measured in windows of a fixed number of steps
(an agent that fails plays longer episodes, so a window of episodes gives it more steps and a higher
visitation entropy); the blog's window, the first 100 episodes, is reported as well, with the steps it took;
the blog trains its annealed agent for 1,000 episodes, we run every agent 100,000 steps (at most 1,000 episodes
of 100 steps), long enough for the annealing to reach its floor at step 16,500; greedy success follows the
argmax policy (``np.argmax``, as the blog's trajectory plot) for up to 100 steps where the blog draws 20.

Measured per run and window: entropy of the state and of the state-action visitation (nats), states visited,
behaviour success (episodes that ended at a goal, among those that ended in the window), greedy success (the
argmax policy of the Q-table at the window's end, from the start, within 100 steps), and on two goals both
goals reached and the share of the rarer one. Verdict rule, computed by the script, per layout, window, soft
agent and comparator: a verdict only where the success rates are comparable (behaviour and greedy success each
within 10 percentage points); then "more even" if the mean state-visitation entropy exceeds the comparator's by
more than the larger of the two run standard deviations, "less even" if it falls short by as much, otherwise
"no difference".

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gridworld_tabular.py            # full: 20 runs, 1e5 steps
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gridworld_tabular.py --quick    # ~1 minute, *_quick.* files
    .venv/bin/python benchmarks/gridworld_tabular.py --report                     # re-render md/png from JSON

Writes ``benchmarks/results/gridworld_tabular{,_quick}.json``, ``.md`` and one PNG of state-action visit
heatmaps per layout (``gridworld_tabular_<layout>{,_quick}.png``).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import exploration
import harness
import numpy as np
from exploration import result_of, window_metrics
from numpy.typing import NDArray

from sb3_maxent.envs.gridworld import GridWorldEnv

NAME = "gridworld_tabular"
LAYOUTS = exploration.LAYOUTS

# The blog's hyperparameters (its train(), q_learning_policy, sql cells and AnnealingTemperature)
ALPHA, GAMMA, EPSILON, TAU, CLIP = 0.1, 0.9, 0.1, 0.05, 300.0
ANNEALING: dict[str, float] = {"temp": 0.5, "min_temp": 0.005, "rate": -1e-5}
BLOG_EPISODES = 100  # the blog's visitation figure: after 100 episodes

AGENT_LABELS: dict[str, str] = {
    "uniform": "uniform random",
    "softmax_t1": "softmax(Q), T = 1 (blog's comparator)",
    "eps_greedy": "epsilon-greedy 0.1",
    "sql_blog": "SQL as the blog coded it, tau 0.05",
    "sql_blog_annealed": "SQL as the blog coded it, annealed",
    "sql": "standard SQL, tau 0.05",
    "sql_annealed": "standard SQL, annealed",
}
AGENTS: tuple[str, ...] = tuple(AGENT_LABELS)
SOFT_AGENTS: tuple[str, ...] = ("sql_blog", "sql_blog_annealed", "sql", "sql_annealed")
COMPARATORS: tuple[str, ...] = ("softmax_t1", "eps_greedy")

FULL: dict[str, Any] = {"runs": 20, "steps": 100_000, "windows": {"early": [0, 5_000], "late": [90_000, 100_000]}}
QUICK: dict[str, Any] = {"runs": 20, "steps": 12_000, "windows": {"early": [0, 2_000], "late": [10_000, 12_000]}}


# --------------------------------------------------------------------------------------------------
# The blog's functions, vectorised over runs (rows)
# --------------------------------------------------------------------------------------------------
def clipped_exp(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.exp(np.clip(x, -CLIP, CLIP))


def softmax_clipped(x: NDArray[np.float64], temperature: float = 1.0) -> NDArray[np.float64]:
    """The blog's ``softmax``: clipped exponentials, normalised per row."""
    e = clipped_exp(x / temperature)
    return e / e.sum(axis=-1, keepdims=True)


def soft_value_clipped(q: NDArray[np.float64], t_outer: float, t_inner: float) -> NDArray[np.float64]:
    """The blog's soft value ``t * log(sum(clipped_exp(q / t)))`` (two reads of the temperature when annealed)."""
    return t_outer * np.log(clipped_exp(q / t_inner).sum(axis=-1))


def blog_sql_probabilities(q: NDArray[np.float64], tau: float, t_value: float | None = None) -> NDArray[np.float64]:
    """The blog's ``sql_policy``: ``pi_maxent`` passed to the T = 1 softmax again (probabilities ∝ exp(pi))."""
    t_value = tau if t_value is None else t_value
    pi = clipped_exp((q - soft_value_clipped(q, t_value, t_value)[..., None]) / tau)
    return softmax_clipped(pi)


def soft_value(q: NDArray[np.float64], tau: float) -> NDArray[np.float64]:
    """Standard soft value ``tau * logsumexp(q / tau)``, computed stably."""
    top = q.max(axis=-1)
    return top + tau * np.log(np.exp((q - top[..., None]) / tau).sum(axis=-1))


def boltzmann(q: NDArray[np.float64], tau: float) -> NDArray[np.float64]:
    """Standard soft policy ``softmax(q / tau)``, computed stably."""
    e = np.exp((q - q.max(axis=-1, keepdims=True)) / tau)
    return e / e.sum(axis=-1, keepdims=True)


class BlogAnnealing:
    """The blog's ``AnnealingTemperature``: every read lowers the temperature by ``rate`` until it is <= the floor."""

    def __init__(self, temp: float, min_temp: float, rate: float) -> None:
        self.temp, self.min_temp, self.rate = temp, min_temp, rate

    def read(self) -> float:
        if self.temp > self.min_temp:
            self.temp += self.rate
        return self.temp


def constant(value: float) -> Callable[[], float]:
    return lambda: value


@dataclass
class Agent:
    """How an agent acts and backs up: ``act(q_rows, rng) -> actions``, ``value(q_rows) -> V``."""

    act: Callable[[NDArray[np.float64], np.random.Generator], NDArray[np.int64]]
    value: Callable[[NDArray[np.float64]], NDArray[np.float64]]
    temperature: Callable[[], float] | None = None


def sample(probs: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.int64]:
    """One action per row of ``probs`` (inverse CDF)."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cdf[:, -1]
    return np.minimum((u[:, None] >= cdf).sum(axis=1), probs.shape[1] - 1)


def randargmax(q: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.int64]:
    """The blog's argmax with random tie-breaking, per row."""
    return np.argmax(rng.random(q.shape) * (q == q.max(axis=1, keepdims=True)), axis=1)


def make_agent(name: str) -> Agent:
    """The agent ``name``; annealed agents read a fresh copy of the blog's annealing object."""
    max_value = lambda q: q.max(axis=-1)  # noqa: E731
    if name == "uniform":
        return Agent(lambda q, rng: rng.integers(q.shape[1], size=len(q)), max_value)
    if name == "softmax_t1":
        return Agent(lambda q, rng: sample(softmax_clipped(q), rng), max_value)
    if name == "eps_greedy":

        def act(q: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.int64]:
            explore = rng.random(len(q)) < EPSILON
            return np.where(explore, rng.integers(q.shape[1], size=len(q)), randargmax(q, rng))

        return Agent(act, max_value)
    if name == "sql_blog":
        return Agent(
            lambda q, rng: sample(blog_sql_probabilities(q, TAU), rng), lambda q: soft_value_clipped(q, TAU, TAU)
        )
    if name == "sql":
        return Agent(lambda q, rng: sample(boltzmann(q, TAU), rng), lambda q: soft_value(q, TAU))
    annealing = BlogAnnealing(**ANNEALING)
    if name == "sql_blog_annealed":
        # annealing_sql_policy: one read; annealing_soft_state_value_function: two reads (outer, then inner)
        return Agent(
            lambda q, rng: sample(blog_sql_probabilities(q, annealing.read()), rng),
            lambda q: soft_value_clipped(q, annealing.read(), annealing.read()),
            lambda: annealing.temp,
        )
    if name == "sql_annealed":

        def value(q: NDArray[np.float64]) -> NDArray[np.float64]:
            tau = annealing.read()
            annealing.read()  # the blog's second read, so that the sequence of temperatures is the blog's
            return soft_value(q, tau)

        return Agent(lambda q, rng: sample(boltzmann(q, annealing.read()), rng), value, lambda: annealing.temp)
    raise ValueError(f"unknown agent {name!r}; choose from {AGENTS}")


# --------------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------------
def greedy_outcome(grid: GridWorldEnv, q: NDArray[np.float64]) -> NDArray[np.int64]:
    """Goal index reached by the argmax policy (``np.argmax``, as the blog's trajectory plot) per run; -1: none."""
    runs = np.arange(len(q))
    state = np.full(len(q), grid.to_state(grid.start))
    outcome = np.full(len(q), -1)
    for _ in range(grid.max_steps):
        state = np.where(outcome >= 0, state, grid.next_state_table[state, q[runs, state].argmax(axis=1)])
        outcome = np.where(outcome >= 0, outcome, grid.goal_index[state])
    return outcome


def run_agent(layout: str, agent_name: str, budget: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train ``budget['runs']`` independent tabular agents in lock-step; snapshot every window's bounds."""
    grid = GridWorldEnv(layout)
    n_runs, n_steps = int(budget["runs"]), int(budget["steps"])
    n_goals = len(grid.goal_cells)
    agent = make_agent(agent_name)
    rng = np.random.default_rng([seed, AGENTS.index(agent_name), list(LAYOUTS).index(layout)])
    runs = np.arange(n_runs)
    start = grid.to_state(grid.start)
    q = np.zeros((n_runs, grid.n_states, grid.n_actions))
    visits = np.zeros((n_runs, grid.n_states, grid.n_actions), dtype=np.int64)
    endings = np.zeros((n_runs, n_goals + 1), dtype=np.int64)  # episodes ended at goal g; last: truncated
    state = np.full(n_runs, start)
    elapsed = np.zeros(n_runs, dtype=np.int64)
    bounds = sorted({b for window in budget["windows"].values() for b in window})
    snapshots: dict[int, dict[str, Any]] = {}
    blog_visits = np.zeros_like(visits)
    blog_steps = np.full(n_runs, -1)
    temperatures: dict[int, float] = {}

    def snapshot(step: int) -> None:
        snapshots[step] = {"visits": visits.copy(), "endings": endings.copy(), "greedy": greedy_outcome(grid, q)}
        if agent.temperature is not None:
            temperatures[step] = agent.temperature()

    for step in range(n_steps):
        if step in bounds:
            snapshot(step)
        action = agent.act(q[runs, state], rng)
        next_state = grid.next_state_table[state, action]
        target = grid.reward_matrix[state, action] + GAMMA * agent.value(q[runs, next_state])
        q[runs, state, action] += ALPHA * (target - q[runs, state, action])
        visits[runs, state, action] += 1
        elapsed += 1
        goal = grid.goal_index[next_state]
        done = (goal >= 0) | (elapsed >= grid.max_steps)
        if done.any():
            endings[runs[done], np.where(goal[done] >= 0, goal[done], n_goals)] += 1
            reached = (endings.sum(axis=1) == BLOG_EPISODES) & (blog_steps < 0)
            blog_visits[reached] = visits[reached]
            blog_steps[reached] = step + 1
        state = np.where(done, start, next_state)
        elapsed[done] = 0
    snapshot(n_steps)

    windows: dict[str, Any] = {}
    for name, (first, last) in budget["windows"].items():
        counts = snapshots[last]["visits"] - snapshots[first]["visits"]
        ended = snapshots[last]["endings"] - snapshots[first]["endings"]
        windows[name] = window_metrics(counts, ended, snapshots[last]["greedy"], n_goals)
        windows[name]["pooled_visits"] = counts.sum(axis=0).tolist()
    complete = blog_steps > 0
    blog = window_metrics(blog_visits[complete], None, None, n_goals)
    blog["runs_complete"] = int(complete.sum())
    blog["steps"] = blog_steps[complete].tolist()
    blog["pooled_visits"] = blog_visits[complete].sum(axis=0).tolist()
    windows["blog_100_episodes"] = blog
    return {
        "layout": layout,
        "agent": agent_name,
        "windows": windows,
        "temperature_at": {str(k): v for k, v in temperatures.items()},
    }


# --------------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------
TRACK = exploration.Track(
    NAME, LAYOUTS, AGENT_LABELS, "runs", {"blog_100_episodes": f"first {BLOG_EPISODES} episodes (the blog's window)"}
)


def caption(metrics: dict[str, Any]) -> str:
    return f"H(s) {harness.fmt(metrics['state_entropy'], 2)}"


def render_markdown(data: dict[str, Any], quick: bool) -> str:
    budget = data["budget"]
    n = budget["runs"]
    lines = [
        f"## GridWorld exploration, tabular track: the blog's experiment{' (quick run)' if quick else ''}",
        "",
        *harness.command_block(data["command"]),
        f"{n} runs per agent and layout, {budget['steps']:,} environment steps each, "
        f"{data['total_seconds']:.0f} s in total on {data['machine']}. Values are mean ± sample std over runs. "
        "Settings of the blog's code: Q = 0 initially, alpha 0.1, gamma 0.9, <= 100 steps per episode, no (1 - done) "
        "mask, epsilon 0.1, tau 0.05, annealing 0.5 -> 0.005 at -1e-5 per read (3 reads per step).",
        "",
    ]
    annealed = [r for r in data["results"] if r["temperature_at"]]
    if annealed:
        temps = annealed[0]["temperature_at"]
        lines += [
            "Annealed agents' temperature at the window bounds: "
            + ", ".join(f"step {int(k):,}: {v:.4g}" for k, v in temps.items())
            + ".",
            "",
        ]
    for layout in data["layouts"]:
        lines += TRACK.layout_heading(layout)
        rows = []
        for agent in TRACK.agents(data):
            m = result_of(data, layout, agent)["windows"]["blog_100_episodes"]
            row = [AGENT_LABELS[agent], harness.fmt(m["state_entropy"], 3), harness.fmt(m["state_action_entropy"], 3)]
            row += [harness.fmt(m["states_visited"], 1), f"{harness.fmt(m['steps'], 0)} ({m['runs_complete']}/{n})"]
            rows.append(row)
        header = ["agent", "H(state)", "H(state, action)", "states visited", "steps taken (runs that got there)"]
        lines += [f"{TRACK.window_title(data, 'blog_100_episodes').capitalize()}:", "", *harness.md_table(header, rows)]
        lines.append("")
        for window in budget["windows"]:
            lines += TRACK.window_table(data, layout, window)
        lines += [f"![n_visits on {LAYOUTS[layout]}]({TRACK.paths(quick)[layout].name})", ""]
    lines += TRACK.verdict_lines(data)
    return "\n".join(lines)


def write_report(data: dict[str, Any], quick: bool) -> None:
    TRACK.write_report(data, quick, render_markdown(data, quick), caption)


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------
def run(budget: dict[str, Any], layouts: Sequence[str], agents: Sequence[str], seed: int = 0) -> dict[str, Any]:
    """Every (layout, agent) pair of the track; returns the JSON document (without the command)."""
    data: dict[str, Any] = {
        "budget": budget,
        "seed": seed,
        "layouts": list(layouts),
        "agents": list(agents),
        "settings": {"alpha": ALPHA, "gamma": GAMMA, "epsilon": EPSILON, "tau": TAU, "annealing": ANNEALING},
        "machine": harness.machine(torch_threads=None),
        "versions": harness.versions("numpy"),
        "results": [],
    }
    start = time.perf_counter()
    for layout in layouts:
        for agent in agents:
            tic = time.perf_counter()
            result = run_agent(layout, agent, budget, seed)
            data["results"].append(result)
            summary = ", ".join(
                f"{w}: H {np.mean(m['state_entropy']):.3f}, greedy {np.mean(m.get('greedy_success', [math.nan])):.2f}"
                for w, m in result["windows"].items()
            )
            print(f"{layout:9s} {agent:18s} {summary} ({time.perf_counter() - tic:.1f} s)", flush=True)
    data["total_seconds"] = time.perf_counter() - start
    data["verdicts"] = exploration.verdicts(data, SOFT_AGENTS, COMPARATORS)
    return data


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_run_arguments(parser, f"{QUICK['runs']} runs of {QUICK['steps']:,} steps: writes *_quick.* files")
    parser.add_argument("--runs", type=int, default=None, help=f"independent runs (default {FULL['runs']})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generators")
    parser.add_argument("--layouts", nargs="+", choices=list(LAYOUTS), default=list(LAYOUTS))
    parser.add_argument("--agents", nargs="+", choices=list(AGENTS), default=list(AGENTS))
    args = parser.parse_args(argv)
    out = TRACK.paths(args.quick)
    if harness.report_requested(args, out["json"], write_report):
        return
    data = run(harness.budget(FULL, QUICK, args.quick, runs=args.runs), args.layouts, args.agents, args.seed)
    data = {"command": harness.command_line(), **data}
    harness.write_json(out["json"], data)
    print(f"wrote {out['json']}")
    write_report(data, args.quick)


if __name__ == "__main__":
    main()
