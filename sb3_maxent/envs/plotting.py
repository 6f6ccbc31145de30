"""Diagnostics for the package's environments: value heatmaps with policy arrows and the greedy path for
GridWorld, state-visitation counts (a gymnasium wrapper and an SB3 callback), and MultiGoal rollouts.

The figures are built with matplotlib's object-oriented API (``matplotlib.figure.Figure``, no ``pyplot``):
nothing here changes the global backend, figures render off-screen (Agg) when saved, and they display
inline in notebooks. Tables of values and policies come from :func:`sb3_maxent.envs.solver.soft_value_iteration`
or from a trained SB3 model (:func:`tabular_policy_from_model`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, SupportsFloat

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle
from numpy.typing import NDArray
from stable_baselines3.common.callbacks import BaseCallback

from sb3_maxent.envs.gridworld import Cell, GridWorldEnv
from sb3_maxent.envs.multigoal import MultiGoalEnv
from sb3_maxent.envs.solver import SoftSolution, soft_maximum, soft_policy

__all__ = [
    "GridPlot",
    "MultiGoalPlot",
    "TabularPolicy",
    "VisitCountCallback",
    "VisitCounter",
    "greedy_trajectory",
    "plot_gridworld",
    "plot_model",
    "plot_multigoal",
    "plot_solution",
    "plot_visits",
    "save_figure",
    "tabular_policy_from_model",
]

ArrowMode = Literal["greedy", "all", "none"]


def _gridworld(env: Any) -> GridWorldEnv:
    base = getattr(env, "unwrapped", env)
    if not isinstance(base, GridWorldEnv):
        raise ValueError(
            f"Expected a GridWorldEnv (possibly wrapped), got {type(base).__name__}; "
            'make one with gymnasium.make("GridWorld-v0") or GridWorldEnv(...).'
        )
    return base


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        figure = ax.get_figure()
        if not isinstance(figure, Figure):  # a SubFigure: draw into it, return its root figure
            figure = ax.get_figure(root=True)
        assert isinstance(figure, Figure)
        return figure, ax
    figure = Figure(figsize=figsize, layout="constrained")
    return figure, figure.add_subplot()


def save_figure(figure: Figure, path: str | Path, dpi: int = 100) -> Path:
    """
    Save a figure as an image (format from the suffix, e.g. ``.png``), creating the parent folder.

    :param figure: the figure
    :param path: destination file
    :param dpi: resolution
    :return: the path written
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    return path


# --------------------------------------------------------------------------------------------------
# Tables from models
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TabularPolicy:
    """
    Value and policy tables of a model over every state of a tabular environment.

    :param values: ``(S,)`` state values (critic for actor-critic models, (soft) max of Q for Q-networks)
    :param policy: ``(S, A)`` action probabilities
    :param q_values: ``(S, A)`` action values for Q-network models, else None
    """

    values: NDArray[np.float64]
    policy: NDArray[np.float64]
    q_values: NDArray[np.float64] | None = None


