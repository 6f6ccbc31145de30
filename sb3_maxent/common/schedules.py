"""Schedules for temperatures and entropy coefficients.

Every schedule is a picklable callable of SB3's ``progress_remaining`` (1.0 at the start of
``learn()``, 0.0 at the end), so it is saved with the model and continues correctly after
``learn(..., reset_num_timesteps=False)``. The linear and constant schedules are SB3's own classes;
the exponential one is added here (the MaxEnt PPO paper anneals its temperature exponentially).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from stable_baselines3.common.utils import ConstantSchedule, LinearSchedule

Schedule = Callable[[float], float]

__all__ = [
    "ConstantSchedule",
    "ExponentialSchedule",
    "LinearSchedule",
    "Schedule",
    "check_coefficient",
    "exponential_schedule",
    "linear_schedule",
    "linear_schedule_from_rate",
    "to_schedule",
]


class ExponentialSchedule:
    """
    Exponential interpolation from ``start`` to ``end`` (both > 0) between ``progress_remaining`` = 1
    and ``progress_remaining`` = 1 - ``end_fraction``, constant at ``end`` afterwards:

    ``value(p) = start * (end / start) ** min(1, (1 - p) / end_fraction)``

    :param start: value at the start of training
    :param end: value reached after ``end_fraction`` of the training
    :param end_fraction: fraction of the training after which ``end`` is held
    """

    def __init__(self, start: float, end: float, end_fraction: float = 1.0) -> None:
        if not (math.isfinite(start) and start > 0 and math.isfinite(end) and end > 0):
            raise ValueError(
                f"ExponentialSchedule needs finite start > 0 and end > 0, got start={start}, end={end}; "
                "use linear_schedule() to anneal to or from 0."
            )
        if not 0 < end_fraction <= 1:
            raise ValueError(f"end_fraction must be in (0, 1], got {end_fraction}")
        self.start = float(start)
        self.end = float(end)
        self.end_fraction = float(end_fraction)

    def __call__(self, progress_remaining: float) -> float:
        fraction = min(1.0, max(0.0, (1.0 - progress_remaining) / self.end_fraction))
        return self.start * (self.end / self.start) ** fraction

    def __repr__(self) -> str:
        return f"ExponentialSchedule(start={self.start}, end={self.end}, end_fraction={self.end_fraction})"


def linear_schedule(start: float, end: float = 0.0, end_fraction: float = 1.0) -> LinearSchedule:
    """Linear annealing from ``start`` to ``end`` over the first ``end_fraction`` of training (SB3's class)."""
    if not 0 < end_fraction <= 1:
        raise ValueError(f"end_fraction must be in (0, 1], got {end_fraction}")
    return LinearSchedule(float(start), float(end), float(end_fraction))


def linear_schedule_from_rate(start: float, end: float, rate: float, total_calls: int) -> LinearSchedule:
    """
    The linear schedule equivalent to changing a value by a fixed ``rate`` at every call until it reaches
    ``end`` (a floor when annealing down, a ceiling when annealing up), for a training during which the
    value is read ``total_calls`` times at evenly spaced moments.

    The value reaches ``end`` after ``n = ceil((end - start) / rate)`` calls, that is after the fraction
    ``n / total_calls`` of the training. When ``n > total_calls`` the end is never reached and the schedule
    stops, as the per-call rule would, at ``start + rate * total_calls``. SB3 measures progress in
    environment steps, so ``total_calls`` is ``calls per environment step * total_timesteps``.

    :param start: value at the first call
    :param end: value at which the per-call rule stops changing it
    :param rate: change per call (negative to anneal down); its sign must lead from ``start`` to ``end``
    :param total_calls: number of times the value is read over the whole training
    :return: SB3's ``LinearSchedule`` of ``progress_remaining``
    """
    values = {"start": start, "end": end, "rate": rate}
    for name, value in values.items():
        if isinstance(value, bool) or not math.isfinite(float(value)):
            raise ValueError(f"{name} must be a finite float, got {value!r}")
    if rate == 0 or (end - start) * rate <= 0:
        raise ValueError(
            f"rate must be non-zero and lead from start to end (sign of end - start), "
            f"got start={start}, end={end}, rate={rate}"
        )
    if isinstance(total_calls, bool) or not isinstance(total_calls, int) or total_calls <= 0:
        raise ValueError(f"total_calls must be a positive int, got {total_calls!r}")
    exact = (end - start) / rate  # (0.005 - 0.5) / -1e-5 is 49500.000000000004 in floating point
    n_calls = round(exact) if math.isclose(exact, round(exact), rel_tol=1e-9) else math.ceil(exact)
    if n_calls <= total_calls:
        return LinearSchedule(float(start), float(end), n_calls / total_calls)
    return LinearSchedule(float(start), float(start + rate * total_calls), 1.0)


def exponential_schedule(start: float, end: float, end_fraction: float = 1.0) -> ExponentialSchedule:
    """Exponential annealing from ``start`` to ``end`` over the first ``end_fraction`` of training."""
    return ExponentialSchedule(start, end, end_fraction)


def check_coefficient(name: str, value: float, *, allow_zero: bool = True, valid: str | None = None) -> float:
    """
    Return ``value`` as a float if it is finite and non-negative (strictly positive when
    ``allow_zero`` is False), else raise a ``ValueError`` that names the parameter and the valid range.
    """
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    low_ok = as_float >= 0 if allow_zero else as_float > 0
    if not (math.isfinite(as_float) and low_ok):
        expected = valid or ("a finite float >= 0" if allow_zero else "a finite float > 0")
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return as_float


def to_schedule(name: str, value: float | Schedule, *, allow_zero: bool = True) -> Schedule:
    """
    Turn a float or a schedule into a schedule, checking it.

    Floats are checked at once; a callable is probed at the start and the end of training
    (progress_remaining 1.0 and 0.0) so that a bad schedule fails at construction, not hours later.
    Strings are refused: rl-zoo's ``lin_<x>`` strings are converted by :mod:`sb3_maxent.zoo`.
    """
    if isinstance(value, str):
        raise ValueError(
            f"{name} must be a float or a callable of progress_remaining, got the string {value!r}; "
            f"use sb3_maxent.common.linear_schedule(...) (rl-zoo's 'lin_<x>' strings work through sb3_maxent.train)"
        )
    if callable(value):
        for progress in (1.0, 0.0):
            check_coefficient(f"{name}({progress})", value(progress), allow_zero=allow_zero)
        return value
    return ConstantSchedule(check_coefficient(name, value, allow_zero=allow_zero))
