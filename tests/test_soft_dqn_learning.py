"""
SoftDQN learns: the exact soft Q* of FrozenLake, a target entropy with a learned temperature; and, as a drop-in
for DQN with its default temperature, SB3's identity tasks (against DQN's defaults, same arguments and budget) and
CartPole-v1 with rl-zoo's DQN settings; GridWorld-v0 with ``temperature="auto"`` and its default target entropy.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import IdentityEnv
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.utils import LinearSchedule

import sb3_maxent  # noqa: F401  (registers GridWorld-v0)
from sb3_maxent.common.evaluation import evaluate_success
from sb3_maxent.soft_dqn import SoftDQN
from sb3_maxent.soft_dqn.soft_dqn import AUTO_TARGET_ENTROPY_RATIO, boltzmann_log_policy, entropy_from_log_policy

# ---------------------------------------------------------------------------------------------------------------
# FrozenLake-v1 (4x4, is_slippery=False): ground truth by soft value iteration on the env's own transition table
# ---------------------------------------------------------------------------------------------------------------
GAMMA = 0.9
TAU = 0.1  # soft and hard Q* differ by 52% of max|Q*| here (asserted below)
FROZEN_LAKE_STEPS = 5_000
AUTO_TEMPERATURE_STEPS = 8_000  # the temperature follows the Q-values: a little longer to settle
# Tabular settings: a linear Q on one-hot observations (net_arch=[]) is a Q-table plus a per-action bias.
FROZEN_LAKE: dict[str, Any] = dict(
    gamma=GAMMA,
    learning_rate=LinearSchedule(0.05, 0.0, 1.0),
    buffer_size=10_000,
    learning_starts=500,
    batch_size=128,
    train_freq=1,
    gradient_steps=1,
    target_update_interval=100,
    policy_kwargs=dict(net_arch=[]),
)


class ExploringStarts(gym.Wrapper):
    """
    Start every episode in a uniformly drawn non-terminal state (the transition table is unchanged, so is Q*).
    Without it a soft policy that lingers in the entropy-rich start area rarely samples some actions next to
    the goal, and their Q-values stay unlearned: a coverage problem, not the one under test.
    """

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        _, info = self.env.reset(seed=seed, options=options)
        lake = self.env.unwrapped
        start = int(lake.np_random.choice(non_terminal_states(self.env)))
        lake.s = start  # type: ignore[attr-defined]
        return start, info


def make_frozen_lake() -> gym.Env:
    return ExploringStarts(gym.make("FrozenLake-v1", is_slippery=False))


def value_iteration(transitions: dict, n_states: int, n_actions: int, gamma: float, tau: float | None) -> np.ndarray:
    """
    Q*(s, a) = sum_s' P(s'|s, a) [r + gamma (1 - terminal) V*(s')], iterated to a fixed point (float64), with
    V*(s) = tau log sum_a exp(Q*(s, a) / tau) (soft), or max_a Q*(s, a) when tau is None (hard).
    """
    q = np.zeros((n_states, n_actions))
    for _ in range(10_000):
        if tau is None:
            v = q.max(axis=1)
        else:
            q_max = q.max(axis=1)
            v = q_max + tau * np.log(np.exp((q - q_max[:, None]) / tau).sum(axis=1))
        new_q = np.zeros_like(q)
        for s in range(n_states):
            for a in range(n_actions):
                for prob, next_s, reward, terminal in transitions[s][a]:
                    new_q[s, a] += prob * (reward + gamma * (1.0 - terminal) * v[next_s])
        if np.abs(new_q - q).max() < 1e-12:
            return new_q
        q = new_q
    raise AssertionError("value iteration did not converge")


def non_terminal_states(env: gym.Env) -> list[int]:
    desc = env.unwrapped.desc.flatten()  # type: ignore[attr-defined]
    return [s for s, cell in enumerate(desc) if cell not in (b"H", b"G")]


def q_table(model: SoftDQN, n_states: int) -> np.ndarray:
    with th.no_grad():
        return model.q_net(th.arange(n_states)).numpy()  # Discrete observations: one-hot encoded by SB3


@pytest.mark.parametrize("seed", [0, 1])
def test_frozen_lake_soft_q_star(seed: int) -> None:
    env = make_frozen_lake()
    transitions = env.unwrapped.P  # type: ignore[attr-defined]
    n_states, n_actions = env.observation_space.n, env.action_space.n  # type: ignore[attr-defined]
    states = non_terminal_states(env)
    soft_q = value_iteration(transitions, n_states, n_actions, GAMMA, TAU)[states]
    hard_q = value_iteration(transitions, n_states, n_actions, GAMMA, None)[states]
    scale = np.abs(soft_q).max()
    # The temperature matters: an agent that learned the max target (hard Q*) would be > 20% off.
    gap = np.abs(soft_q - hard_q).max() / scale
    assert gap > 0.2

    model = SoftDQN("MlpPolicy", env, temperature=TAU, seed=seed, **FROZEN_LAKE).learn(FROZEN_LAKE_STEPS)
    errors = np.abs(q_table(model, n_states)[states] - soft_q).max(axis=1) / scale
    print(f"FrozenLake seed {seed}: max relative error {errors.max():.4f} (soft vs hard Q*: {gap:.3f})")
    assert errors.max() <= 0.05, dict(zip(states, errors.round(4), strict=True))


@pytest.mark.parametrize("target_fraction", [0.3, 0.6])
def test_auto_temperature_reaches_target_entropy(target_fraction: float) -> None:
    env = make_frozen_lake()
    target_entropy = target_fraction * np.log(env.action_space.n)  # type: ignore[attr-defined]
    model = SoftDQN(
        "MlpPolicy", env, temperature="auto_0.1", target_entropy=target_entropy, seed=0, **FROZEN_LAKE
    ).learn(AUTO_TEMPERATURE_STEPS)
    # Mean entropy of the final Boltzmann policy over the last 2000 states the agent visited
    buffer = model.replay_buffer
    assert buffer is not None
    visited = th.as_tensor(buffer.observations[buffer.pos - 2000 : buffer.pos, 0]).long()
    with th.no_grad():
        log_pi = boltzmann_log_policy(model.q_net(visited), model._current_temperature())
    mean_entropy = entropy_from_log_policy(log_pi).mean().item()
    print(f"target entropy {target_entropy:.4f}, final mean entropy {mean_entropy:.4f}")
    assert abs(mean_entropy - target_entropy) <= 0.1 * target_entropy, (mean_entropy, target_entropy)


# ---------------------------------------------------------------------------------------------------------------
# Identity tasks (SB3's IdentityEnv: the Discrete observation names the rewarded action, 100 steps per episode):
# SoftDQN with its default temperature against DQN with its default epsilon, every other argument the same
# ---------------------------------------------------------------------------------------------------------------
IDENTITY: dict[str, Any] = dict(gamma=0.4, learning_rate=0.002, learning_starts=0)  # SB3's identity tests, faster lr
IDENTITY_BUDGETS = {2: 1_000, 4: 1_200, 10: 2_500}  # short: DQN's own result is not always 100 at 10 actions
IDENTITY_SEEDS = (3, 0, 1)  # 3: SB3's identity-test seed


def identity_return(algo: type[DQN], n_actions: int, seed: int) -> float:
    """Deterministic evaluation return out of 100 (mean of 10 episodes) after the task's budget."""
    env = make_vec_env(lambda: IdentityEnv(n_actions), n_envs=1, seed=seed)
    model = algo("MlpPolicy", env, seed=seed, **IDENTITY).learn(IDENTITY_BUDGETS[n_actions])
    eval_env = IdentityEnv(n_actions)
    eval_env.action_space.seed(seed + 1000)  # IdentityEnv draws its states from its space: same states for both
    mean_return, _ = evaluate_policy(model, Monitor(eval_env), n_eval_episodes=10, deterministic=True)
    assert isinstance(mean_return, float)
    return mean_return


@pytest.mark.slow
@pytest.mark.parametrize("n_actions", list(IDENTITY_BUDGETS))
def test_identity_default_temperature_matches_dqn(n_actions: int) -> None:
    dqn = [identity_return(DQN, n_actions, seed) for seed in IDENTITY_SEEDS]
    soft = [identity_return(SoftDQN, n_actions, seed) for seed in IDENTITY_SEEDS]
    budget = IDENTITY_BUDGETS[n_actions]
    print(f"IdentityEnv({n_actions}), {budget:,} steps, seeds {IDENTITY_SEEDS}: DQN {dqn}, SoftDQN {soft}")
    # A random policy earns 100 / n_actions; DQN's mean is above 80 on all three tasks
    assert np.mean(soft) >= np.mean(dqn), (soft, dqn)
    for seed, dqn_return, soft_return in zip(IDENTITY_SEEDS, dqn, soft, strict=True):
        if dqn_return > 90:
            assert soft_return > 90, f"seed {seed}: SoftDQN {soft_return}, DQN {dqn_return}"


# ---------------------------------------------------------------------------------------------------------------
# CartPole-v1 with rl-zoo's DQN hyperparameters (rl-baselines3-zoo hyperparams/dqn.yml) and SoftDQN's default
# temperature in place of rl-zoo's epsilon settings (exploration_fraction 0.16, exploration_final_eps 0.04)
# ---------------------------------------------------------------------------------------------------------------
CARTPOLE_ZOO: dict[str, Any] = dict(
    learning_rate=2.3e-3,
    batch_size=64,
    buffer_size=100_000,
    learning_starts=1000,
    gamma=0.99,
    target_update_interval=10,
    train_freq=256,
    gradient_steps=128,
    policy_kwargs=dict(net_arch=[256, 256]),
)
CARTPOLE_BUDGET = 50_000  # rl-zoo's n_timesteps for DQN on CartPole-v1
THRESHOLD = 475.0
EVAL_FREQ = 1_000


class SolvedCallback(BaseCallback):
    """
    Every ``EVAL_FREQ`` steps, once the last 5 training episodes average >= 300 (a cheap gate that only skips
    evaluations), evaluate 20 deterministic episodes on a separate env; stop training at a mean >= THRESHOLD.
    """

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=seed + 1000)
        self.solved_at: int | None = None
        self.evaluations: list[tuple[int, float]] = []

    def _on_step(self) -> bool:
        if self.num_timesteps % EVAL_FREQ != 0:
            return True
        recent = [info["r"] for info in list(self.model.ep_info_buffer or [])[-5:]]
        if len(recent) < 5 or np.mean(recent) < 300:
            return True
        mean_return, _ = evaluate_policy(self.model, self.eval_env, n_eval_episodes=20, deterministic=True)
        assert isinstance(mean_return, float)
        self.evaluations.append((self.num_timesteps, mean_return))
        if mean_return >= THRESHOLD:
            self.solved_at = self.num_timesteps
            return False
        return True


# 3 of 3 seeds. With one torch thread (tests/conftest.py) a seed's run is the same in every process on a
# given CPU (docs/algos/soft_dqn.md has the steps at which each seed solved it).
CARTPOLE_SEEDS = (0, 1, 2)


@pytest.mark.slow
def test_cartpole_solved_within_budget() -> None:
    solved: dict[int, int | None] = {}
    for seed in CARTPOLE_SEEDS:
        env = make_vec_env("CartPole-v1", n_envs=1, seed=seed)
        callback = SolvedCallback(seed)
        SoftDQN("MlpPolicy", env, seed=seed, **CARTPOLE_ZOO).learn(CARTPOLE_BUDGET, callback=callback)
        print(f"CartPole-v1 seed {seed}: evaluations (step, mean return) {callback.evaluations}")
        solved[seed] = callback.solved_at
    assert all(step is not None for step in solved.values()), (
        f"steps to a mean evaluation return >= {THRESHOLD} per seed (None: not within {CARTPOLE_BUDGET:,}): {solved}"
    )


# ---------------------------------------------------------------------------------------------------------------
# GridWorld-v0 (8x8 open grid, 9 moves, goal in the far corner) with temperature="auto" and its default target
# entropy, AUTO_TARGET_ENTROPY_RATIO * log 9; every other setting is the GridWorld-v0 entry of zoo_configs/soft_dqn.yml
# ---------------------------------------------------------------------------------------------------------------
GRIDWORLD: dict[str, Any] = dict(
    learning_rate=1e-3,
    buffer_size=10_000,
    learning_starts=1000,
    batch_size=64,
    gamma=0.9,
    target_update_interval=500,
    train_freq=4,
    gradient_steps=1,
)
GRIDWORLD_AUTO_BUDGET = 10_000  # the zoo entry's n_timesteps
GRIDWORLD_SEEDS = (0, 1, 2)


@pytest.mark.slow
def test_auto_temperature_solves_gridworld() -> None:
    results = {}
    for seed in GRIDWORLD_SEEDS:
        env = make_vec_env("GridWorld-v0", n_envs=1, seed=seed)
        model = SoftDQN("MlpPolicy", env, temperature="auto", seed=seed, **GRIDWORLD).learn(GRIDWORLD_AUTO_BUDGET)
        assert model.target_entropy == pytest.approx(AUTO_TARGET_ENTROPY_RATIO * np.log(9))
        results[seed] = (evaluate_success(model, "GridWorld-v0"), model._current_temperature())
    print(f"GridWorld-v0, temperature='auto', {GRIDWORLD_AUTO_BUDGET:,} steps: (success, final temperature) {results}")
    assert all(success >= 0.95 for success, _ in results.values()), results
