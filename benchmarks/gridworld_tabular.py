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
visitation entropy); the blog's window, the first 100 episodes, is reported as well, with the steps it took.

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
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gridworld_tabular.py --quick    # seconds, *_quick.* files
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

import harness
import numpy as np
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.figure import Figure
from numpy.typing import NDArray

from sb3_maxent.envs.gridworld import GridWorldEnv
from sb3_maxent.envs.plotting import save_figure

NAME = "gridworld_tabular"
LAYOUTS: dict[str, str] = {"open": "GridWorld-v0", "two_goals": "GridWorldTwoGoals-v0"}

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
COMPARABLE_SUCCESS = 0.10  # success rates within 10 percentage points are comparable
WALL_COLOUR = ListedColormap(["tab:blue"])

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
def entropy(counts: NDArray[np.integer], axis: int | tuple[int, ...]) -> NDArray[np.float64]:
    """Entropy (nats) of the distribution of ``counts`` summed over all axes but 0 (one value per run)."""
    total = counts.sum(axis=axis, keepdims=True).astype(np.float64)
    p = np.divide(counts, total, out=np.zeros(counts.shape), where=total > 0)
    return -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=axis)


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


def window_metrics(
    counts: NDArray[np.int64], ended: NDArray[np.int64] | None, greedy: NDArray[np.int64] | None, n_goals: int
) -> dict[str, Any]:
    """Per-run exploration and success metrics of one window (lists over runs)."""
    out: dict[str, Any] = {
        "state_entropy": entropy(counts.sum(axis=2), axis=1).tolist(),
        "state_action_entropy": entropy(counts.reshape(counts.shape[0], -1), axis=1).tolist(),
        "states_visited": (counts.sum(axis=2) > 0).sum(axis=1).tolist(),
    }
    if ended is not None:
        goals, n_ended = ended[:, :n_goals], ended.sum(axis=1)
        out["episodes_ended"] = n_ended.tolist()
        out["goal_episodes"] = goals.tolist()
        out["behaviour_success"] = [float(g.sum() / n) if n else math.nan for g, n in zip(goals, n_ended)]
        out["both_goals"] = [bool((g > 0).all()) for g in goals] if n_goals > 1 else None
        out["rarer_goal_share"] = [float(g.min() / g.sum()) if g.sum() else math.nan for g in goals]
    if greedy is not None:
        out["greedy_success"] = (greedy >= 0).astype(float).tolist()
        out["greedy_goal"] = greedy.tolist()
    return out


