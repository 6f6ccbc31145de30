from sb3_maxent.common.schedules import (
    ConstantSchedule,
    ExponentialSchedule,
    LinearSchedule,
    check_coefficient,
    exponential_schedule,
    linear_schedule,
    linear_schedule_from_rate,
    to_schedule,
)
from sb3_maxent.common.torch_layers import ImpalaCnn, ImpalaCnnPolicy, ImpalaCnnQPolicy

__all__ = [
    "ConstantSchedule",
    "ExponentialSchedule",
    "ImpalaCnn",
    "ImpalaCnnPolicy",
    "ImpalaCnnQPolicy",
    "LinearSchedule",
    "check_coefficient",
    "exponential_schedule",
    "linear_schedule",
    "linear_schedule_from_rate",
    "to_schedule",
]
