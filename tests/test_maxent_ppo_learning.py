"""
MaxEntPPO learns CartPole-v1; a broken update does not pass the same bar. The bar: a mean deterministic return
>= 475 over 20 evaluation episodes at an evaluation within the budget (helpers.SolvedCallback, rl-zoo's
EvalCallback protocol), training stopping there; see tests/test_maxent_on_policy_learning.py for why not one
evaluation of the final policy.

The negative control is a sign error in the minibatch advantages. An entropy term 1000 times the default
(beta = 10), this file's control while the bar was the final policy's evaluation, is not one under this bar:
soft_return reached 500 at its evaluation at 10k steps (the bonus beta * H is paid for every step survived, so the
soft return still rewards balancing, and the deterministic policy balances), one_step peaked at 389 at 100k and
rising (measured 2026-12-01, seed 0).
"""

from __future__ import annotations

import pytest
import torch as th
from helpers import CARTPOLE_THRESHOLD, SolvedCallback
from stable_baselines3.common.env_util import make_vec_env

from sb3_maxent import MaxEntPPO


class SignFlippedMaxEntPPO(MaxEntPPO):
    """A broken MaxEntPPO: the minibatch advantages reach the surrogate with the wrong sign."""

    def _maxent_advantages(
        self, advantages: th.Tensor, returns: th.Tensor, entropy: th.Tensor, beta: float
    ) -> tuple[th.Tensor, th.Tensor]:
        advantages, returns = super()._maxent_advantages(advantages, returns, entropy, beta)
        return -advantages, returns


# rl-zoo's tuned PPO CartPole-v1 hyperparameters (rl-baselines3-zoo hyperparams/ppo.yml), 8 envs
CARTPOLE_PPO = dict(
    n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, learning_rate=1e-3, clip_range=0.2
)
BUDGET = 100_000  # environment steps; rl-zoo's budget for PPO on CartPole-v1
EVAL_FREQ = 5_000


def train_until_solved(seed: int, algo: type[MaxEntPPO] = MaxEntPPO, **kwargs) -> SolvedCallback:
    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    callback = SolvedCallback(seed, EVAL_FREQ)
    algo("MlpPolicy", env, seed=seed, **CARTPOLE_PPO, **kwargs).learn(BUDGET, callback=callback)
    return callback


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("mode", ["one_step", "soft_return"])
def test_cartpole_default_beta(mode: str, seed: int) -> None:
    callback = train_until_solved(seed, maxent_mode=mode)
    print(f"CartPole-v1 {mode} seed {seed}: solved at {callback.solved_at}; {callback.evaluations}")
    assert callback.solved_at is not None, (
        f"no evaluation mean >= {CARTPOLE_THRESHOLD} within {BUDGET:,} steps: {callback.evaluations}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["one_step", "soft_return"])
def test_cartpole_sign_flipped_advantages_fail(mode: str) -> None:
    callback = train_until_solved(0, SignFlippedMaxEntPPO, maxent_mode=mode)
    print(f"CartPole-v1 {mode} sign-flipped advantages: evaluations {callback.evaluations}")
    assert callback.solved_at is None
    assert max(mean for _, mean in callback.evaluations) < CARTPOLE_THRESHOLD
