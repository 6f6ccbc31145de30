"""Environment wrappers."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class AllActionsValid(gym.Wrapper):
    """
    ``action_masks()`` with every action valid, so that MaskablePPO (and MaxEntMaskablePPO) run on an environment
    without invalid actions, e.g. from an rl-zoo config (``env_wrapper: [sb3_maxent.envs.wrappers.AllActionsValid]``).
    """

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        space = env.action_space
        if isinstance(space, spaces.Discrete):
            size = int(space.n)
        elif isinstance(space, spaces.MultiDiscrete):
            size = int(space.nvec.sum())
        elif isinstance(space, spaces.MultiBinary):
            size = 2 * int(np.prod(space.shape))
        else:
            raise ValueError(
                f"AllActionsValid needs a Discrete, MultiDiscrete or MultiBinary action space, got {space}"
            )
        self._mask = np.ones(size, dtype=bool)

    def action_masks(self) -> np.ndarray:
        return self._mask.copy()
