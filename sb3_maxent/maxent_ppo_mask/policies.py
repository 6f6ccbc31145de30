# MaxEntMaskablePPO uses sb3-contrib's maskable actor-critic policies unchanged.
from sb3_contrib.ppo_mask.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

__all__ = ["CnnPolicy", "MlpPolicy", "MultiInputPolicy"]
