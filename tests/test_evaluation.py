"""sb3_maxent.common.evaluate_success: the success rate of scripted policies whose outcome is known."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import sb3_maxent  # noqa: F401  (registers GridWorld-v0)
from sb3_maxent.common import evaluate_success


class Scripted:
    """A stand-in for an SB3 model: ``predict`` always returns the same action, as a 0-d array like SB3's."""

    def __init__(self, action: int) -> None:
        self.action = action
        self.calls = 0

    def predict(self, observation: Any, deterministic: bool = True) -> tuple[np.ndarray, None]:
        self.calls += 1
        return np.array(self.action), None


def test_straight_to_the_goal_and_never_there() -> None:
    env = gym.make("GridWorld-v0")  # 8 x 8 open grid, start top-left, goal bottom-right
    names = list(env.unwrapped.action_names)  # type: ignore[attr-defined]
    diagonal = Scripted(names.index("down_right"))
    assert evaluate_success(diagonal, env, n_episodes=5) == 1.0  # type: ignore[arg-type]
    assert diagonal.calls == 5 * 7  # 7 diagonal steps per episode
    up = Scripted(names.index("up"))  # into the wall until max_steps truncates the episode
    assert evaluate_success(up, "GridWorld-v0", n_episodes=3) == 0.0  # type: ignore[arg-type]


def test_env_without_success_info_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"CartPole-v1 does not report info\['is_success'\].*evaluate_policy"):
        evaluate_success(Scripted(0), "CartPole-v1", n_episodes=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_episodes must be a positive int"):
        evaluate_success(Scripted(0), "GridWorld-v0", n_episodes=0)  # type: ignore[arg-type]
