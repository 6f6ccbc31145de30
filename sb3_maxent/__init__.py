"""sb3-maxent: maximum-entropy reinforcement learning for Stable-Baselines3."""

import os

from stable_baselines3 import SAC

from sb3_maxent.envs import register_envs
from sb3_maxent.maxent_ppo import MaxEntPPO
from sb3_maxent.soft_dqn import SoftDQN

# Read the version from the file (single place, also read by pyproject.toml)
with open(os.path.join(os.path.dirname(__file__), "version.txt")) as file_handler:
    __version__ = file_handler.read().strip()

register_envs()

__all__ = ["SAC", "MaxEntPPO", "SoftDQN", "__version__"]
