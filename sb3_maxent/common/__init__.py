from sb3_maxent.common.schedules import (
    ConstantSchedule,
    ExponentialSchedule,
    LinearSchedule,
    check_coefficient,
    exponential_schedule,
    linear_schedule,
    to_schedule,
)

__all__ = [
    "ConstantSchedule",
    "ExponentialSchedule",
    "LinearSchedule",
    "check_coefficient",
    "exponential_schedule",
    "linear_schedule",
    "to_schedule",
]
