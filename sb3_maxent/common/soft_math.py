"""The soft (maximum-entropy) math shared by SoftDQN, DiscreteSAC and the exact solver.

One temperature name everywhere: ``temperature`` (SoftDQN's tau, SAC's ``ent_coef`` alpha, the solver's tau).
For action values Q(s, .) and a temperature T > 0:

* soft value        V(s) = T log sum_a exp(Q(s, a) / T)             (:func:`soft_value`)
* Boltzmann policy  log pi(a|s) = (Q(s, a) - V(s)) / T              (:func:`boltzmann_log_policy`)
* entropy           H(pi(.|s)) = -sum_a pi(a|s) log pi(a|s), 0 log 0 = 0   (:func:`entropy_from_log_policy`)
* soft value of any policy pi: sum_a pi(a|s) [Q(s, a) - T log pi(a|s)]    (:func:`policy_soft_value`);
  it is at most V(s), with equality for the Boltzmann policy (the soft value is its maximum over pi).

The torch functions work on a batch axis 1 (``(batch, n_actions)``), as the algorithms need; the NumPy twins
(``*_numpy``) reduce over the last axis, in float64, and accept ``temperature=0`` as the exact limit (max and
greedy), as the tabular solver needs. ``target_entropy_from_spec`` and ``auto_initial_value`` parse the
``"auto"`` / ``"auto_<x>"`` strings of a learned temperature, for SoftDQN's ``temperature`` and DiscreteSAC's
``ent_coef``.
"""

from __future__ import annotations

import math

import numpy as np
import torch as th
from numpy.typing import NDArray

__all__ = [
    "auto_initial_value",
    "boltzmann_log_policy",
    "boltzmann_log_policy_numpy",
    "boltzmann_policy_numpy",
    "entropy_from_log_policy",
    "entropy_from_log_policy_numpy",
    "policy_soft_value",
    "soft_value",
    "soft_value_numpy",
    "target_entropy_from_spec",
]

# Temperatures below float32's smallest normal number are computed at that number: the soft value and the
# Boltzmann policy are then their exact T -> 0 limits (max, greedy with ties shared) to float32 precision,
# where float32(T) would round to 0 (or lose bits) and make 0 / 0 = NaN.
FLOAT32_TINY = float(th.finfo(th.float32).tiny)
# np.finfo() costs more than the arithmetic on an (n_envs, n_actions) array: looked up once
FLOAT64_TINY = float(np.finfo(np.float64).tiny)
_FLOAT64_MIN = float(np.finfo(np.float64).min)


def computable_temperature(temperature: float | th.Tensor) -> float | th.Tensor:
    """``temperature``, raised to float32's smallest normal number when it is smaller (see ``FLOAT32_TINY``)."""
    if isinstance(temperature, th.Tensor):
        return temperature.clamp(min=FLOAT32_TINY)
    return temperature if temperature >= FLOAT32_TINY else FLOAT32_TINY


# --------------------------------------------------------------------------------------------------
# torch, batch axis 1
# --------------------------------------------------------------------------------------------------
def soft_value(q_values: th.Tensor, temperature: float | th.Tensor) -> th.Tensor:
    """
    Soft state value V(s) = T * logsumexp_a(Q(s, a) / T) of a batch of Q-values.

    Computed as ``m + T * logsumexp((Q - m) / T)`` with ``m = max_a Q(s, a)``: the log-sum-exp term lies in
    [0, ``log|A|``], so the result is finite for any finite Q and T > 0 (no overflow of Q / T when T is tiny
    and Q huge) and tends to ``max_a Q(s, a)`` as T -> 0. A T below float32's smallest normal number
    (e.g. 1e-46, which float32 rounds to 0) is computed at that number: the result is then ``max_a Q(s, a)``
    to float32 precision, the exact limit.

    :param q_values: Q(s, .), shape (batch, n_actions)
    :param temperature: T > 0
    :return: V(s), shape (batch, 1)
    """
    temperature = computable_temperature(temperature)
    q_max = q_values.max(dim=1, keepdim=True).values
    # logsumexp written out: after the shift the largest term is exp(0) = 1, so the sum is >= 1 and its log
    # finite; torch.logsumexp would shift by the maximum a second time (a third slower on small batches).
    return ((q_values - q_max) / temperature).exp().sum(dim=1, keepdim=True).log() * temperature + q_max


