"""One function registers every environment id of the package with gymnasium (idempotent).

Entry points are strings, so registering imports nothing heavy: Procgen is imported only when a
FruitBot environment is made (and then fails with the install command if the extra is missing).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

# id -> (entry point, default kwargs)
ENV_SPECS: dict[str, tuple[str, dict[str, Any]]] = {
    "GridWorld-v0": ("sb3_maxent.envs.gridworld:GridWorldEnv", {"layout": "open"}),
    "GridWorldTwoGoals-v0": ("sb3_maxent.envs.gridworld:GridWorldEnv", {"layout": "two_goals"}),
    "MultiGoal-v0": ("sb3_maxent.envs.multigoal:MultiGoalEnv", {}),
    "FruitBot-v0": (
        "sb3_maxent.envs.procgen:ProcgenEnv",
        {"env_name": "fruitbot", "distribution_mode": "easy", "num_levels": 500, "start_level": 0},
    ),
}


def register_envs() -> None:
    """Register the package's environment ids with gymnasium; calling it twice is harmless."""
    for env_id, (entry_point, kwargs) in ENV_SPECS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, kwargs=dict(kwargs))
