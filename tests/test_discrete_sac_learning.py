"""
DiscreteSAC learns: with a fixed entropy coefficient alpha, the min of its twin critics converges to soft value
iteration's Q* at temperature alpha and its actor to pi* (FrozenLake-v1 non-slippery, GridWorld-v0); a learned
alpha ends near its target entropy; CartPole-v1 and GridWorld-v0 are solved in 3 of 3 seeds.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from helpers import CARTPOLE_THRESHOLD, SolvedCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.utils import LinearSchedule

import sb3_maxent  # noqa: F401  (registers GridWorld-v0)
from sb3_maxent import DiscreteSAC
from sb3_maxent.common.evaluation import evaluate_success
from sb3_maxent.common.soft_math import entropy_from_log_policy
from sb3_maxent.envs.gridworld import GridWorldEnv
from sb3_maxent.envs.solver import SoftSolution, soft_value_iteration, tabular_mdp

# ---------------------------------------------------------------------------------------------------------------
# Ground truth: soft value iteration on the env's own transition table, at temperature alpha
# ---------------------------------------------------------------------------------------------------------------
#: Pairs compared: non-terminal states, and actions the soft-optimal policy takes with at least this probability
#: (the actor rarely samples the others, so their Q-values are barely trained, as in any actor-critic)
MIN_POLICY = 1e-3
# Tabular settings: linear actor and critics on one-hot observations (net_arch=[]) are tables plus a bias.
TABULAR: dict[str, Any] = dict(
    gamma=0.9,
    learning_rate=LinearSchedule(0.05, 0.0, 1.0),
    batch_size=128,
    train_freq=1,
    gradient_steps=1,
    tau=1.0,
    target_update_interval=100,
    policy_kwargs=dict(net_arch=[]),
)
# env id -> (env kwargs, alpha, steps, learning_starts); alpha chosen so that soft and hard Q* differ by more than
# 20% (asserted). The uniformly random steps before learning_starts must visit every pair that pi* takes: a pair
# never in the buffer keeps its initial Q, so the actor keeps avoiding it (GridWorld's 63 x 9 pairs after 1,000
# random steps: relative error 0.30 on a pair pi* takes with probability 0.11; after 4,000: 0.002).
GROUND_TRUTH: dict[str, tuple[dict[str, Any], float, int, int]] = {
    "FrozenLake-v1": (dict(is_slippery=False), 0.1, 5_000, 1_000),
    "GridWorld-v0": ({}, 0.05, 10_000, 4_000),
}


class ExploringStarts(gym.Wrapper):
    """
    Start every episode in a uniformly drawn non-terminal state (the transition table, hence Q*, is unchanged),
    so that every pair the soft-optimal policy takes is visited: a coverage problem is not the one under test.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.starts = np.flatnonzero(~tabular_mdp(env.unwrapped).terminal)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        if seed is not None:
            self.env.reset(seed=seed)  # seeds the env's np_random, which draws the start
        start = int(self.env.unwrapped.np_random.choice(self.starts))
        base = self.env.unwrapped
        if isinstance(base, GridWorldEnv):
            return self.env.reset(options={**(options or {}), "start": base.to_cell(start)})
        _, info = self.env.reset(options=options)
        base.s = start  # type: ignore[attr-defined]  (FrozenLake's state)
        return start, info


def tables(model: DiscreteSAC, n_states: int) -> tuple[np.ndarray, np.ndarray]:
    """min_i Q_i(s, .) and pi(.|s) for every state (Discrete observations, one-hot encoded by SB3)."""
    states = th.arange(n_states)
    with th.no_grad():
        q_min = th.min(th.stack(model.critic(states)), dim=0).values
        pi = model.actor.log_probs(states).exp()
    return q_min.numpy(), pi.numpy()


@pytest.mark.slow
@pytest.mark.parametrize("env_id", list(GROUND_TRUTH))
def test_soft_q_star_and_policy(env_id: str) -> None:
    env_kwargs, alpha, steps, learning_starts = GROUND_TRUTH[env_id]
    env = ExploringStarts(gym.make(env_id, **env_kwargs))
    mdp = tabular_mdp(env.unwrapped)
    soft: SoftSolution = soft_value_iteration(mdp, TABULAR["gamma"], alpha)
    hard = soft_value_iteration(mdp, TABULAR["gamma"], 0.0)
    active = ~mdp.terminal
    pairs = active[:, None] & (soft.policy >= MIN_POLICY)
    # The temperature matters: hard Q* (what a max target would learn) is > 20% away on some compared pair
    assert (np.abs(hard.q_values - soft.q_values) / np.abs(soft.q_values))[pairs].max() > 0.2

    model = DiscreteSAC(
        "MlpPolicy", env, ent_coef=alpha, seed=0, buffer_size=steps, learning_starts=learning_starts, **TABULAR
    ).learn(steps)
    q_min, pi = tables(model, mdp.n_states)
    q_errors = (np.abs(q_min - soft.q_values) / np.abs(soft.q_values))[pairs]
    total_variation = 0.5 * np.abs(pi - soft.policy).sum(axis=1)[active]
    print(f"{env_id}, alpha {alpha}, {steps:,} steps: max rel. Q error {q_errors.max():.4f}", end=", ")
    print(f"max TV {total_variation.max():.4f}")
    assert q_errors.max() <= 0.05
    assert total_variation.max() <= 0.05