def tabular_policy_from_model(model: Any, temperature: float | None = None) -> TabularPolicy:
    """
    Evaluate an SB3 model on every state of its ``Discrete`` observation space.

    * Q-network models (a ``policy.q_net``, as DQN and SoftDQN have): ``Q`` from the network; the policy is
      ``softmax(Q / temperature)`` and the value ``temperature * logsumexp(Q / temperature)``, or, with
      ``temperature=None`` or 0, greedy (uniform over tied maxima) and ``max_a Q``.
    * Actor-critic models (``policy.get_distribution``, as PPO, A2C and MaxEntPPO have): the action
      probabilities of the policy and the critic's values.

    :param model: a trained SB3 model whose observation space is ``Discrete`` (e.g. trained on GridWorld)
    :param temperature: temperature of a Q-network's Boltzmann policy (e.g. SoftDQN's); None for greedy
    """
    observation_space = model.observation_space
    if not isinstance(observation_space, spaces.Discrete):
        raise ValueError(
            f"tabular_policy_from_model needs a model trained on a Discrete observation space (a tabular env such as "
            f"GridWorld), got {observation_space}."
        )
    if temperature is not None and not (np.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be a finite number >= 0 or None, got {temperature}.")
    policy = model.policy
    states = np.arange(observation_space.n, dtype=np.int64) + int(observation_space.start)
    policy.set_training_mode(False)
    obs, _ = policy.obs_to_tensor(states)
    with th.no_grad():
        q_net = getattr(policy, "q_net", None)
        if q_net is not None:
            q = q_net(obs).cpu().numpy().astype(np.float64)
            tau = float(temperature or 0.0)
            return TabularPolicy(values=soft_maximum(q, tau), policy=soft_policy(q, tau), q_values=q)
        if hasattr(policy, "get_distribution") and hasattr(policy, "predict_values"):
            distribution = policy.get_distribution(obs).distribution
            probs = getattr(distribution, "probs", None)
            if probs is None:
                raise ValueError(
                    "The model's action distribution has no probability table: it needs a Discrete action space."
                )
            values = policy.predict_values(obs).flatten()
            return TabularPolicy(
                values=values.cpu().numpy().astype(np.float64), policy=probs.cpu().numpy().astype(np.float64)
            )
    raise ValueError(
        f"Cannot read a policy from {type(model).__name__}: expected a Q-network model (policy.q_net, e.g. DQN) or an "
        "actor-critic model (policy.get_distribution, e.g. PPO)."
    )


# --------------------------------------------------------------------------------------------------
# GridWorld figures
# --------------------------------------------------------------------------------------------------
@dataclass
class GridPlot:
    """
    A GridWorld figure and what it shows, for tests and further drawing.

    :param figure: the figure
    :param ax: the axes drawn into
    :param greedy_actions: ``(S,)`` most probable action per state (lowest index on ties), -1 at goals and walls
    :param arrows: ``(S, 2)`` the greedy arrow field: the ``(d_row, d_col)`` displacement that
        ``greedy_actions`` causes (zero for "stay", for moves blocked by a wall or the border, at goals and walls)
    :param trajectory: cells visited by the greedy policy from the start
    """

    figure: Figure
    ax: Axes
    greedy_actions: NDArray[np.int64]
    arrows: NDArray[np.int64]
    trajectory: list[Cell]


def greedy_trajectory(env: Any, policy: NDArray[np.floating], start: Cell | None = None) -> list[Cell]:
    """
    Cells visited by following the most probable action of ``policy`` through the GridWorld's model (the
    environment itself is not stepped). Stops at a goal, when a cell repeats, or after ``max_steps`` moves.

    :param env: a GridWorldEnv (possibly wrapped)
    :param policy: ``(S, A)`` action probabilities
    :param start: start cell (default: the environment's start)
    """
    grid = _gridworld(env)
    actions = np.asarray(policy).argmax(axis=1)
    state = grid.to_state(grid.start if start is None else start)
    path = [grid.to_cell(state)]
    seen = {state}
    for _ in range(grid.max_steps):
        if grid.terminal_mask[state]:
            break
        state = int(grid.next_state_table[state, actions[state]])
        path.append(grid.to_cell(state))
        if state in seen:
            break
        seen.add(state)
    return path


def _draw_cells(ax: Axes, grid: GridWorldEnv, goal_labels: list[str] | None = None) -> None:
    """Grid lines, walls, goals (green, labelled with their reward unless ``goal_labels``) and the start."""
    height, width = grid.height, grid.width
    ax.set_xticks(np.arange(-0.5, width, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, height, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=0.8)
    ax.tick_params(which="both", length=0)
    ax.set_xticks(range(width))
    ax.set_yticks(range(height))
    ax.set_xlabel("col")
    ax.set_ylabel("row")
    for row, col in zip(*np.nonzero(grid.wall_mask), strict=True):
        ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, color="0.25"))
    if goal_labels is None:
        goal_labels = [f"G\n{reward:g}" for reward in grid.goal_rewards]
    for (row, col), label in zip(grid.goal_cells, goal_labels, strict=True):
        ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, color="tab:green"))
        ax.text(col, row, label, ha="center", va="center", fontsize=7, color="white")
    ax.text(grid.start[1], grid.start[0] - 0.32, "S", ha="center", va="center", fontsize=7, color="white")


