from sb3_maxent.common.evaluation import evaluate_success
from sb3_maxent.common.save_util import CheckedLoad, check_saved_algorithm
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
    "CheckedLoad",
    "ConstantSchedule",
    "ExponentialSchedule",
    "ImpalaCnn",
    "ImpalaCnnPolicy",
    "ImpalaCnnQPolicy",
    "LinearSchedule",
    "check_coefficient",
    "check_saved_algorithm",
    "evaluate_success",
    "exponential_schedule",
    "linear_schedule",
    "linear_schedule_from_rate",
    "to_schedule",
]
