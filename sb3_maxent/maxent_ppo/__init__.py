from sb3_maxent.maxent_ppo.maxent_ppo import MaxEntPPO
from sb3_maxent.maxent_ppo.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

__all__ = ["CnnPolicy", "MaxEntPPO", "MlpPolicy", "MultiInputPolicy"]
