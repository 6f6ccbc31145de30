"""MultiGoal: env checkers, the documented reward, goals, clipping, step limit and validation."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import sb3_maxent  # noqa: F401  (registers the ids)
from sb3_maxent.envs.multigoal import MultiGoalEnv


@pytest.mark.parametrize("render_mode", [None, "rgb_array"])
def test_env_checkers(render_mode: str | None) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not having a spec.*")
        gym_check_env(MultiGoalEnv(render_mode=render_mode))
    sb3_check_env(MultiGoalEnv(render_mode=render_mode))
    env = gym.make("MultiGoal-v0", render_mode=render_mode)
    gym_check_env(env.unwrapped)
    sb3_check_env(env)
    assert isinstance(env.unwrapped, MultiGoalEnv)


def _start_at(x: float, y: float, **kwargs: float) -> MultiGoalEnv:
    env = MultiGoalEnv(**kwargs)
    env.reset(options={"position": (x, y)})
    return env


def test_reward_is_the_documented_formula() -> None:
    # from the origin, velocity (0.5, 0): x' = (0.5, 0), nearest goal (5, 0) at squared distance 4.5^2
    env = _start_at(0.0, 0.0)
    obs, reward, terminated, truncated, info = env.step(np.array([0.5, 0.0], dtype=np.float32))
    np.testing.assert_allclose(obs, [0.5, 0.0])
    assert reward == pytest.approx(-30 * 0.25 - 4.5**2)
    assert not terminated
    assert not truncated
    assert info == pytest.approx({"action_cost": 7.5, "distance_cost": 20.25})
    # the weights are parameters
    env = _start_at(0.0, 0.0, action_cost_coeff=2.0, distance_cost_coeff=0.5)
    _, reward, *_ = env.step(np.array([0.0, -0.5], dtype=np.float32))
    assert reward == pytest.approx(-2.0 * 0.25 - 0.5 * 4.5**2)
    assert env.reward(np.array([0.0, -0.5]), np.array([0.0, -0.5])) == pytest.approx(reward)


@pytest.mark.parametrize(("goal", "start", "action"), [(0, (4.5, 0.0), (0.3, 0.0)), (3, (0.2, -4.2), (-0.1, 0.0))])
def test_reaching_a_goal_terminates_with_bonus(
    goal: int, start: tuple[float, float], action: tuple[float, float]
) -> None:
    env = _start_at(*start)
    obs, reward, terminated, truncated, info = env.step(np.array(action, dtype=np.float32))
    nearest = env.goals[goal]
    expected = -30 * float(np.square(action).sum()) - float(np.square(obs - nearest).sum()) + 10.0
    assert reward == pytest.approx(expected, rel=1e-6)
    assert terminated
    assert not truncated
    assert info["is_success"] is True
    assert info["goal"] == goal


def test_actions_and_positions_are_clipped() -> None:
    env = _start_at(0.0, 0.0)
    obs, reward, *_ = env.step(np.array([5.0, -3.0], dtype=np.float32))
    np.testing.assert_allclose(obs, [1.0, -1.0])
    assert reward == pytest.approx(-30 * 2.0 - (4.0**2 + 1.0))  # the cost of the clipped action
    env = _start_at(6.8, 6.9)
    obs, *_ = env.step(np.array([1.0, 1.0], dtype=np.float32))
    np.testing.assert_allclose(obs, [7.0, 7.0])


def test_truncation_at_step_limit() -> None:
    env = _start_at(0.0, 0.0, max_steps=30)
    zero = np.zeros(2, dtype=np.float32)
    for t in range(1, 31):
        _, reward, terminated, truncated, info = env.step(zero)
        assert reward == pytest.approx(-25.0)  # standing still at the centre: distance cost 5^2
        assert not terminated
        assert truncated == (t == 30)
    assert info["is_success"] is False
    assert info["goal"] == -1


def test_four_symmetric_goals_and_seeded_start() -> None:
    env = MultiGoalEnv()
    costs = env.distance_cost(np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]))
    np.testing.assert_allclose(costs, 16.0)
    first, _ = env.reset(seed=3)
    again, _ = env.reset(seed=3)
    np.testing.assert_array_equal(first, again)
    assert np.linalg.norm(first) < 1.0  # init_sigma = 0.1 around the origin


def test_render_draws_the_path() -> None:
    env = MultiGoalEnv(render_mode="rgb_array", render_size=64)
    env.reset(seed=0)
    first = env.render()
    env.step(np.array([1.0, 1.0], dtype=np.float32))
    second = env.render()
    assert isinstance(first, np.ndarray)
    assert first.shape == (64, 64, 3)
    assert first.dtype == np.uint8
    assert isinstance(second, np.ndarray)
    assert not np.array_equal(first, second)
    assert len(np.unique(first.reshape(-1, 3), axis=0)) > 10  # shaded cost landscape, goals, agent


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(goals=[(1.0, 2.0, 3.0)]), r"goals must be a non-empty sequence of \(x, y\) pairs"),
        (dict(goals=[(9.0, 0.0)]), r"inside the arena .* move the goals or increase bound"),
        (dict(action_cost_coeff=-1.0), r"action_cost_coeff must be a finite number >= 0"),
        (dict(goal_radius=0.0), r"goal_radius must be a finite number > 0"),
        (dict(max_steps=0), r"max_steps must be a positive integer"),
        (dict(render_mode="human"), r"Unknown render_mode 'human'"),
    ],
)
def test_invalid_settings_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MultiGoalEnv(**kwargs)


def test_invalid_action_raises() -> None:
    env = MultiGoalEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"finite action of shape \(2,\)"):
        env.step(np.array([np.nan, 0.0]))
