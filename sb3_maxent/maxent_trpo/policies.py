# MaxEntTRPO uses sb3-contrib's TRPO policies (SB3's actor-critic policies) unchanged.
from sb3_contrib.trpo.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

__all__ = ["CnnPolicy", "MlpPolicy", "MultiInputPolicy"]
