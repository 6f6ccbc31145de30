"""Registration of our algorithms with rl_zoo3 (one function, idempotent)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from rl_zoo3.hyperparams_opt import HYPERPARAMS_CONVERTER, HYPERPARAMS_SAMPLER
from rl_zoo3.utils import ALGOS
from stable_baselines3.common.base_class import BaseAlgorithm

import sb3_maxent  # noqa: F401  (registers the environment ids with gymnasium)
from sb3_maxent.discrete_sac import DiscreteSAC
from sb3_maxent.maxent_a2c import MaxEntA2C
from sb3_maxent.maxent_ppo import MaxEntPPO
from sb3_maxent.maxent_ppo_mask import MaxEntMaskablePPO
from sb3_maxent.maxent_trpo import MaxEntTRPO
from sb3_maxent.soft_dqn import SoftDQN
from sb3_maxent.zoo.hyperparams_opt import (
    convert_discrete_sac_params,
    convert_maxent_ppo_params,
    convert_soft_dqn_params,
    sample_discrete_sac_params,
    sample_maxent_a2c_params,
    sample_maxent_ppo_params,
    sample_maxent_trpo_params,
    sample_soft_dqn_params,
)

Sampler = Callable[..., dict[str, Any]]


class Converter(Protocol):
    """rl_zoo3's converter signature: raw Optuna trial parameters -> algorithm keyword arguments."""

    def __call__(self, sampled_params: dict[str, Any]) -> dict[str, Any]: ...


def zoo_algorithms() -> dict[str, tuple[type[BaseAlgorithm], Sampler, Converter]]:
    """Our rl-zoo algorithm keys -> (class, Optuna sampler, converter)."""
    return {
        "discrete_sac": (DiscreteSAC, sample_discrete_sac_params, convert_discrete_sac_params),
        "maxent_a2c": (MaxEntA2C, sample_maxent_a2c_params, convert_maxent_ppo_params),
        "maxent_ppo": (MaxEntPPO, sample_maxent_ppo_params, convert_maxent_ppo_params),
        # MaskablePPO's search space is PPO's (rl_zoo3 has no ppo_mask sampler either)
        "maxent_ppo_mask": (MaxEntMaskablePPO, sample_maxent_ppo_params, convert_maxent_ppo_params),
        "maxent_trpo": (MaxEntTRPO, sample_maxent_trpo_params, convert_maxent_ppo_params),
        "soft_dqn": (SoftDQN, sample_soft_dqn_params, convert_soft_dqn_params),
    }


def register_zoo() -> list[str]:
    """
    Make our algorithms known to rl_zoo3: ``ALGOS`` (train / enjoy), ``HYPERPARAMS_SAMPLER``
    (``--optimize``) and ``HYPERPARAMS_CONVERTER`` (``--trial-id``, loading a stored Optuna trial).
    Calling it again changes nothing. Returns the registered keys.
    """
    algorithms = zoo_algorithms()
    for key, (algo_class, sampler, converter) in algorithms.items():
        ALGOS[key] = algo_class
        HYPERPARAMS_SAMPLER[key] = sampler
        HYPERPARAMS_CONVERTER[key] = converter
    return sorted(algorithms)