# --------------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------------
def verdict(soft: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """The rule of the module docstring, for one window of a soft agent against one comparator."""
    gaps = {
        key: abs(harness.mean_std(soft[key])[0] - harness.mean_std(base[key])[0])
        for key in ("behaviour_success", "greedy_success")
    }
    soft_mean, soft_std, _ = harness.mean_std(soft["state_entropy"])
    base_mean, base_std, _ = harness.mean_std(base["state_entropy"])
    difference, threshold = soft_mean - base_mean, max(soft_std, base_std)
    if any(math.isnan(g) or g > COMPARABLE_SUCCESS for g in gaps.values()):
        result = "no verdict: success not comparable"
    elif difference > threshold:
        result = "more even"
    elif difference < -threshold:
        result = "less even"
    else:
        result = "no difference"
    return {"difference": difference, "threshold": threshold, "success_gaps": gaps, "verdict": result}


def verdicts(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for layout in data["layouts"]:
        for window in data["budget"]["windows"]:
            for agent in (a for a in SOFT_AGENTS if a in data["agents"]):
                for comparator in (c for c in COMPARATORS if c in data["agents"]):
                    soft = result_of(data, layout, agent)["windows"][window]
                    base = result_of(data, layout, comparator)["windows"][window]
                    row = {"layout": layout, "window": window, "agent": agent, "comparator": comparator}
                    rows.append({**row, **verdict(soft, base)})
    return rows


def result_of(data: dict[str, Any], layout: str, agent: str) -> dict[str, Any]:
    return next(r for r in data["results"] if r["layout"] == layout and r["agent"] == agent)


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------
def paths(quick: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"json": harness.result_path(NAME, quick), "md": harness.result_path(NAME, quick, ".md")}
    out.update({layout: harness.result_path(NAME, quick, ".png", layout) for layout in LAYOUTS})
    return out


def window_title(data: dict[str, Any], window: str) -> str:
    if window == "blog_100_episodes":
        return f"first {BLOG_EPISODES} episodes (the blog's window)"
    first, last = data["budget"]["windows"][window]
    return f"steps {first:,}-{last:,}"


def state_action_image(grid: GridWorldEnv, counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each cell as 3 x 3 sub-cells, the action's direction from the centre ('stay' in the middle), as the blog."""
    image = np.full((3 * grid.height, 3 * grid.width), np.nan)
    for s in range(grid.n_states):
        row, col = divmod(s, grid.width)
        if grid.wall_mask[row, col]:
            continue
        image[3 * row : 3 * row + 3, 3 * col : 3 * col + 3] = 0.0
        for a, (dr, dc) in enumerate(grid.action_deltas):
            image[3 * row + 1 + dr, 3 * col + 1 + dc] = counts[s, a]
    return image


def render_heatmaps(data: dict[str, Any], quick: bool) -> list[Any]:
    """Per layout: agents side by side (columns), one row per window; visits summed over runs, log scale."""
    written = []
    windows = ["blog_100_episodes", *data["budget"]["windows"]]
    for layout in data["layouts"]:
        grid = GridWorldEnv(layout)
        agents = [a for a in AGENTS if a in data["agents"]]
        figure = Figure(figsize=(2.3 * len(agents), 0.6 + 2.4 * len(windows) * grid.height / grid.width))
        axes = figure.subplots(len(windows), len(agents), squeeze=False)
        for col, agent in enumerate(agents):
            for row, window in enumerate(windows):
                metrics = result_of(data, layout, agent)["windows"][window]
                counts = np.asarray(metrics["pooled_visits"], dtype=np.float64)
                image = state_action_image(grid, counts)
                ax = axes[row, col]
                ax.set_facecolor("black")  # never visited
                ax.imshow(np.ma.masked_less(image, 1), cmap="gray", norm=LogNorm(0.5, max(2.0, counts.max())))
                ax.imshow(np.ma.masked_where(~np.isnan(image), np.zeros_like(image)), cmap=WALL_COLOUR)
                for r, c in grid.goal_cells:
                    ax.text(3 * c + 1, 3 * r + 1, "G", color="lime", ha="center", va="center", fontsize=8)
                ax.set_xticks([])
                ax.set_yticks([])
                entropy_text = harness.fmt(metrics["state_entropy"], 2)
                title = f"{AGENT_LABELS[agent]}\n" if row == 0 else ""
                ax.set_title(f"{title}{window_title(data, window)}\nH(s) {entropy_text}", fontsize=7)
        figure.suptitle(
            f"{LAYOUTS[layout]}: n_visits[s, a] summed over {data['budget']['runs']} runs (3 x 3 sub-cells per state: "
            "the move's direction, 'stay' in the centre; black = never, log scale; blue = wall)",
            fontsize=9,
        )
        figure.set_layout_engine("constrained")
        written.append(save_figure(figure, paths(quick)[layout]))
    return written


def render_markdown(data: dict[str, Any], quick: bool) -> str:
    budget = data["budget"]
    n = budget["runs"]
    lines = [
        f"## GridWorld exploration, tabular track: the blog's experiment{' (quick run)' if quick else ''}",
        "",
        "Command:",
        "",
        "```bash",
        data["command"],
        "```",
        "",
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
        grid = GridWorldEnv(layout)
        acting = int((~grid.wall_mask).sum()) - len(grid.goal_cells)
        lines += [
            f"### {LAYOUTS[layout]} ({grid.height} x {grid.width}, {len(grid.goal_cells)} goal(s), {acting} cells "
            f"an agent acts in: max state entropy log {acting} = {math.log(acting):.3f} nats)",
            "",
        ]
        for window in ["blog_100_episodes", *budget["windows"]]:
            blog_window = window == "blog_100_episodes"
            header = ["agent", "H(state)", "H(state, action)", "states visited"]
            header += ["steps taken"] if blog_window else ["behaviour success", "greedy success at the end"]
            if len(grid.goal_cells) > 1 and not blog_window:
                header += ["runs reaching both goals", "rarer goal's share"]
            rows = []
            for agent in data["agents"]:
                m = result_of(data, layout, agent)["windows"][window]
                row = [
                    AGENT_LABELS[agent],
                    harness.fmt(m["state_entropy"], 3),
                    harness.fmt(m["state_action_entropy"], 3),
                    harness.fmt(m["states_visited"], 1),
                ]
                if blog_window:
                    row += [f"{harness.fmt(m['steps'], 0)} ({m['runs_complete']}/{n} runs got there)"]
                else:
                    row += [harness.fmt(m["behaviour_success"], 0, True), harness.fmt(m["greedy_success"], 0, True)]
                    if len(grid.goal_cells) > 1:
                        row += [f"{sum(m['both_goals'])}/{n}", harness.fmt(m["rarer_goal_share"], 0, True)]
                rows.append(row)
            lines += [f"{window_title(data, window).capitalize()}:", "", *harness.md_table(header, rows), ""]
        lines += [f"![n_visits on {LAYOUTS[layout]}]({paths(quick)[layout].name})", ""]
    lines += [
        "### Verdicts",
        "",
        "Rule (computed): a verdict only where behaviour and greedy success are each within "
        f"{100 * COMPARABLE_SUCCESS:.0f} points of the comparator's; then 'more even' / 'less even' when the mean "
        "state-visitation entropy differs by more than the larger run std, otherwise 'no difference'.",
        "",
    ]
    rows = []
    for v in data["verdicts"]:
        soft = result_of(data, v["layout"], v["agent"])["windows"][v["window"]]
        base = result_of(data, v["layout"], v["comparator"])["windows"][v["window"]]
        success = " vs ".join(
            f"{harness.fmt(m['behaviour_success'], 0, True)} / {harness.fmt(m['greedy_success'], 0, True)}"
            for m in (soft, base)
        )
        rows.append(
            [
                LAYOUTS[v["layout"]],
                window_title(data, v["window"]),
                AGENT_LABELS[v["agent"]],
                AGENT_LABELS[v["comparator"]],
                f"{v['difference']:+.3f} ({v['threshold']:.3f})",
                success,
                f"**{v['verdict']}**",
            ]
        )
    header = ["layout", "window", "soft agent", "comparator", "H(state) difference (threshold)"]
    header += ["success behaviour / greedy: soft vs comparator", "verdict"]
    lines += [*harness.md_table(header, rows), ""]
    return "\n".join(lines)


def write_report(data: dict[str, Any], quick: bool) -> None:
    out = paths(quick)
    harness.write_text(out["md"], render_markdown(data, quick))
    written = render_heatmaps(data, quick)
    print(f"wrote {out['md']}" + "".join(f", {p}" for p in written))


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
    data["verdicts"] = verdicts(data)
    return data


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_run_arguments(parser, f"{QUICK['runs']} runs of {QUICK['steps']:,} steps: writes *_quick.* files")
    parser.add_argument("--runs", type=int, default=None, help=f"independent runs (default {FULL['runs']})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generators")
    parser.add_argument("--layouts", nargs="+", choices=list(LAYOUTS), default=list(LAYOUTS))
    parser.add_argument("--agents", nargs="+", choices=list(AGENTS), default=list(AGENTS))
    args = parser.parse_args(argv)
    out = paths(args.quick)
    if args.report:
        write_report(harness.read_json(out["json"]), args.quick)
        return
    data = run(harness.budget(FULL, QUICK, args.quick, runs=args.runs), args.layouts, args.agents, args.seed)
    data = {"command": harness.command_line(), **data}
    harness.write_json(out["json"], data)
    print(f"wrote {out['json']}")
    write_report(data, args.quick)


if __name__ == "__main__":
    main()
