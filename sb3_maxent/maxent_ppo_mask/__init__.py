from sb3_maxent.maxent_ppo_mask.maxent_ppo_mask import MaxEntMaskablePPO
from sb3_maxent.maxent_ppo_mask.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

__all__ = ["CnnPolicy", "MaxEntMaskablePPO", "MlpPolicy", "MultiInputPolicy"]