@pytest.mark.slow
@pytest.mark.parametrize("target_ratio", [0.3, 0.6])
def test_auto_ent_coef_reaches_target_entropy(target_ratio: float) -> None:
    """A learned alpha ends with the policy's mean entropy over recently visited states within 10% of the target."""
    env = ExploringStarts(gym.make("FrozenLake-v1", is_slippery=False))
    steps = 8_000
    model = DiscreteSAC(
        "MlpPolicy",
        env,
        ent_coef="auto_0.1",
        target_entropy=f"auto_{target_ratio}",
        seed=0,
        buffer_size=steps,
        learning_starts=1_000,
        **TABULAR,
    ).learn(steps)
    target = target_ratio * np.log(4)
    assert model.target_entropy == pytest.approx(target)
    buffer = model.replay_buffer
    assert buffer is not None
    # the last 2,000 states the agent visited (the buffer holds the whole run, and its position wraps)
    last = np.arange(buffer.pos - 2000, buffer.pos) % buffer.buffer_size
    visited = th.as_tensor(buffer.observations[last, 0]).long()
    with th.no_grad():
        mean_entropy = entropy_from_log_policy(model.actor.log_probs(visited)).mean().item()
    alpha = model._current_ent_coef().item()
    print(f"target entropy {target:.4f}, final mean entropy {mean_entropy:.4f}, alpha {alpha:.4g}")
    assert abs(mean_entropy - target) <= 0.1 * target


# ---------------------------------------------------------------------------------------------------------------
# CartPole-v1: a mean deterministic evaluation return >= 475 (20 episodes) within the budget, the seeds in SEEDS
# ---------------------------------------------------------------------------------------------------------------
CARTPOLE: dict[str, Any] = dict(
    learning_rate=1e-3,
    buffer_size=50_000,
    learning_starts=1_000,
    batch_size=64,
    train_freq=1,
    gradient_steps=1,
    tau=0.005,
    policy_kwargs=dict(net_arch=[64, 64]),
)
CARTPOLE_BUDGET = 40_000  # seeds 0, 1, 2 first solved it at 26k, 30k and 14k steps (margin for other CPUs)
EVAL_FREQ = 2_000


SEEDS = (0, 1, 2)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_cartpole_solved_within_budget(seed: int) -> None:
    env = make_vec_env("CartPole-v1", n_envs=1, seed=seed)
    callback = SolvedCallback(seed, EVAL_FREQ)
    DiscreteSAC("MlpPolicy", env, seed=seed, **CARTPOLE).learn(CARTPOLE_BUDGET, callback=callback)
    print(f"CartPole-v1 seed {seed}: evaluations (step, mean return) {callback.evaluations}")
    assert callback.solved_at is not None, (
        f"seed {seed}: no evaluation mean >= {CARTPOLE_THRESHOLD} within {CARTPOLE_BUDGET:,} steps: "
        f"{callback.evaluations}"
    )


# ---------------------------------------------------------------------------------------------------------------
# GridWorld-v0 (8x8 open grid, 9 moves, goal in the far corner): the zoo entry's settings, success over 20
# deterministic episodes, the seeds in SEEDS
# ---------------------------------------------------------------------------------------------------------------
GRIDWORLD: dict[str, Any] = dict(
    learning_rate=1e-3,
    buffer_size=10_000,
    learning_starts=1_000,
    batch_size=64,
    gamma=0.9,
    train_freq=1,
    gradient_steps=1,
    policy_kwargs=dict(net_arch=[64, 64]),
)
GRIDWORLD_BUDGET = 20_000  # seed 2 failed at 10k on an AVX-512 Xeon (success 0), solved at 15k and 20k


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_gridworld_solved(seed: int) -> None:
    env = make_vec_env("GridWorld-v0", n_envs=1, seed=seed)
    model = DiscreteSAC("MlpPolicy", env, seed=seed, **GRIDWORLD).learn(GRIDWORLD_BUDGET)
    success, alpha = evaluate_success(model, "GridWorld-v0"), model._current_ent_coef().item()
    print(f"GridWorld-v0 seed {seed}, {GRIDWORLD_BUDGET:,} steps: success {success}, final alpha {alpha:.4g}")
    assert success >= 0.95
