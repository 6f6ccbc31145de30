"""Soft / hard value iteration against independent ground truth: the tau -> 0 limit, the entropy-only
limit on the open grid, Bellman residuals, exact linear policy evaluation, hand-solved tiny chains and
FrozenLake's stochastic model."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

from sb3_maxent.envs.gridworld import LAYOUT_NAMES, GridWorldEnv
from sb3_maxent.envs.solver import (
    TabularMDP,
    hard_value_iteration,
    soft_bellman_residual,
    soft_maximum,
    soft_policy,
    soft_policy_evaluation,
    soft_value_iteration,
    tabular_mdp,
)


def _frozen_lake() -> gym.Env:
    return gym.make("FrozenLake-v1", is_slippery=True)


MODELS = {
    "open": lambda: GridWorldEnv("open"),
    "two_goals": lambda: GridWorldEnv("two_goals"),
    "walls_4moves_penalty": lambda: GridWorldEnv("walls", moves="4", step_penalty=0.02),
    "frozen_lake": _frozen_lake,
}


# --------------------------------------------------------------------------------------------------
# Numerics of the soft maximum
# --------------------------------------------------------------------------------------------------
def test_soft_maximum_is_finite_for_tiny_tau_and_huge_values() -> None:
    q = np.array([[1e300, 1e300 - 1e290, -1e300], [0.0, 1e-12, -5.0]])
    for tau in [1e-300, 1e-12, 1.0, 1e6]:
        v = soft_maximum(q, tau)
        pi = soft_policy(q, tau)
        assert np.isfinite(v).all()
        assert np.isfinite(pi).all()
        np.testing.assert_allclose(pi.sum(-1), 1.0)
    assert soft_maximum(q, 1e-300)[1] == 1e-12
    # tau * log(sum exp(q / tau)) by the textbook formula where it does not overflow
    q_small = np.array([0.3, -1.2, 2.0])
    assert soft_maximum(q_small, 0.7) == pytest.approx(0.7 * math.log(np.exp(q_small / 0.7).sum()), rel=1e-14)


def test_tau_zero_policy_is_uniform_over_ties() -> None:
    np.testing.assert_array_equal(soft_policy(np.array([1.0, 3.0, 3.0, 2.0]), 0.0), [0.0, 0.5, 0.5, 0.0])


# --------------------------------------------------------------------------------------------------
# tau -> 0 is hard value iteration
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MODELS))
def test_tau_to_zero_equals_hard_value_iteration(name: str) -> None:
    env, gamma = MODELS[name](), 0.9
    n_actions = tabular_mdp(env).n_actions
    hard = hard_value_iteration(env, gamma)
    assert hard.converged
    assert hard.residual < 1e-10
    # tau = 0 in the soft solver is exactly hard value iteration
    np.testing.assert_array_equal(soft_value_iteration(env, gamma, 0.0).values, hard.values)
    gaps = []
    for tau in [1e-1, 1e-2, 1e-4, 1e-8]:
        soft = soft_value_iteration(env, gamma, tau)
        gap = float(np.max(np.abs(soft.values - hard.values)))
        # 0 <= V_tau - V_0 <= tau log|A| / (1 - gamma): entropy is at most log|A| per step
        assert np.all(soft.values >= hard.values - 1e-9)
        assert gap <= tau * math.log(n_actions) / (1 - gamma) + 1e-9
        gaps.append(gap)
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1e-6  # the "done when" criterion: tau -> 0 equals hard value iteration to 1e-6
    # the limit policy puts its mass on hard-optimal actions (it need not split ties uniformly: among
    # optimal actions it still prefers those leading to more future choice)
    soft = soft_value_iteration(env, gamma, 1e-8)
    suboptimal = hard.policy == 0
    assert soft.policy[suboptimal].max() < 1e-6


# --------------------------------------------------------------------------------------------------
# tau = 1 on the open grid: far from the goal, V tends to log|A| / (1 - gamma)
# --------------------------------------------------------------------------------------------------
def test_open_grid_entropy_dominates_far_from_the_goal() -> None:
    # With goal reward 1, no step penalty and moves into the border that keep the agent in place, every
    # state offers all |A| = 9 actions, so a policy that never enters the goal collects tau*log|A| per step
    # forever: log(9) / (1 - 0.9) = 21.97 >> the goal reward 1. Entering the goal ends that stream, so the goal
    # only lowers the values of nearby states, and its effect decays with the distance d to the goal.
    # Bound: before the d-th move no policy can notice the goal, so |V(s) - Vbar| <= gamma^(d-1) * max(Vbar, 1).
    gamma, tau = 0.9, 1.0
    env = GridWorldEnv("open")  # 8 x 8, start (0, 0), goal (7, 7), 9 moves
    solution = soft_value_iteration(env, gamma, tau)
    v_bar = math.log(env.n_actions) / (1 - gamma)
    values = solution.values.reshape(env.height, env.width)
    rows, cols = np.indices(values.shape)
    distance = np.maximum(np.abs(rows - 7), np.abs(cols - 7))  # king moves to the goal
    free = env.free_mask
    assert np.all(np.abs(values - v_bar)[free] <= gamma ** (distance[free] - 1) * max(v_bar, 1.0))
    assert np.all(values[free] < v_bar)  # the goal is a net loss at tau = 1
    # Tolerances, from measured deficits (V_bar - V): 2.0e-3 at the far corner of the 8 x 8 grid, 2.2e-6 on a
    # 16 x 16 grid: the deficit shrinks by a factor ~2.3 per cell of distance.
    assert v_bar - values[0, 0] < 5e-3
    assert (v_bar - values[0, 0]) / v_bar < 2.5e-4
    big = GridWorldEnv("open", width=16, height=16)
    assert math.log(9) / (1 - gamma) - soft_value_iteration(big, gamma, tau).values[0] < 1e-5
    # and the soft-optimal policy moves away from the goal (it prefers to keep its options open)
    assert (solution.policy[env.to_state((6, 6))] @ env.action_deltas).sum() < 0


# --------------------------------------------------------------------------------------------------
# Residual and independent cross-checks
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize(("gamma", "tau"), [(0.9, 1.0), (0.99, 0.05), (0.95, 0.0)])
def test_residual_and_linear_policy_evaluation(name: str, gamma: float, tau: float) -> None:
    env = MODELS[name]()
    solution = soft_value_iteration(env, gamma, tau)
    assert solution.converged
    assert solution.residual < 1e-10
    # the soft Bellman residual of Q*, recomputed by a separate function
    assert soft_bellman_residual(env, solution.q_values, gamma, tau) < 1e-8
    # pi* = softmax(Q*/tau) and its soft value, by solving the linear system, is V*
    if tau > 0:
        active = ~tabular_mdp(env).terminal
        expected = np.exp((solution.q_values - solution.values[:, None]) / tau)
        np.testing.assert_allclose(solution.policy[active], expected[active], atol=1e-12)
    values, q_values = soft_policy_evaluation(env, solution.policy, gamma, tau)
    np.testing.assert_allclose(values, solution.values, atol=1e-8)
    np.testing.assert_allclose(q_values, solution.q_values, atol=1e-8)
    # and no other policy does better (here: the uniform policy)
    uniform = np.full_like(solution.policy, 1.0 / solution.policy.shape[1])
    assert np.all(soft_policy_evaluation(env, uniform, gamma, tau)[0] <= solution.values + 1e-9)


def test_two_state_chain_by_hand() -> None:
    # "SG" with the 4 moves: from S, "right" enters the goal (reward 1, episode over); the 3 other moves
    # hit the border and stay. So Q(S, right) = 1, Q(S, other) = gamma V, and V solves the scalar equation
    # V = tau * log(exp(1 / tau) + 3 exp(gamma V / tau)), solved here by bisection.
    gamma, tau = 0.8, 0.5
    env = GridWorldEnv("SG", moves="4")

    def excess(v: float) -> float:
        return tau * math.log(math.exp(1 / tau) + 3 * math.exp(gamma * v / tau)) - v

    low, high = 0.0, 100.0  # excess(low) > 0 > excess(high)
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if excess(mid) > 0 else (low, mid)
    v_start = (low + high) / 2
    solution = soft_value_iteration(env, gamma, tau)
    assert solution.values[0] == pytest.approx(v_start, abs=1e-9)
    assert solution.values[1] == 0.0
    np.testing.assert_allclose(solution.q_values[0], [gamma * v_start, 1.0, gamma * v_start, gamma * v_start])
    z = math.exp(1 / tau) + 3 * math.exp(gamma * v_start / tau)
    assert solution.policy[0, 1] == pytest.approx(math.exp(1 / tau) / z, rel=1e-9)


def test_three_state_chain_hard_by_hand() -> None:
    # "S.G" with 4 moves, step penalty c: V(middle) = 1 - c, V(S) = -c + gamma (1 - c)
    gamma, c = 0.9, 0.1
    solution = hard_value_iteration(GridWorldEnv("S.G", moves="4", step_penalty=c), gamma)
    np.testing.assert_allclose(solution.values, [-c + gamma * (1 - c), 1 - c, 0.0], atol=1e-12)
    assert solution.greedy_actions[0] == 1
    assert solution.greedy_actions[1] == 1


def test_frozen_lake_known_value() -> None:
    # FrozenLake 4x4 slippery, gamma 0.99: the optimal value of the start state is 0.542 (a well-known result),
    # and the stochastic model (3 outcomes per action, repeated next states) is read from env.unwrapped.P.
    solution = hard_value_iteration(_frozen_lake(), 0.99)
    assert solution.values[0] == pytest.approx(0.542, abs=5e-4)
    assert solution.values[[5, 7, 11, 12, 15]].tolist() == [0.0] * 5  # holes and goal are terminal


def test_dense_arrays_give_the_same_solution() -> None:
    env = GridWorldEnv("walls", step_penalty=0.01)
    from_table = soft_value_iteration(env, 0.95, 0.1)
    model = TabularMDP.from_arrays(env.transition_matrix, env.reward_matrix, env.terminal_mask)
    from_arrays = soft_value_iteration(model, 0.95, 0.1)
    np.testing.assert_allclose(from_arrays.values, from_table.values, atol=1e-12)
    np.testing.assert_allclose(from_arrays.policy, from_table.policy, atol=1e-12)
    # wrapped envs and the raw table work too
    np.testing.assert_allclose(soft_value_iteration(env.P, 0.95, 0.1).values, from_table.values, atol=1e-12)


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
def test_hard_policy_reaches_a_goal(layout: str) -> None:
    env = GridWorldEnv(layout)
    solution = hard_value_iteration(env, 0.99)
    state, _ = env.reset()
    for _ in range(env.max_steps):
        state, _, terminated, _, _ = env.step(int(solution.greedy_actions[state]))
        if terminated:
            break
    assert terminated


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------
def test_invalid_settings_raise() -> None:
    env = GridWorldEnv("S.G")
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\).*use e\.g\. gamma=0\.99"):
        soft_value_iteration(env, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"temperature must be a finite number >= 0"):
        soft_value_iteration(env, 0.9, -1.0)
    with pytest.raises(ValueError, match=r"Cannot read a transition model from list"):
        soft_value_iteration([1, 2], 0.9, 1.0)
    bad = {0: {0: [(0.5, 0, 0.0, False)]}}
    with pytest.raises(ValueError, match=r"sum to 0\.5, not 1"):
        soft_value_iteration(bad, 0.9, 1.0)
    with pytest.raises(ValueError, match=r"policy has shape"):
        soft_policy_evaluation(env, np.ones((2, 2)), 0.9, 1.0)


def test_not_converged_warns() -> None:
    with pytest.warns(RuntimeWarning, match="raise max_iter or tol"):
        solution = soft_value_iteration(GridWorldEnv("open"), 0.99, 1.0, max_iter=5)
    assert not solution.converged
    assert solution.iterations == 5
