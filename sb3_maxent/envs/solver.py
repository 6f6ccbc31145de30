"""Exact soft (maximum-entropy) and hard value iteration over a tabular transition model.

For a discount ``gamma`` and a temperature ``T`` (``temperature``) the soft-optimal values solve

.. math::

    Q^*(s, a) = r(s, a) + \\gamma\\, \\mathbb{E}_{s'}\\big[(1 - d)\\, V^*(s')\\big], \\qquad
    V^*(s) = \\tau \\log \\sum_a \\exp\\big(Q^*(s, a) / \\tau\\big), \\qquad
    \\pi^*(a|s) = \\exp\\big((Q^*(s, a) - V^*(s)) / \\tau\\big)

where ``d`` flags a transition that ends the episode. ``T = 0`` is ordinary (hard) value iteration:
``V = max_a Q`` and the greedy policy. The log-sum-exp is evaluated as ``m + T * log(sum(exp((Q - m) / T)))``
with ``m = max_a Q``, so it stays finite for any ``T > 0`` and tends to ``m`` as ``T -> 0``. The soft maximum and
soft policy are those of :mod:`sb3_maxent.common.soft_math`, shared with SoftDQN and DiscreteSAC.

Everything here needs only numpy and works with any environment exposing gymnasium's FrozenLake-style
table ``P[s][a] = [(probability, next_state, reward, terminated), ...]`` (``GridWorldEnv`` and
``gymnasium.make("FrozenLake-v1").unwrapped`` both do). The step limit of an environment is not part of the
model: values are those of the infinite-horizon discounted problem, which is what SB3 estimates when it
bootstraps through truncations.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sb3_maxent.common.soft_math import boltzmann_policy_numpy, soft_value_numpy

PTable = Mapping[int, Mapping[int, Sequence[tuple[float, int, float, bool]]]]

__all__ = [
    "SoftSolution",
    "TabularMDP",
    "hard_value_iteration",
    "soft_bellman_residual",
    "soft_maximum",
    "soft_policy",
    "soft_policy_evaluation",
    "soft_value_iteration",
    "tabular_mdp",
]


@dataclass(frozen=True)
class TabularMDP:
    """
    A finite MDP in sparse form: from ``(s, a)`` the outcomes ``k`` lead to ``next_states[s, a, k]``.

    ``continue_probs[s, a, k]`` is the probability of that outcome *when the episode goes on after it*
    (outcomes that end the episode, and padding, carry 0 there), so the expected bootstrap is
    ``sum_k continue_probs[s, a, k] * V[next_states[s, a, k]]``. ``rewards[s, a]`` is the expected reward.
    ``terminal[s]`` marks absorbing end states (every action loops on ``s`` with reward 0 and ends the
    episode; FrozenLake's holes and goal): their values are defined as 0.

    :param next_states: ``(S, A, K)`` int array of outcome states
    :param continue_probs: ``(S, A, K)`` probabilities of the outcomes that do not end the episode
    :param rewards: ``(S, A)`` expected rewards
    :param terminal: ``(S,)`` absorbing end states
    """

    next_states: NDArray[np.int64]
    continue_probs: NDArray[np.float64]
    rewards: NDArray[np.float64]
    terminal: NDArray[np.bool_]

    @property
    def n_states(self) -> int:
        """Number of states ``S``."""
        return int(self.rewards.shape[0])

    @property
    def n_actions(self) -> int:
        """Number of actions ``A``."""
        return int(self.rewards.shape[1])

    @classmethod
    def from_p_table(cls, p_table: PTable) -> TabularMDP:
        """
        Build the model from a FrozenLake-style table.

        :param p_table: ``P[s][a] = [(probability, next_state, reward, terminated), ...]`` for states
            ``0..S-1`` and actions ``0..A-1`` (outcomes may repeat a next state; they are summed)
        """
        n_states = len(p_table)
        if n_states == 0 or sorted(p_table) != list(range(n_states)):
            raise ValueError(
                "P must map every state 0..S-1 to its actions (FrozenLake layout P[s][a] = [(p, s', r, done)])."
            )
        n_actions = len(p_table[0])
        rows: list[list[dict[int, float]]] = []
        rewards = np.zeros((n_states, n_actions), dtype=np.float64)
        terminal = np.ones(n_states, dtype=bool)
        for s in range(n_states):
            actions = p_table[s]
            if sorted(actions) != list(range(n_actions)):
                raise ValueError(
                    f"P[{s}] has actions {sorted(actions)}, expected 0..{n_actions - 1}: every state needs the same "
                    "actions."
                )
            row = []
            for a in range(n_actions):
                outcomes = actions[a]
                total = 0.0
                cont: dict[int, float] = {}
                for prob, s2, reward, done in outcomes:
                    prob, s2 = float(prob), int(s2)
                    if prob < 0 or not 0 <= s2 < n_states:
                        raise ValueError(f"P[{s}][{a}] has an invalid outcome (p={prob}, next_state={s2}).")
                    total += prob
                    rewards[s, a] += prob * float(reward)
                    if not done:
                        cont[s2] = cont.get(s2, 0.0) + prob
                    if not (done and s2 == s and reward == 0):
                        terminal[s] = False
                if abs(total - 1.0) > 1e-8:
                    raise ValueError(
                        f"The probabilities of P[{s}][{a}] sum to {total}, not 1: fix the transition table."
                    )
                row.append(cont)
            rows.append(row)
        width = max(1, max(len(cont) for row in rows for cont in row))
        next_states = np.zeros((n_states, n_actions, width), dtype=np.int64)
        continue_probs = np.zeros((n_states, n_actions, width), dtype=np.float64)
        for s, row in enumerate(rows):
            for a, cont in enumerate(row):
                for k, (s2, prob) in enumerate(cont.items()):
                    next_states[s, a, k] = s2
                    continue_probs[s, a, k] = prob
        return cls(next_states, continue_probs, rewards, terminal)

    @classmethod
    def from_arrays(
        cls, transitions: NDArray[np.floating], rewards: NDArray[np.floating], terminal: NDArray[np.bool_]
    ) -> TabularMDP:
        """
        Build the model from dense arrays, where entering a ``terminal`` state ends the episode.

        :param transitions: ``(S, A, S)`` array ``P(s'|s, a)``
        :param rewards: ``(S, A)`` expected rewards
        :param terminal: ``(S,)`` absorbing end states (entering one ends the episode; its value is 0)
        """
        transitions = np.asarray(transitions, dtype=np.float64)
        rewards = np.asarray(rewards, dtype=np.float64)
        terminal = np.asarray(terminal, dtype=bool)
        n_states, n_actions = rewards.shape
        if transitions.shape != (n_states, n_actions, n_states) or terminal.shape != (n_states,):
            raise ValueError(
                f"Shapes do not match: transitions {transitions.shape}, rewards {rewards.shape}, terminal "
                f"{terminal.shape}; expected (S, A, S), (S, A) and (S,)."
            )
        if not np.allclose(transitions.sum(-1), 1.0, atol=1e-8) or (transitions < 0).any():
            raise ValueError("transitions[s, a, :] must be probability vectors (non-negative, summing to 1).")
        cont = transitions * ~terminal[None, None, :]
        next_states = np.broadcast_to(np.arange(n_states), cont.shape).astype(np.int64)
        rewards = np.where(terminal[:, None], 0.0, rewards)
        return cls(next_states, cont, rewards, terminal.copy())

    def bootstrap(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """
        :param values: ``(S,)`` state values
        :return: ``(S, A)`` expected continuation value ``E[(1 - d) V(s')]``
        """
        out = (self.continue_probs * values[self.next_states]).sum(-1)
        out[self.terminal] = 0.0
        return out

    def dense_continuation(self) -> NDArray[np.float64]:
        """``(S, A, S)`` array of ``P(s', episode continues | s, a)`` (zero rows at terminal states)."""
        dense = np.zeros((self.n_states, self.n_actions, self.n_states), dtype=np.float64)
        s_idx, a_idx, _ = np.indices(self.next_states.shape)
        np.add.at(dense, (s_idx, a_idx, self.next_states), self.continue_probs)
        dense[self.terminal] = 0.0
        return dense

    def q_from_values(self, values: NDArray[np.float64], gamma: float) -> NDArray[np.float64]:
        """
        :param values: ``(S,)`` state values
        :param gamma: discount factor
        :return: ``(S, A)`` one-step look-ahead ``r(s, a) + gamma E[(1 - d) V(s')]`` (0 at terminal states)
        """
        q = self.rewards + gamma * self.bootstrap(values)
        q[self.terminal] = 0.0
        return q


def tabular_mdp(source: Any) -> TabularMDP:
    """
    The :class:`TabularMDP` of an environment, of a FrozenLake-style ``P`` table, or the model itself.

    :param source: a ``TabularMDP``, a gymnasium env (wrapped or not) with a ``P`` attribute such as
        ``GridWorldEnv`` or FrozenLake, or the ``P`` table
    """
    if isinstance(source, TabularMDP):
        return source
    if isinstance(source, Mapping):
        return TabularMDP.from_p_table(source)
    base = getattr(source, "unwrapped", source)
    p_table = getattr(base, "P", None)
    if isinstance(p_table, Mapping):
        return TabularMDP.from_p_table(p_table)
    raise ValueError(
        f"Cannot read a transition model from {type(source).__name__}: pass a GridWorldEnv, an env exposing a "
        "FrozenLake-style table P[s][a] = [(p, s', r, done)], the table itself, or a TabularMDP."
    )


# --------------------------------------------------------------------------------------------------
# Soft maximum and soft policy
# --------------------------------------------------------------------------------------------------
def soft_maximum(q_values: NDArray[np.floating], temperature: float) -> NDArray[np.float64]:
    """
    ``T * log(sum_a exp(Q(s, a) / T))`` over the last axis, computed stably; ``max_a Q`` for ``T = 0``
    (:func:`sb3_maxent.common.soft_math.soft_value_numpy`).

    :param q_values: ``(..., A)`` action values
    :param temperature: T >= 0
    """
    return soft_value_numpy(q_values, temperature)


def soft_policy(q_values: NDArray[np.floating], temperature: float, tie_tol: float = 1e-9) -> NDArray[np.float64]:
    """
    ``softmax(Q / T)`` over the last axis. For ``T = 0``, the limit as ``T -> 0``: uniform over the
    actions whose value is within ``tie_tol * max(1, |max Q|)`` of the maximum
    (:func:`sb3_maxent.common.soft_math.boltzmann_policy_numpy`).

    :param q_values: ``(..., A)`` action values
    :param temperature: T >= 0
    :param tie_tol: relative tolerance that makes two action values a tie when ``T = 0``
    """
    return boltzmann_policy_numpy(q_values, temperature, tie_tol)


# --------------------------------------------------------------------------------------------------
# Value iteration
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SoftSolution:
    """
    Result of :func:`soft_value_iteration`.

    :param values: ``(S,)`` optimal soft values ``V*`` (0 at terminal states)
    :param q_values: ``(S, A)`` optimal soft action values ``Q*``
    :param policy: ``(S, A)`` optimal policy ``pi*(a|s)`` (uniform at terminal states)
    :param gamma: discount factor used
    :param temperature: temperature used (0 for hard value iteration); also readable as ``tau``, its former name
    :param residual: soft Bellman residual ``max_s |B V(s) - V(s)|`` of the returned values
    :param iterations: number of Bellman backups performed
    :param converged: whether ``residual`` fell below the requested tolerance
    """

    values: NDArray[np.float64]
    q_values: NDArray[np.float64]
    policy: NDArray[np.float64]
    gamma: float
    temperature: float
    residual: float
    iterations: int
    converged: bool

    @property
    def tau(self) -> float:
        """The temperature, under its former name (kept for existing code; prefer ``temperature``)."""
        return self.temperature

    @property
    def greedy_actions(self) -> NDArray[np.int64]:
        """``(S,)`` most probable action of ``policy`` in every state (lowest index on ties)."""
        return np.asarray(self.policy.argmax(axis=1), dtype=np.int64)


def _check_settings(gamma: float, temperature: float) -> None:
    if not 0 <= gamma < 1:
        raise ValueError(
            f"gamma must be in [0, 1), got {gamma}: soft values diverge without discounting (the entropy bonus is "
            "collected forever); use e.g. gamma=0.99."
        )
    if not (np.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be a finite number >= 0 (0 gives hard value iteration), got {temperature}.")


def soft_value_iteration(
    model: Any, gamma: float = 0.99, temperature: float = 1.0, *, tol: float = 1e-10, max_iter: int = 100_000
) -> SoftSolution:
    """
    Soft value iteration: repeat ``V <- T * logsumexp((r + gamma E[(1 - d) V(s')]) / T)`` until the soft
    Bellman residual ``max_s |B V - V|`` is below ``tol`` (the error on ``V*`` is then below
    ``tol * gamma / (1 - gamma)``). ``temperature = 0`` is hard value iteration.

    :param model: a ``GridWorldEnv``, any env with a FrozenLake-style ``P`` table, the table, or a ``TabularMDP``
    :param gamma: discount factor in [0, 1)
    :param temperature: temperature (entropy weight) >= 0
    :param tol: stopping threshold on the Bellman residual
    :param max_iter: maximum number of backups; a ``RuntimeWarning`` is issued if it is reached first
    :return: ``V*``, ``Q*``, ``pi*`` and convergence information
    """
    mdp = tabular_mdp(model)
    _check_settings(gamma, temperature)
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}.")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}.")
    values = np.zeros(mdp.n_states, dtype=np.float64)
    residual = np.inf
    iterations = 0
    while iterations < max_iter:
        new_values = soft_maximum(mdp.q_from_values(values, gamma), temperature)
        new_values[mdp.terminal] = 0.0
        residual = float(np.max(np.abs(new_values - values)))
        values = new_values
        iterations += 1
        if residual < tol:
            break
    # Report the residual of the values actually returned (one more backup, not applied).
    q_values = mdp.q_from_values(values, gamma)
    backup = soft_maximum(q_values, temperature)
    backup[mdp.terminal] = 0.0
    residual = float(np.max(np.abs(backup - values)))
    converged = residual < tol
    if not converged:
        warnings.warn(
            f"soft_value_iteration stopped after {iterations} backups with Bellman residual {residual:.3g} > "
            f"tol={tol:g}; raise max_iter or tol.",
            RuntimeWarning,
        )
    return SoftSolution(
        values=values,
        q_values=q_values,
        policy=soft_policy(q_values, temperature),
        gamma=float(gamma),
        temperature=float(temperature),
        residual=residual,
        iterations=iterations,
        converged=converged,
    )


def hard_value_iteration(
    model: Any, gamma: float = 0.99, *, tol: float = 1e-10, max_iter: int = 100_000
) -> SoftSolution:
    """
    Ordinary value iteration (``temperature = 0``): ``V <- max_a (r + gamma E[(1 - d) V(s')])``. The returned policy
    is uniform over the optimal actions (the ``temperature -> 0`` limit of the soft policy).

    :param model: see :func:`soft_value_iteration`
    :param gamma: discount factor in [0, 1)
    :param tol: stopping threshold on the Bellman residual
    :param max_iter: maximum number of backups
    """
    return soft_value_iteration(model, gamma, 0.0, tol=tol, max_iter=max_iter)


def soft_bellman_residual(model: Any, q_values: NDArray[np.floating], gamma: float, temperature: float) -> float:
    """
    ``max_{s,a} |r(s, a) + gamma E[(1 - d) * T logsumexp(Q(s', .) / T)] - Q(s, a)|`` over non-terminal states.

    :param model: see :func:`soft_value_iteration`
    :param q_values: ``(S, A)`` action values to check
    :param gamma: discount factor
    :param temperature: temperature (0: the hard Bellman optimality residual)
    """
    mdp = tabular_mdp(model)
    _check_settings(gamma, temperature)
    q = np.asarray(q_values, dtype=np.float64)
    values = soft_maximum(q, temperature)
    values[mdp.terminal] = 0.0
    diff = mdp.q_from_values(values, gamma) - q
    return float(np.max(np.abs(diff[~mdp.terminal]))) if (~mdp.terminal).any() else 0.0


def soft_policy_evaluation(
    model: Any, policy: NDArray[np.floating], gamma: float, temperature: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """
    Exact soft values of a fixed policy, by solving the linear system
    ``V = sum_a pi(a|s) [r(s, a) - temperature log pi(a|s)] + gamma P_pi V`` (no iteration).

    Independent of :func:`soft_value_iteration`, so it cross-checks it: the soft values of ``pi*`` are ``V*``.

    :param model: see :func:`soft_value_iteration`
    :param policy: ``(S, A)`` action probabilities
    :param gamma: discount factor in [0, 1)
    :param temperature: temperature (entropy weight)
    :return: ``(V_pi, Q_pi)`` with ``Q_pi(s, a) = r(s, a) + gamma E[(1 - d) V_pi(s')]``
    """
    mdp = tabular_mdp(model)
    _check_settings(gamma, temperature)
    pi = np.asarray(policy, dtype=np.float64)
    if pi.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"policy has shape {pi.shape}, expected (S, A) = {(mdp.n_states, mdp.n_actions)}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(pi > 0, pi * np.log(pi), 0.0).sum(axis=1)
    reward_pi = (pi * mdp.rewards).sum(axis=1) + temperature * entropy
    transition_pi = np.einsum("sa,sat->st", pi, mdp.dense_continuation())
    active = ~mdp.terminal
    reward_pi[~active] = 0.0
    transition_pi[~active] = 0.0
    values = np.linalg.solve(np.eye(mdp.n_states) - gamma * transition_pi, reward_pi)
    return values, mdp.q_from_values(values, gamma)
