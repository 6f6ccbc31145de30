"""Success rate of a policy on an environment that reports ``info["is_success"]`` (GridWorld, MultiGoal)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm


def evaluate_success(
    model: BaseAlgorithm, env: gym.Env | str, n_episodes: int = 20, deterministic: bool = True, first_seed: int = 0
) -> float:
    """
    Fraction of ``n_episodes`` episodes whose last step reports ``info["is_success"]``, episode ``i`` reset with
    seed ``first_seed + i`` (so that two models are compared on the same start states). SB3's ``evaluate_policy``
    returns returns, not successes; this is its counterpart for the success criterion rl-zoo logs.

    :param model: any SB3 model (``predict`` is called one observation at a time)
    :param env: a gymnasium environment or its id (made with ``gym.make`` and closed afterwards)
    :param n_episodes: number of episodes
    :param deterministic: act with the deterministic policy
    :param first_seed: seed of the first episode's reset
    :return: success rate in [0, 1]
    """
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be a positive int, got {n_episodes!r}")
    own_env = isinstance(env, str)
    environment = gym.make(env) if isinstance(env, str) else env
    discrete = isinstance(environment.action_space, spaces.Discrete)
    successes = []
    try:
        for episode in range(n_episodes):
            observation, _ = environment.reset(seed=first_seed + episode)
            done = False
            info: dict = {}
            while not done:
                action, _ = model.predict(observation, deterministic=deterministic)
                # predict() gives a 0-d array; Discrete envs take an int
                observation, _, terminated, truncated, info = environment.step(int(action) if discrete else action)
                done = terminated or truncated
            if "is_success" not in info:
                raise ValueError(
                    f"{environment.spec.id if environment.spec else environment} does not report "
                    "info['is_success'] at the end of an episode: evaluate_success needs it (use SB3's "
                    "evaluate_policy for returns)"
                )
            successes.append(bool(info["is_success"]))
    finally:
        if own_env:
            environment.close()
    return float(np.mean(successes))