def boltzmann_log_policy(q_values: th.Tensor, temperature: float | th.Tensor) -> th.Tensor:
    """
    log pi(a|s) of the Boltzmann policy pi = softmax(Q(s, .) / T), shifted by max_a Q(s, a) before the
    division so that Q / T never overflows; a T below float32's smallest normal number is computed at that
    number (the greedy limit, ties sharing the probability).

    :param q_values: Q(s, .), shape (batch, n_actions)
    :param temperature: T > 0
    :return: log pi(.|s), shape (batch, n_actions); -inf only where pi(a|s) underflows exactly to 0
    """
    temperature = computable_temperature(temperature)
    q_max = q_values.max(dim=1, keepdim=True).values
    return th.log_softmax((q_values - q_max) / temperature, dim=1)


def _finite(log_pi: th.Tensor) -> th.Tensor:
    """log pi with -inf replaced by the most negative finite float: pi * it is then 0 where pi = 0, not NaN."""
    return log_pi.clamp(min=th.finfo(log_pi.dtype).min)


def entropy_from_log_policy(log_pi: th.Tensor) -> th.Tensor:
    """
    Entropy H(pi(.|s)) = -sum_a pi(a|s) log pi(a|s), with 0 * log 0 = 0.

    :param log_pi: log pi(.|s), shape (batch, n_actions)
    :return: H, shape (batch,)
    """
    return -(log_pi.exp() * _finite(log_pi)).sum(dim=1)


def policy_soft_value(q_values: th.Tensor, log_pi: th.Tensor, temperature: float | th.Tensor) -> th.Tensor:
    """
    Soft value of the policy pi under Q, as an exact expectation over the actions:

    V_pi(s) = sum_a pi(a|s) [Q(s, a) - T log pi(a|s)] = E_{a ~ pi}[Q(s, a)] + T H(pi(.|s)),

    with 0 * log 0 = 0, so that a policy with zero-probability actions gives no NaN. It equals
    :func:`soft_value` when pi is the Boltzmann policy of Q at T. SoftDQN's double soft target and
    DiscreteSAC's critic target are this with their own pi.

    :param q_values: Q(s, .), shape (batch, n_actions)
    :param log_pi: log pi(.|s), shape (batch, n_actions)
    :param temperature: T >= 0
    :return: V_pi(s), shape (batch, 1)
    """
    return (log_pi.exp() * (q_values - temperature * _finite(log_pi))).sum(dim=1, keepdim=True)


# --------------------------------------------------------------------------------------------------
# NumPy, float64, last axis; temperature 0 is the exact limit
# --------------------------------------------------------------------------------------------------
def soft_value_numpy(q_values: NDArray[np.floating], temperature: float) -> NDArray[np.float64]:
    """
    :func:`soft_value` for NumPy arrays over the last axis (shape ``(..., A)`` -> ``(...)``), computed stably;
    ``max_a Q`` for ``temperature = 0``.

    :param q_values: ``(..., A)`` action values
    :param temperature: T >= 0
    """
    q = np.asarray(q_values, dtype=np.float64)
    top = q.max(axis=-1)
    if temperature == 0:
        return top
    # (q - top) / T <= 0 may overflow to -inf for tiny T: exp gives the right 0, so silence the warning
    with np.errstate(over="ignore"):
        scaled = (q - top[..., None]) / temperature
    return top + temperature * np.log(np.exp(scaled).sum(axis=-1))


def boltzmann_log_policy_numpy(q_values: np.ndarray, temperature: float) -> np.ndarray:
    """
    :func:`boltzmann_log_policy` for float64 NumPy arrays over the last axis (used per env step, where torch's
    per-op cost dominates). A temperature below float64's smallest normal number, 0 included, is computed at
    that number: greedy, exact ties sharing the probability.
    """
    scaled = (q_values - q_values.max(axis=-1, keepdims=True)) / max(temperature, FLOAT64_TINY)
    return scaled - np.log(np.exp(scaled).sum(axis=-1, keepdims=True))


