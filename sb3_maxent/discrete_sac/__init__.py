from sb3_maxent.discrete_sac.discrete_sac import DiscreteSAC
from sb3_maxent.discrete_sac.policies import CnnPolicy, DiscreteSACPolicy, ImpalaCnnPolicy, MlpPolicy, MultiInputPolicy

__all__ = ["CnnPolicy", "DiscreteSAC", "DiscreteSACPolicy", "ImpalaCnnPolicy", "MlpPolicy", "MultiInputPolicy"]
