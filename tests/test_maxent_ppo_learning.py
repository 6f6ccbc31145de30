"""MaxEntPPO learns CartPole-v1; a broken entropy term does not pass the same bar."""

from __future__ import annotations

import pytest
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

from sb3_maxent import MaxEntPPO

# rl-zoo's tuned PPO CartPole-v1 hyperparameters (rl-baselines3-zoo hyperparams/ppo.yml), 8 envs
CARTPOLE_PPO = dict(
    n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, learning_rate=1e-3, clip_range=0.2
)
BUDGET = 100_000  # environment steps; rl-zoo's budget for PPO on CartPole-v1
THRESHOLD = 475.0


def train_and_evaluate(seed: int, **kwargs) -> float:
    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = MaxEntPPO("MlpPolicy", env, seed=seed, **CARTPOLE_PPO, **kwargs).learn(BUDGET)
    eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=seed + 1000)
    mean_reward, _ = evaluate_policy(model, eval_env, n_eval_episodes=20, deterministic=True)
    return float(mean_reward)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("mode", ["one_step", "soft_return"])
def test_cartpole_default_beta(mode: str, seed: int) -> None:
    mean_reward = train_and_evaluate(seed, maxent_mode=mode)
    print(f"CartPole-v1 {mode} seed {seed}: mean evaluation return {mean_reward:.2f}")
    assert mean_reward >= THRESHOLD


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["one_step", "soft_return"])
def test_cartpole_broken_entropy_term_fails(mode: str) -> None:
    # A temperature 1000x the default swamps the return with entropy: the bar above must catch it.
    mean_reward = train_and_evaluate(0, maxent_mode=mode, maxent_coef=10.0)
    print(f"CartPole-v1 {mode} beta=10: mean evaluation return {mean_reward:.2f}")
    assert mean_reward < THRESHOLD
