from sb3_maxent.maxent_trpo.maxent_trpo import MaxEntTRPO
from sb3_maxent.maxent_trpo.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

__all__ = ["CnnPolicy", "MaxEntTRPO", "MlpPolicy", "MultiInputPolicy"]
