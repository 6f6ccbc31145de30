"""The continuous multi-goal point mass of the soft Q-learning paper (Haarnoja et al., 2017, Fig. 1/33 of
the lecture notes): a point in the plane, started near the origin, can end its episode at any of four goals.

Reward of a step that moves the point to ``x'`` with the (clipped) velocity ``a``::

    r = - action_cost_coeff * ||a||^2 - distance_cost_coeff * min_g ||x' - g||^2 + goal_reward * [reached]

where ``reached`` means ``min_g ||x' - g|| < goal_radius``; reaching a goal ends the episode
(``terminated``). The distance cost pulls towards the nearest goal, so the reward landscape has four equally
good modes: a maximum-entropy agent should keep all of them, a standard agent usually commits to one.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

DEFAULT_GOALS: tuple[tuple[float, float], ...] = ((5.0, 0.0), (-5.0, 0.0), (0.0, 5.0), (0.0, -5.0))


class MultiGoalEnv(gym.Env[NDArray[np.float32], NDArray[np.float32]]):
    """
    Point mass in ``[-bound, bound]^2`` with four goals; the observation is the position, the action the
    velocity (each component clipped to ``[-max_speed, max_speed]``), the next position
    ``clip(x + a, -bound, bound)``. Defaults are those of the soft Q-learning paper's demonstration.

    Reward (per step, ``a`` the clipped action, ``x'`` the new position):
    ``-action_cost_coeff * ||a||^2 - distance_cost_coeff * min_g ||x' - g||^2``, plus ``goal_reward`` on the
    step that brings ``x'`` within ``goal_radius`` of a goal, which ends the episode (``terminated``). After
    ``max_steps`` steps the episode is ``truncated``. On the final step ``info["is_success"]`` says whether a
    goal was reached and ``info["goal"]`` is its index in ``goals`` (-1 when truncated). Every step's info
    also holds the two costs (``action_cost``, ``distance_cost``).

    :param goals: goal positions ``[(x, y), ...]``; default ``(+-5, 0), (0, +-5)``
    :param goal_reward: reward added when a goal is reached
    :param action_cost_coeff: weight of the squared speed in the cost
    :param distance_cost_coeff: weight of the squared distance to the nearest goal in the cost
    :param goal_radius: distance to a goal under which it counts as reached
    :param init_sigma: standard deviation of the Gaussian start position around the origin
    :param bound: half-width of the square arena (observations lie in ``[-bound, bound]^2``)
    :param max_speed: bound on each action component (the action space is ``[-max_speed, max_speed]^2``)
    :param max_steps: steps after which an episode is truncated
    :param render_mode: ``"rgb_array"`` (a ``render_size`` x ``render_size`` image) or None
    :param render_size: side of the rendered image in pixels
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        goals: Sequence[tuple[float, float]] = DEFAULT_GOALS,
        goal_reward: float = 10.0,
        action_cost_coeff: float = 30.0,
        distance_cost_coeff: float = 1.0,
        goal_radius: float = 1.0,
        init_sigma: float = 0.1,
        bound: float = 7.0,
        max_speed: float = 1.0,
        max_steps: int = 30,
        render_mode: str | None = None,
        render_size: int = 256,
    ) -> None:
        super().__init__()
        goal_array = np.asarray(goals, dtype=np.float64)
        if goal_array.ndim != 2 or goal_array.shape[1] != 2 or len(goal_array) == 0:
            raise ValueError(f"goals must be a non-empty sequence of (x, y) pairs, got {goals!r}.")
        for name, value in (
            ("goal_reward", goal_reward),
            ("action_cost_coeff", action_cost_coeff),
            ("distance_cost_coeff", distance_cost_coeff),
            ("init_sigma", init_sigma),
        ):
            if not np.isfinite(value) or (name != "goal_reward" and value < 0):
                raise ValueError(
                    f"{name} must be a finite number{'' if name == 'goal_reward' else ' >= 0'}, got {value}."
                )
        for name, value in (("goal_radius", goal_radius), ("bound", bound), ("max_speed", max_speed)):
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value}.")
        if (np.abs(goal_array) > bound).any():
            raise ValueError(
                f"Every goal must lie inside the arena [-{bound}, {bound}]^2, got {goal_array.tolist()}; "
                "move the goals or increase bound."
            )
        if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
            raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}.")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"Unknown render_mode {render_mode!r}: use one of {self.metadata['render_modes']} or None."
            )
        if isinstance(render_size, bool) or not isinstance(render_size, (int, np.integer)) or render_size < 16:
            raise ValueError(f"render_size must be an integer >= 16 (pixels), got {render_size!r}.")

        self.goals: NDArray[np.float64] = goal_array
        self.goal_reward = float(goal_reward)
        self.action_cost_coeff = float(action_cost_coeff)
        self.distance_cost_coeff = float(distance_cost_coeff)
        self.goal_radius = float(goal_radius)
        self.init_sigma = float(init_sigma)
        self.bound = float(bound)
        self.max_speed = float(max_speed)
        self.max_steps = int(max_steps)
        self.render_mode = render_mode
        self.render_size = int(render_size)

        self.observation_space = spaces.Box(-self.bound, self.bound, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Box(-self.max_speed, self.max_speed, shape=(2,), dtype=np.float32)
        self._position = np.zeros(2, dtype=np.float64)
        self._elapsed_steps = 0
        self._path: list[NDArray[np.float64]] = []
        self._background: NDArray[np.uint8] | None = None

    # ------------------------------------------------------------------------------------------------
    def distance_cost(self, positions: NDArray[np.floating]) -> NDArray[np.float64]:
        """
        :param positions: ``(..., 2)`` positions
        :return: ``distance_cost_coeff * min_g ||x - g||^2`` for each position
        """
        x = np.asarray(positions, dtype=np.float64)
        squared = ((x[..., None, :] - self.goals) ** 2).sum(-1)
        return self.distance_cost_coeff * squared.min(-1)

    def reward(self, action: NDArray[np.floating], next_position: NDArray[np.floating]) -> float:
        """
        Reward of moving to ``next_position`` with ``action`` (clipped as in ``step``), goal bonus included.

        :param action: velocity ``(2,)``
        :param next_position: position ``(2,)`` after the move
        """
        a = np.clip(np.asarray(action, dtype=np.float64), -self.max_speed, self.max_speed)
        x = np.asarray(next_position, dtype=np.float64)
        reached = np.linalg.norm(self.goals - x, axis=1).min() < self.goal_radius
        return float(-self.action_cost_coeff * (a**2).sum() - self.distance_cost(x) + self.goal_reward * reached)

    @property
    def position(self) -> NDArray[np.float64]:
        """Current position (a copy)."""
        return self._position.copy()

    def _observation(self) -> NDArray[np.float32]:
        return self._position.astype(np.float32)

    # ------------------------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """
        Start near the origin (Gaussian with standard deviation ``init_sigma``).

        :param seed: seeds ``np_random``
        :param options: ``{"position": (x, y)}`` starts this episode from a given point instead
        :return: the start position and an empty info dict
        """
        super().reset(seed=seed)
        if options is not None and options.get("position") is not None:
            start = np.asarray(options["position"], dtype=np.float64)
            if start.shape != (2,) or not np.isfinite(start).all():
                raise ValueError(f"options['position'] must be a finite (x, y) pair, got {options['position']!r}.")
        else:
            start = self.np_random.normal(0.0, self.init_sigma, size=2)
        self._position = np.clip(start, -self.bound, self.bound)
        self._elapsed_steps = 0
        self._path = [self._position.copy()]
        return self._observation(), {}

    def step(
        self, action: NDArray[np.floating]
    ) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool, dict[str, Any]]:
        """
        Move by the clipped velocity ``action``.

        :param action: velocity ``(2,)``
        :return: ``(position, reward, terminated, truncated, info)``
        """
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (2,) or not np.isfinite(a).all():
            raise ValueError(f"MultiGoalEnv expects a finite action of shape (2,), got {action!r}.")
        a = np.clip(a, -self.max_speed, self.max_speed)
        self._position = np.clip(self._position + a, -self.bound, self.bound)
        self._elapsed_steps += 1
        self._path.append(self._position.copy())

        distances = np.linalg.norm(self.goals - self._position, axis=1)
        goal = int(distances.argmin())
        terminated = bool(distances[goal] < self.goal_radius)
        action_cost = self.action_cost_coeff * float((a**2).sum())
        distance_cost = float(self.distance_cost(self._position))
        reward = -action_cost - distance_cost + (self.goal_reward if terminated else 0.0)
        truncated = not terminated and self._elapsed_steps >= self.max_steps
        info: dict[str, Any] = {"action_cost": action_cost, "distance_cost": distance_cost}
        if terminated or truncated:
            info["is_success"] = terminated
            info["goal"] = goal if terminated else -1
        return self._observation(), reward, terminated, truncated, info

    # ------------------------------------------------------------------------------------------------
    def render(self) -> NDArray[np.uint8] | None:
        """An RGB image: distance cost shaded, goals in green, the episode's path and the point in red."""
        if self.render_mode is None:
            gym.logger.warn('MultiGoalEnv.render() called without render_mode; pass render_mode="rgb_array".')
            return None
        size = self.render_size
        if self._background is None:
            self._background = self._draw_background()
        image = self._background.copy()
        pixels = self._to_pixels(np.asarray(self._path))
        for (r0, c0), (r1, c1) in itertools.pairwise(pixels):
            n = max(abs(r1 - r0), abs(c1 - c0), 1)
            rows = np.linspace(r0, r1, n + 1).round().astype(int)
            cols = np.linspace(c0, c1, n + 1).round().astype(int)
            image[rows, cols] = (200, 60, 60)
        yy, xx = np.mgrid[0:size, 0:size]
        row, col = pixels[-1]
        image[(yy - row) ** 2 + (xx - col) ** 2 <= max(2, size // 64) ** 2] = (220, 30, 30)
        return image

    def _to_pixels(self, points: NDArray[np.float64]) -> NDArray[np.int64]:
        """``(N, 2)`` positions to ``(N, 2)`` (row, col) pixel indices (y axis pointing up)."""
        scale = (self.render_size - 1) / (2 * self.bound)
        cols = np.round((points[:, 0] + self.bound) * scale)
        rows = np.round((self.bound - points[:, 1]) * scale)
        return np.stack([rows, cols], axis=1).astype(np.int64)

    def _draw_background(self) -> NDArray[np.uint8]:
        size = self.render_size
        coords = np.linspace(-self.bound, self.bound, size)
        xs, ys = np.meshgrid(coords, coords[::-1])
        cost = self.distance_cost(np.stack([xs, ys], axis=-1))
        shade = 1.0 - cost / max(float(cost.max()), 1e-12)  # 1 (light) at the goals, 0 (dark) farthest away
        grey = (90 + 160 * shade).astype(np.uint8)
        image = np.repeat(grey[..., None], 3, axis=2)
        for gx, gy in self.goals:
            inside = (xs - gx) ** 2 + (ys - gy) ** 2 <= self.goal_radius**2
            image[inside] = (90, 190, 90)
        return image
