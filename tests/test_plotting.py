"""Diagnostics: figures from the solver and from tiny trained SB3 models are written as non-empty PNGs,
the drawn arrow field is the argmax of pi*, and visit counts from the wrapper and the callback agree."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import torch as th
from matplotlib.figure import Figure
from stable_baselines3 import DQN, PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm

from sb3_maxent.envs.gridworld import GridWorldEnv
from sb3_maxent.envs.multigoal import MultiGoalEnv
from sb3_maxent.envs.plotting import (
    VisitCountCallback,
    VisitCounter,
    greedy_trajectory,
    plot_gridworld,
    plot_model,
    plot_multigoal,
    plot_solution,
    plot_visits,
    save_figure,
    tabular_policy_from_model,
)
from sb3_maxent.envs.solver import hard_value_iteration, soft_value_iteration

# A few hundred steps each: enough to produce a policy and a critic, not to solve the task.
MODEL_SETTINGS: dict[type[BaseAlgorithm], dict] = {
    PPO: dict(n_steps=128, batch_size=64, n_epochs=2, policy_kwargs=dict(net_arch=[16])),
    DQN: dict(learning_starts=100, train_freq=4, policy_kwargs=dict(net_arch=[16])),
}
TRAIN_STEPS = 384


def _assert_png_not_empty(path: Path) -> None:
    assert path.stat().st_size > 5_000
    pixels = matplotlib.image.imread(path)[..., :3]
    assert pixels.std() > 0.05  # not a blank canvas
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # heatmap colours, arrows, text


@pytest.fixture(scope="module", params=list(MODEL_SETTINGS), ids=lambda cls: cls.__name__)
def trained(request: pytest.FixtureRequest) -> tuple[BaseAlgorithm, VisitCounter, VisitCountCallback]:
    th.set_num_threads(1)
    model_class = request.param
    env = VisitCounter(GridWorldEnv("open"))
    callback = VisitCountCallback()
    model = model_class("MlpPolicy", env, seed=0, **MODEL_SETTINGS[model_class])
    model.learn(TRAIN_STEPS, callback=callback)
    return model, env, callback


# --------------------------------------------------------------------------------------------------
# Solver figures
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("layout", "tau", "arrows"), [("open", 1.0, "greedy"), ("open", 0.0, "greedy"), ("two_goals", 0.01, "all")]
)
def test_solver_figure_arrows_match_pi_star(tmp_path: Path, layout: str, tau: float, arrows: str) -> None:
    env = GridWorldEnv(layout)
    solution = soft_value_iteration(env, 0.9, tau)
    plot = plot_solution(env, solution, arrows=arrows)
    assert isinstance(plot.figure, Figure)
    free = ~env.terminal_mask
    # the drawn field is the argmax of pi*, and the displacement that action causes
    np.testing.assert_array_equal(plot.greedy_actions[free], solution.policy.argmax(axis=1)[free])
    assert (plot.greedy_actions[~free] == -1).all()
    moved_to = env.next_state_table[np.arange(env.n_states), solution.policy.argmax(axis=1)]
    expected = np.stack(np.divmod(moved_to, env.width), 1) - np.stack(np.divmod(np.arange(env.n_states), env.width), 1)
    np.testing.assert_array_equal(plot.arrows[free], expected[free])
    assert plot.trajectory[0] == env.start
    _assert_png_not_empty(save_figure(plot.figure, tmp_path / f"{layout}_{tau}.png"))


def test_hard_solution_trajectory_is_a_shortest_path() -> None:
    env = GridWorldEnv("walls", moves="4")
    plot = plot_solution(env, hard_value_iteration(env, 0.9))
    assert plot.trajectory[-1] == env.goal_cells[0]
    # 4-moves, start (0, 0), goal (7, 7), one door at (3, 5): Manhattan distance 14, no detour needed
    assert len(plot.trajectory) - 1 == 14
    steps = np.abs(np.diff(np.array(plot.trajectory), axis=0)).sum(axis=1)
    assert (steps == 1).all()


def test_side_by_side_axes_and_input_checks(tmp_path: Path) -> None:
    env = GridWorldEnv("open")
    figure = Figure(figsize=(10, 4))
    axes = figure.subplots(1, 2)
    soft = plot_solution(env, soft_value_iteration(env, 0.9, 1.0), ax=axes[0])
    hard = plot_gridworld(env, hard_value_iteration(env, 0.9).q_values, ax=axes[1], title="max Q")  # policy from Q
    assert soft.figure is figure
    assert hard.figure is figure
    assert hard.trajectory[-1] == (7, 7)
    _assert_png_not_empty(save_figure(figure, tmp_path / "side_by_side.png"))
    with pytest.raises(ValueError, match=r"values must have shape \(S,\)"):
        plot_gridworld(env, np.zeros(3))
    with pytest.raises(ValueError, match=r"arrows must be 'greedy', 'all' or 'none'"):
        plot_gridworld(env, None, arrows="some")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Expected a GridWorldEnv"):
        plot_gridworld(MultiGoalEnv(), None)


# --------------------------------------------------------------------------------------------------
# Figures from trained models
# --------------------------------------------------------------------------------------------------
def test_model_figure(tmp_path: Path, trained: tuple[BaseAlgorithm, VisitCounter, VisitCountCallback]) -> None:
    model, env, _ = trained
    grid = env.unwrapped
    tables = tabular_policy_from_model(model)
    assert tables.values.shape == (grid.n_states,)
    assert tables.policy.shape == (grid.n_states, grid.n_actions)
    np.testing.assert_allclose(tables.policy.sum(axis=1), 1.0, rtol=1e-6)
    plot = plot_model(model, env)
    free = ~grid.terminal_mask
    np.testing.assert_array_equal(plot.greedy_actions[free], tables.policy.argmax(axis=1)[free])
    # the table agrees with the model's own deterministic predictions
    predicted, _ = model.predict(np.arange(grid.n_states), deterministic=True)
    if tables.q_values is not None:  # DQN: argmax Q
        np.testing.assert_array_equal(predicted, tables.q_values.argmax(axis=1))
    else:  # PPO: mode of the categorical distribution
        np.testing.assert_array_equal(predicted, tables.policy.argmax(axis=1))
    _assert_png_not_empty(save_figure(plot.figure, tmp_path / "model.png"))


def test_q_model_temperature() -> None:
    model = DQN("MlpPolicy", GridWorldEnv("open"), policy_kwargs=dict(net_arch=[8]), seed=1)
    greedy = tabular_policy_from_model(model)
    assert greedy.q_values is not None
    soft = tabular_policy_from_model(model, temperature=0.5)
    expected = np.exp((greedy.q_values - greedy.q_values.max(1, keepdims=True)) / 0.5)
    np.testing.assert_allclose(soft.policy, expected / expected.sum(1, keepdims=True), rtol=1e-9)
    assert np.all(soft.values >= greedy.values)  # tau * logsumexp(Q / tau) >= max Q


def test_visit_counts(tmp_path: Path, trained: tuple[BaseAlgorithm, VisitCounter, VisitCountCallback]) -> None:
    model, env, callback = trained
    assert callback.counts is not None
    # the wrapper (inside the training env) and the callback count the same visits
    np.testing.assert_array_equal(callback.counts, env.counts)
    n_episodes = int(env.counts.sum()) - TRAIN_STEPS  # one reset per episode, one count per step
    assert n_episodes >= 1
    assert env.counts[0] >= n_episodes
    figure = plot_visits(env, callback.counts, title=f"{type(model).__name__}: visits")
    _assert_png_not_empty(save_figure(figure, tmp_path / "visits.png"))


def test_visit_counter_rejects_continuous_spaces() -> None:
    with pytest.raises(ValueError, match=r"VisitCounter counts visits of Discrete observations"):
        VisitCounter(MultiGoalEnv())
    with pytest.raises(ValueError, match=r"needs a model trained on a Discrete observation space"):
        tabular_policy_from_model(SAC("MlpPolicy", MultiGoalEnv(), policy_kwargs=dict(net_arch=[8])))


def test_greedy_trajectory_stops_on_loops() -> None:
    env = GridWorldEnv("open", moves="4+stay")
    stay = np.zeros((env.n_states, env.n_actions))
    stay[:, 4] = 1.0
    assert greedy_trajectory(env, stay) == [(0, 0), (0, 0)]


# --------------------------------------------------------------------------------------------------
# MultiGoal
# --------------------------------------------------------------------------------------------------
def test_multigoal_figure(tmp_path: Path) -> None:
    env = MultiGoalEnv()

    def to_east(obs: np.ndarray) -> np.ndarray:  # head for the goal at (5, 0)
        return np.clip(np.array([5.0, 0.0]) - obs, -0.3, 0.3)

    plot = plot_multigoal(env, to_east, n_episodes=4, title="to the east")
    assert plot.goals_reached.tolist() == [0, 0, 0, 0]
    assert all(np.linalg.norm(path[-1] - env.goals[0]) < env.goal_radius for path in plot.paths)
    _assert_png_not_empty(save_figure(plot.figure, tmp_path / "multigoal.png"))
    landscape = plot_multigoal(env)  # no policy: the reward landscape alone
    assert landscape.paths == []