def _greedy_field(grid: GridWorldEnv, policy: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    greedy = np.asarray(policy.argmax(axis=1), dtype=np.int64)
    greedy[grid.terminal_mask] = -1
    # The arrow is where the action takes the agent: a move into a wall or the border is drawn as "stay".
    states = np.arange(grid.n_states)
    moved_to = np.where(greedy >= 0, grid.next_state_table[states, np.maximum(greedy, 0)], states)
    arrows = np.stack(np.divmod(moved_to, grid.width), axis=1) - np.stack(np.divmod(states, grid.width), axis=1)
    return greedy, arrows.astype(np.int64)


def plot_gridworld(
    env: Any,
    values: NDArray[np.floating] | None,
    policy: NDArray[np.floating] | None = None,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    arrows: ArrowMode = "greedy",
    show_trajectory: bool = True,
    colorbar: bool = True,
    value_label: str = "V(s)",
    cmap: str = "viridis",
) -> GridPlot:
    """
    Heatmap of state values with the policy drawn on top and the greedy path from the start.

    :param env: a GridWorldEnv (possibly wrapped)
    :param values: ``(S,)`` state values, or ``(S, A)`` action values (their maximum is shown), or None
        (no heatmap)
    :param policy: ``(S, A)`` action probabilities; None: greedy with respect to ``values`` when they are
        action values, else no arrows
    :param ax: axes to draw into (default: a new figure)
    :param title: axes title
    :param arrows: ``"greedy"``: one unit arrow per cell along the most probable action (a dot for "stay");
        ``"all"``: one arrow per action, its length proportional to the action's probability (shows
        multi-modal policies); ``"none"``
    :param show_trajectory: draw the greedy path from the start in red
    :param colorbar: add a colour bar for the values
    :param value_label: colour bar label
    :param cmap: matplotlib colour map of the values
    """
    grid = _gridworld(env)
    if arrows not in ("greedy", "all", "none"):
        raise ValueError(f"arrows must be 'greedy', 'all' or 'none', got {arrows!r}.")
    figure, ax = _new_axes(ax, (1.0 + 0.6 * grid.width, 0.6 + 0.6 * grid.height))
    n_states, n_actions = grid.n_states, grid.n_actions

    table = None if values is None else np.asarray(values, dtype=np.float64)
    if table is not None and table.shape == (n_states, n_actions):
        if policy is None:
            policy = soft_policy(table, 0.0)
        table = table.max(axis=1)
    if table is not None and table.shape != (n_states,):
        raise ValueError(
            f"values must have shape (S,) = ({n_states},) or (S, A) = {(n_states, n_actions)}, got {table.shape}."
        )
    probs = None if policy is None else np.asarray(policy, dtype=np.float64)
    if probs is not None and probs.shape != (n_states, n_actions):
        raise ValueError(f"policy must have shape (S, A) = {(n_states, n_actions)}, got {probs.shape}.")

    if table is not None:
        image: np.ma.MaskedArray[Any, Any] = np.ma.masked_array(
            table.reshape(grid.height, grid.width), mask=~grid.free_mask
        )
        mappable = ax.imshow(image, cmap=cmap, origin="upper", interpolation="nearest")
        if colorbar:
            figure.colorbar(mappable, ax=ax, label=value_label, shrink=0.85)
    else:
        ax.imshow(np.zeros((grid.height, grid.width)), cmap="Greys", vmin=0, vmax=1, origin="upper")
    _draw_cells(ax, grid)

    if probs is None:
        greedy = np.full(n_states, -1, dtype=np.int64)
        field = np.zeros((n_states, 2), dtype=np.int64)
    else:
        greedy, field = _greedy_field(grid, probs)
    rows, cols = np.divmod(np.arange(n_states), grid.width)
    if probs is not None and arrows == "greedy":
        moving = (greedy >= 0) & field.any(axis=1)
        norms = np.linalg.norm(field[moving], axis=1)
        u, v = field[moving, 1] / norms * 0.42, field[moving, 0] / norms * 0.42
        ax.quiver(cols[moving] - u / 2, rows[moving] - v / 2, u, v, color="white", angles="xy", scale_units="xy",
                  scale=1, width=0.008, headwidth=4)  # fmt: skip
        staying = (greedy >= 0) & ~field.any(axis=1)
        ax.scatter(cols[staying], rows[staying], s=14, color="white")
    elif probs is not None and arrows == "all":
        active = ~grid.terminal_mask
        deltas = grid.action_deltas.astype(np.float64)
        norms = np.linalg.norm(deltas, axis=1)
        for a in range(n_actions):
            length = 0.48 * probs[active, a]
            if norms[a] == 0:
                ax.scatter(cols[active], rows[active], s=60 * probs[active, a], color="white")
                continue
            u, v = deltas[a, 1] / norms[a] * length, deltas[a, 0] / norms[a] * length
            ax.quiver(cols[active], rows[active], u, v, color="white", angles="xy", scale_units="xy", scale=1,
                      width=0.006, headwidth=3, headlength=3)  # fmt: skip

    path: list[Cell] = []
    if probs is not None and show_trajectory:
        path = greedy_trajectory(grid, probs)
        ax.plot([c for _, c in path], [r for r, _ in path], color="tab:red", linewidth=2, marker="o", markersize=3)
    ax.set_xlim(-0.5, grid.width - 0.5)
    ax.set_ylim(grid.height - 0.5, -0.5)
    ax.set_aspect("equal")
    if title is not None:
        ax.set_title(title)
    return GridPlot(figure=figure, ax=ax, greedy_actions=greedy, arrows=field, trajectory=path)


def plot_solution(env: Any, solution: SoftSolution, **kwargs: Any) -> GridPlot:
    """
    :func:`plot_gridworld` of a solver result: ``V*`` as the heatmap, ``pi*`` as the arrows.

    :param env: the GridWorldEnv that was solved
    :param solution: result of ``soft_value_iteration`` / ``hard_value_iteration``
    :param kwargs: passed on to :func:`plot_gridworld` (``title`` defaults to the solver settings)
    """
    kind = "hard" if solution.temperature == 0 else f"soft, tau={solution.temperature:g}"
    kwargs.setdefault("title", f"V* ({kind}, gamma={solution.gamma:g})")
    return plot_gridworld(env, solution.values, solution.policy, **kwargs)


def plot_model(model: Any, env: Any, temperature: float | None = None, **kwargs: Any) -> GridPlot:
    """
    :func:`plot_gridworld` of a trained SB3 model (see :func:`tabular_policy_from_model`): the critic's
    values or max Q as the heatmap, the model's policy as the arrows.

    :param model: a trained SB3 model (DQN-like or actor-critic) for this GridWorld
    :param env: the GridWorldEnv (possibly wrapped)
    :param temperature: Boltzmann temperature for Q-network models; None for greedy
    :param kwargs: passed on to :func:`plot_gridworld`
    """
    grid = _gridworld(env)
    tables = tabular_policy_from_model(model, temperature)
    if tables.policy.shape != (grid.n_states, grid.n_actions):
        raise ValueError(
            f"The model's policy table has shape {tables.policy.shape} but the GridWorld has (S, A) = "
            f"{(grid.n_states, grid.n_actions)}: plot the model with the environment it was trained on."
        )
    kwargs.setdefault("title", type(model).__name__)
    return plot_gridworld(grid, tables.values, tables.policy, **kwargs)


def plot_visits(
    env: Any,
    counts: NDArray[np.integer] | NDArray[np.floating],
    *,
    ax: Axes | None = None,
    title: str | None = "state visits",
    log_scale: bool = True,
    colorbar: bool = True,
) -> Figure:
    """
    Heatmap of state-visitation counts (black: never visited).

    :param env: a GridWorldEnv (possibly wrapped)
    :param counts: ``(S,)`` or ``(height, width)`` counts, e.g. ``VisitCounter.counts``
    :param ax: axes to draw into (default: a new figure)
    :param title: axes title
    :param log_scale: logarithmic colour scale (visits typically span orders of magnitude)
    :param colorbar: add a colour bar
    :return: the figure
    """
    grid = _gridworld(env)
    table = np.asarray(counts, dtype=np.float64)
    if table.size != grid.n_states:
        raise ValueError(f"counts must have S = {grid.n_states} entries (one per state), got shape {table.shape}.")
    table = table.reshape(grid.height, grid.width)
    figure, ax = _new_axes(ax, (1.0 + 0.6 * grid.width, 0.6 + 0.6 * grid.height))
    shown: np.ma.MaskedArray[Any, Any] = np.ma.masked_array(table, mask=grid.wall_mask)
    # Never-visited cells are masked and show the black background; with the log scale starting at 0.5, a
    # single visit is already visibly lighter than black.
    norm = LogNorm(vmin=0.5, vmax=max(2.0, float(table.max()))) if log_scale else None
    mappable = ax.imshow(np.ma.masked_less(shown, 1), cmap="magma", norm=norm, origin="upper")
    ax.set_facecolor("black")
    if colorbar:
        figure.colorbar(mappable, ax=ax, label="visits", shrink=0.85)
    # label each goal with how often it was entered
    _draw_cells(ax, grid, goal_labels=[f"G\n{int(table[cell])}" for cell in grid.goal_cells])
    ax.set_xlim(-0.5, grid.width - 0.5)
    ax.set_ylim(grid.height - 0.5, -0.5)
    ax.set_aspect("equal")
    if title is not None:
        ax.set_title(title)
    return figure


# --------------------------------------------------------------------------------------------------
# Visit counting
# --------------------------------------------------------------------------------------------------
def _discrete_size(space: gym.Space[Any], who: str) -> int:
    if not isinstance(space, spaces.Discrete):
        raise ValueError(f"{who} counts visits of Discrete observations (tabular envs such as GridWorld), got {space}.")
    return int(space.n)


class VisitCounter(gym.Wrapper[Any, Any, Any, Any]):
    """
    Count how often each state of a ``Discrete`` observation space is visited (reset states included).
    Counts accumulate over episodes until :meth:`reset_counts`.

    :param env: environment with a ``Discrete`` observation space
    """

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        self._start = int(getattr(env.observation_space, "start", 0))
        self.counts: NDArray[np.int64] = np.zeros(_discrete_size(env.observation_space, "VisitCounter"), dtype=np.int64)

    def reset_counts(self) -> None:
        """Set every count back to zero."""
        self.counts[:] = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Reset the environment and count the start state."""
        obs, info = self.env.reset(seed=seed, options=options)
        self.counts[int(obs) - self._start] += 1
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the environment and count the state reached."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.counts[int(obs) - self._start] += 1
        return obs, reward, terminated, truncated, info


class VisitCountCallback(BaseCallback):
    """
    Count the states visited during SB3 training (``Discrete`` observation spaces): every state the
    environments enter, terminal states included, plus the start state of each episode.

    :param verbose: verbosity level
    """

    def __init__(self, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.counts: NDArray[np.int64] | None = None
        self._start = 0

    def _init_callback(self) -> None:
        space = self.model.observation_space
        if self.counts is None:
            self.counts = np.zeros(_discrete_size(space, "VisitCountCallback"), dtype=np.int64)
        self._start = int(getattr(space, "start", 0))

    def _on_training_start(self) -> None:
        last_obs = getattr(self.model, "_last_obs", None)  # the first observations, before any step
        if self.counts is not None and last_obs is not None and self.num_timesteps == 0:
            np.add.at(self.counts, np.asarray(last_obs, dtype=np.int64).reshape(-1) - self._start, 1)

    def _on_step(self) -> bool:
        assert self.counts is not None
        new_obs = np.asarray(self.locals["new_obs"], dtype=np.int64).reshape(-1)
        dones = np.asarray(self.locals["dones"]).reshape(-1)
        infos = self.locals["infos"]
        for i in np.flatnonzero(dones):
            terminal = infos[i].get("terminal_observation")
            if terminal is not None:
                self.counts[int(terminal) - self._start] += 1
        np.add.at(self.counts, new_obs - self._start, 1)
        return True


# --------------------------------------------------------------------------------------------------
# MultiGoal
# --------------------------------------------------------------------------------------------------
@dataclass
class MultiGoalPlot:
    """
    A MultiGoal figure and the rollouts drawn in it.

    :param figure: the figure
    :param ax: the axes drawn into
    :param paths: one ``(T + 1, 2)`` array of positions per episode
    :param goals_reached: index of the goal reached in each episode, -1 when it was truncated
    """

    figure: Figure
    ax: Axes
    paths: list[NDArray[np.float64]]
    goals_reached: NDArray[np.int64]


def plot_multigoal(
    env: Any,
    policy: Any | Callable[[NDArray[np.float32]], NDArray[np.floating]] | None = None,
    *,
    n_episodes: int = 20,
    deterministic: bool = False,
    seed: int = 0,
    ax: Axes | None = None,
    title: str | None = None,
) -> MultiGoalPlot:
    """
    Contours of MultiGoal's distance cost, the goals, and rollouts of a policy from the start distribution.

    :param env: a MultiGoalEnv (possibly wrapped); its ``unwrapped`` copy is stepped
    :param policy: an SB3 model (its ``predict`` is used), a function ``observation -> action``, or None
        (no rollouts: the reward landscape only)
    :param n_episodes: number of rollouts
    :param deterministic: passed to the model's ``predict``
    :param seed: seed of the first rollout (episode ``i`` uses ``seed + i``)
    :param ax: axes to draw into (default: a new figure)
    :param title: axes title
    """
    base = getattr(env, "unwrapped", env)
    if not isinstance(base, MultiGoalEnv):
        raise ValueError(f"plot_multigoal needs a MultiGoalEnv (possibly wrapped), got {type(base).__name__}.")
    figure, ax = _new_axes(ax, (5.0, 4.4))
    coords = np.linspace(-base.bound, base.bound, 201)
    xs, ys = np.meshgrid(coords, coords)
    cost = base.distance_cost(np.stack([xs, ys], axis=-1))
    contours = ax.contourf(xs, ys, -cost, levels=20, cmap="Greys_r")
    figure.colorbar(contours, ax=ax, label="- distance cost", shrink=0.85)
    for gx, gy in base.goals:
        ax.add_patch(Circle((gx, gy), base.goal_radius, color="tab:green", alpha=0.8))

    paths: list[NDArray[np.float64]] = []
    reached: list[int] = []
    if policy is not None:
        act: Callable[[NDArray[np.float32]], Any]
        if hasattr(policy, "predict"):
            act = lambda obs: policy.predict(obs, deterministic=deterministic)[0]  # noqa: E731
        else:
            act = policy
        for episode in range(n_episodes):
            obs, _ = base.reset(seed=seed + episode)
            path = [base.position]
            info: dict[str, Any] = {}
            done = False
            while not done:
                obs, _, terminated, truncated, info = base.step(np.asarray(act(obs), dtype=np.float32))
                path.append(base.position)
                done = terminated or truncated
            paths.append(np.asarray(path))
            reached.append(int(info.get("goal", -1)))
            ax.plot(paths[-1][:, 0], paths[-1][:, 1], color="tab:red", linewidth=1, alpha=0.8)
    ax.set_xlim(-base.bound, base.bound)
    ax.set_ylim(-base.bound, base.bound)
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if title is not None:
        ax.set_title(title)
    return MultiGoalPlot(figure=figure, ax=ax, paths=paths, goals_reached=np.asarray(reached, dtype=np.int64))
