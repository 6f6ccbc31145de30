from sb3_maxent.soft_dqn.policies import CnnPolicy, MlpPolicy, MultiInputPolicy
from sb3_maxent.soft_dqn.soft_dqn import SoftDQN

__all__ = ["CnnPolicy", "MlpPolicy", "MultiInputPolicy", "SoftDQN"]
