"""Environments of sb3-maxent, registered with gymnasium on ``import sb3_maxent``."""

from sb3_maxent.envs.registration import register_envs

__all__ = ["register_envs"]
