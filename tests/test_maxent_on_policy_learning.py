"""MaxEntA2C, MaxEntMaskablePPO and MaxEntTRPO learn CartPole-v1 at rl-zoo's budgets (the masked task and the
learned beta are learned in tests/test_maxent_on_policy.py)."""

from __future__ import annotations

from typing import Any

import pytest
import torch as th
from helpers import PPO_CARTPOLE
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

from sb3_maxent import MaxEntA2C, MaxEntMaskablePPO, MaxEntTRPO
from sb3_maxent.envs.wrappers import AllActionsValid

THRESHOLD = 475.0


#: algorithm -> (n_envs, budget, settings): rl-zoo's CartPole-v1 entries of the parent (hyperparams/a2c.yml,
#: trpo.yml; MaskablePPO has none, so ppo.yml's), maxent defaults otherwise (beta 0.01)
CARTPOLE: dict[type[BaseAlgorithm], tuple[int, int, dict[str, Any]]] = {
    MaxEntA2C: (8, 500_000, {"ent_coef": 0.0}),
    MaxEntTRPO: (
        2,
        100_000,
        {
            "n_steps": 512,
            "batch_size": 512,
            "cg_damping": 1e-3,
            "gae_lambda": 0.98,
            "gamma": 0.99,
            "learning_rate": 1e-3,
            "n_critic_updates": 20,
        },
    ),
    MaxEntMaskablePPO: (8, 100_000, {**PPO_CARTPOLE, "clip_range": 0.2}),
}


def train_cartpole(algo: type[BaseAlgorithm], seed: int, **kwargs: Any) -> float:
    th.set_num_threads(1)
    n_envs, budget, settings = CARTPOLE[algo]
    extra = {"wrapper_class": AllActionsValid} if algo is MaxEntMaskablePPO else {}
    env = make_vec_env("CartPole-v1", n_envs=n_envs, seed=seed, **extra)
    model = algo("MlpPolicy", env, seed=seed, device="cpu", **settings, **kwargs).learn(budget)
    eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=seed + 1000)
    mean_reward, _ = evaluate_policy(model, eval_env, n_eval_episodes=20, deterministic=True)
    return float(mean_reward)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("algo", list(CARTPOLE), ids=lambda algo: algo.__name__)
def test_cartpole(algo: type[BaseAlgorithm], seed: int) -> None:
    mean_reward = train_cartpole(algo, seed)
    print(f"CartPole-v1 {algo.__name__} seed {seed}: mean evaluation return {mean_reward:.2f}")
    assert mean_reward >= THRESHOLD
