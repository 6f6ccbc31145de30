# SoftDQN uses SB3's DQN networks unchanged (a Q-network and its target copy): the soft Bellman target,
# the Boltzmann policy softmax(Q / temperature) and the temperature live in the algorithm, so any
# DQNPolicy subclass (a custom features extractor, an IMPALA CNN, ...) works with SoftDQN as is.
from stable_baselines3.dqn.policies import CnnPolicy, DQNPolicy, MlpPolicy, MultiInputPolicy, QNetwork

__all__ = ["CnnPolicy", "DQNPolicy", "MlpPolicy", "MultiInputPolicy", "QNetwork"]