def boltzmann_policy_numpy(
    q_values: NDArray[np.floating], temperature: float, tie_tol: float = 1e-9
) -> NDArray[np.float64]:
    """
    ``softmax(Q / T)`` over the last axis. For ``temperature = 0``, the limit as T -> 0: uniform over the
    actions whose value is within ``tie_tol * max(1, |max Q|)`` of the maximum (values computed by iteration
    are rarely tied exactly).

    :param q_values: ``(..., A)`` action values
    :param temperature: T >= 0
    :param tie_tol: relative tolerance that makes two action values a tie when ``temperature = 0``
    """
    q = np.asarray(q_values, dtype=np.float64)
    top = q.max(axis=-1, keepdims=True)
    if temperature == 0:
        weights = (q >= top - tie_tol * np.maximum(1.0, np.abs(top))).astype(np.float64)
    else:
        with np.errstate(over="ignore"):
            weights = np.exp((q - top) / temperature)
    return weights / weights.sum(axis=-1, keepdims=True)


def entropy_from_log_policy_numpy(log_pi: np.ndarray) -> np.ndarray:
    """:func:`entropy_from_log_policy` for float64 NumPy arrays over the last axis, with 0 * log 0 = 0."""
    # log pi = -inf only where pi = 0: clamping it to the most negative finite float keeps 0 * log 0 = 0
    return -(np.exp(log_pi) * np.maximum(log_pi, _FLOAT64_MIN)).sum(axis=-1)


# --------------------------------------------------------------------------------------------------
# Learned temperature: "auto" / "auto_<x>" strings
# --------------------------------------------------------------------------------------------------
def auto_initial_value(name: str, value: object, default: float, low: float, high: float) -> float | None:
    """
    Initial value of a learned temperature given as ``"auto"`` (``default``) or ``"auto_<x>"`` (x); None when
    ``value`` is not a string (the temperature is not learned). ``x`` must be finite and lie in [low, high].

    :param name: the parameter, named in the errors (``temperature``, ``ent_coef``)
    """
    if not isinstance(value, str):
        return None
    valid = "'auto' or 'auto_<initial value>' (e.g. 'auto_0.1')"
    if value == "auto":
        return default
    if value.startswith("auto_"):
        try:
            initial = float(value[len("auto_") :])
        except ValueError:
            raise ValueError(f"{name} as a string must be {valid}, got {value!r}") from None
        if not (math.isfinite(initial) and low <= initial <= high):
            raise ValueError(
                f"{name} (initial value of {value!r}) must lie in the learned {name}'s range [{low:g}, {high:g}], "
                f"got {initial!r}"
            )
        return initial
    raise ValueError(f"{name} as a string must be {valid}, got {value!r}")


def target_entropy_from_spec(target_entropy: float | str, n_actions: int | None, default_ratio: float) -> float:
    """
    The target entropy in nats, from a float (nats) or ``"auto"`` (``default_ratio * log|A|``) or
    ``"auto_<ratio>"`` (``ratio * log|A|``, 0 < ratio < 1). With ``n_actions=None`` only the spec is checked
    (the result is then the ratio for strings). A reachable target lies strictly between 0 and ``log|A|``,
    the uniform policy's entropy: outside it a learned temperature would drift without end.

    :raises ValueError: naming ``target_entropy``
    """
    valid = "'auto', 'auto_<ratio>' with 0 < ratio < 1 (a fraction of log|A|, e.g. 'auto_0.5') or a float in nats"
    if isinstance(target_entropy, str):
        if target_entropy == "auto":
            ratio = default_ratio
        elif target_entropy.startswith("auto_"):
            try:
                ratio = float(target_entropy[len("auto_") :])
            except ValueError:
                raise ValueError(f"target_entropy must be {valid}, got {target_entropy!r}") from None
            if not 0 < ratio < 1:
                raise ValueError(f"target_entropy must be {valid}, got {target_entropy!r} (ratio outside (0, 1))")
        else:
            raise ValueError(f"target_entropy must be {valid}, got {target_entropy!r}")
        if n_actions is None:
            return ratio
        target = ratio * math.log(n_actions)
    else:
        try:
            target = float(target_entropy)
        except (TypeError, ValueError):
            raise ValueError(f"target_entropy must be {valid}, got {target_entropy!r}") from None
        if isinstance(target_entropy, bool) or not (math.isfinite(target) and target > 0):
            raise ValueError(f"target_entropy must be {valid} (> 0), got {target_entropy!r}")
        if n_actions is None:
            return target
    max_entropy = math.log(n_actions)
    if not 0 < target < max_entropy:
        raise ValueError(
            f"target_entropy must lie strictly between 0 and log|A| = {max_entropy:.4f} (the uniform policy's "
            f"entropy with {n_actions} actions), got {target_entropy!r}"
        )
    return target
