"""
rl-baselines3-zoo integration: our algorithms, Optuna samplers and configurations registered with rl_zoo3.

``register_zoo()`` makes ``maxent_ppo``, ``soft_dqn`` and ``discrete_sac`` known to rl_zoo3; ``sb3_maxent.zoo.cli`` (the
``sb3-maxent`` command, ``python -m sb3_maxent.train`` / ``python -m sb3_maxent.enjoy``) registers them and
hands over to rl_zoo3's own scripts. rl_zoo3 is imported on first use only, so that the command can say
which extra to install when it is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sb3_maxent.zoo.configs import config_dir, config_path, packaged_algos

if TYPE_CHECKING:
    from sb3_maxent.zoo.registration import register_zoo, zoo_algorithms

__all__ = ["config_dir", "config_path", "packaged_algos", "register_zoo", "zoo_algorithms"]


def __getattr__(name: str) -> Any:
    if name in ("register_zoo", "zoo_algorithms"):
        from sb3_maxent.zoo import registration

        return getattr(registration, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
