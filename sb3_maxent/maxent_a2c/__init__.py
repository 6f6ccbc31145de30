from sb3_maxent.maxent_a2c.maxent_a2c import MaxEntA2C
from sb3_maxent.maxent_a2c.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

__all__ = ["CnnPolicy", "MaxEntA2C", "MlpPolicy", "MultiInputPolicy"]
