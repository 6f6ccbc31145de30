"""Environments of sb3-maxent, registered with gymnasium on ``import sb3_maxent``.

Plotting helpers live in :mod:`sb3_maxent.envs.plotting` (imported on demand: it pulls in matplotlib).
"""

from sb3_maxent.envs.gridworld import GridWorldEnv
from sb3_maxent.envs.multigoal import MultiGoalEnv
from sb3_maxent.envs.registration import register_envs
from sb3_maxent.envs.solver import (
    SoftSolution,
    TabularMDP,
    hard_value_iteration,
    soft_policy_evaluation,
    soft_value_iteration,
)

__all__ = [
    "GridWorldEnv",
    "MultiGoalEnv",
    "SoftSolution",
    "TabularMDP",
    "hard_value_iteration",
    "register_envs",
    "soft_policy_evaluation",
    "soft_value_iteration",
]
