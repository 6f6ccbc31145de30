"""
Optuna samplers and converters for the MaxEnt on-policy family, SoftDQN and DiscreteSAC, in rl_zoo3's format.

rl_zoo3 needs both halves: ``HYPERPARAMS_SAMPLER[algo](trial, n_actions, n_envs, additional_args)`` draws a
trial's hyperparameters, and ``HYPERPARAMS_CONVERTER[algo](trial.params)`` rebuilds the same keyword
arguments from a stored trial (``--trial-id`` / ``load_trial``). Each sampler here therefore returns
``converter(raw_params)``, so the two cannot drift apart (``tests/test_zoo.py`` checks it).

The usual PPO, DQN and SAC search spaces are rl_zoo3's own (``rl_zoo3.hyperparams_opt``); only our
parameters are added.
"""

from __future__ import annotations

from typing import Any

import optuna
from rl_zoo3.hyperparams_opt import (
    convert_offpolicy_params,
    convert_onpolicy_params,
    sample_a2c_params,
    sample_ppo_params,
    sample_sac_params,
    sample_trpo_params,
)

from sb3_maxent.common.on_policy import MAXENT_MODES

# Raw Optuna parameter names that are ours (everything else goes through rl_zoo3's converters).
MAXENT_PPO_PARAMS = ("maxent_coef", "maxent_mode", "maxent_grad")
SOFT_DQN_PARAMS = (
    "temperature_schedule",
    "temperature",
    "temperature_initial",
    "temperature_final",
    "temperature_fraction",
    "double_q",
    "munchausen",
    "munchausen_alpha",
)
DISCRETE_SAC_PARAMS = ("ent_coef_mode", "ent_coef", "target_entropy_ratio")


def convert_maxent_ppo_params(sampled_params: dict[str, Any]) -> dict[str, Any]:
    """Raw trial parameters -> keyword arguments of any MaxEnt on-policy algorithm (the parent's part by rl_zoo3)."""
    ppo_params = {key: value for key, value in sampled_params.items() if key not in MAXENT_PPO_PARAMS}
    hyperparams = convert_onpolicy_params(ppo_params)
    for key in MAXENT_PPO_PARAMS:
        if key in sampled_params:
            hyperparams[key] = sampled_params[key]
    return hyperparams


def sample_maxent_ppo_params(
    trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict[str, Any]
) -> dict[str, Any]:
    """
    Sampler for MaxEntPPO: PPO's usual search space (rl_zoo3's, ``ent_coef`` included, so that
    regularisation and maximisation may be combined) plus the temperature beta (log-uniform over the
    paper's grid, 1e-4 to 1), the objective (``maxent_mode``) and whether the gradient flows through the
    entropy term (``maxent_grad``).
    """
    sample_ppo_params(trial, n_actions, n_envs, additional_args)
    _suggest_maxent(trial, list(MAXENT_MODES))
    return convert_maxent_ppo_params(trial.params)


def _suggest_maxent(trial: optuna.Trial, modes: list[str]) -> None:
    """The maximum-entropy part of every on-policy search space: beta (log-uniform, 1e-4 to 1), mode, gradient."""
    trial.suggest_float("maxent_coef", 1e-4, 1.0, log=True)
    trial.suggest_categorical("maxent_mode", modes)
    trial.suggest_categorical("maxent_grad", [True, False])


def sample_maxent_a2c_params(
    trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict[str, Any]
) -> dict[str, Any]:
    """Sampler for MaxEntA2C: rl_zoo3's A2C search space plus beta and ``maxent_grad`` (``soft_return`` only)."""
    sample_a2c_params(trial, n_actions, n_envs, additional_args)
    _suggest_maxent(trial, ["soft_return"])
    return convert_maxent_ppo_params(trial.params)


def sample_maxent_trpo_params(
    trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict[str, Any]
) -> dict[str, Any]:
    """Sampler for MaxEntTRPO: rl_zoo3's TRPO search space plus beta, the mode and ``maxent_grad``."""
    sample_trpo_params(trial, n_actions, n_envs, additional_args)
    _suggest_maxent(trial, list(MAXENT_MODES))
    return convert_maxent_ppo_params(trial.params)


def convert_soft_dqn_params(sampled_params: dict[str, Any]) -> dict[str, Any]:
    """Raw trial parameters -> SoftDQN keyword arguments (DQN's part converted by rl_zoo3)."""
    dqn_params = {key: value for key, value in sampled_params.items() if key not in SOFT_DQN_PARAMS}
    hyperparams = convert_offpolicy_params(dqn_params)

    schedule = sampled_params.get("temperature_schedule", "constant")
    if schedule == "constant":
        hyperparams["temperature"] = sampled_params["temperature"]
    elif schedule == "linear":
        # SoftDQN anneals linearly from temperature_initial to temperature_final when no temperature is given
        hyperparams["temperature"] = None
        for key in ("temperature_initial", "temperature_final", "temperature_fraction"):
            hyperparams[key] = sampled_params[key]
    elif schedule == "auto":
        hyperparams["temperature"] = "auto"
    else:
        raise ValueError(f"Unknown temperature_schedule {schedule!r}")

    if "double_q" in sampled_params:
        hyperparams["double_q"] = sampled_params["double_q"]
    if sampled_params.get("munchausen", False):
        hyperparams["munchausen_alpha"] = sampled_params["munchausen_alpha"]
    elif "munchausen" in sampled_params:
        hyperparams["munchausen_alpha"] = 0.0
    return hyperparams


def sample_soft_dqn_params(
    trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict[str, Any]
) -> dict[str, Any]:
    """
    Sampler for SoftDQN: DQN's usual search space (rl_zoo3's ranges, without the epsilon-greedy
    parameters: SoftDQN explores by sampling its Boltzmann policy) plus the temperature (constant,
    linearly annealed or learnt), the double soft target and the Munchausen term.
    """
    # DQN's usual parameters, same names and ranges as rl_zoo3.hyperparams_opt.sample_dqn_params
    one_minus_gamma = trial.suggest_float("one_minus_gamma", 0.0001, 0.03, log=True)
    batch_size_pow = trial.suggest_int("batch_size_pow", 2, 11)
    trial.suggest_float("learning_rate", 1e-5, 0.002, log=True)
    train_freq = trial.suggest_int("train_freq", 1, 10)
    trial.suggest_int("subsample_steps", 1, min(train_freq, 8))
    trial.suggest_int("target_update_interval", 1, 20000, log=True)
    trial.suggest_categorical("net_arch", ["small", "medium", "big"])

    schedule = trial.suggest_categorical("temperature_schedule", ["constant", "linear", "auto"])
    if schedule == "constant":
        trial.suggest_float("temperature", 1e-3, 1.0, log=True)
    elif schedule == "linear":
        trial.suggest_float("temperature_initial", 1e-2, 1.0, log=True)
        trial.suggest_float("temperature_final", 1e-4, 1e-2, log=True)
        trial.suggest_float("temperature_fraction", 0.05, 0.5)
    trial.suggest_categorical("double_q", [False, True])
    if trial.suggest_categorical("munchausen", [False, True]):
        # The M-DQN paper uses alpha = 0.9
        trial.suggest_float("munchausen_alpha", 0.5, 1.0)

    trial.set_user_attr("gamma", 1 - one_minus_gamma)
    trial.set_user_attr("batch_size", 2**batch_size_pow)
    return convert_soft_dqn_params(trial.params)


def convert_discrete_sac_params(sampled_params: dict[str, Any]) -> dict[str, Any]:
    """Raw trial parameters -> DiscreteSAC keyword arguments (SAC's part converted by rl_zoo3)."""
    sac_params = {key: value for key, value in sampled_params.items() if key not in DISCRETE_SAC_PARAMS}
    hyperparams = convert_offpolicy_params(sac_params)
    if sampled_params.get("ent_coef_mode", "auto") == "auto":
        hyperparams["ent_coef"] = "auto"
        if "target_entropy_ratio" in sampled_params:
            hyperparams["target_entropy"] = f"auto_{sampled_params['target_entropy_ratio']}"
    else:
        hyperparams["ent_coef"] = sampled_params["ent_coef"]
    return hyperparams


def sample_discrete_sac_params(
    trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict[str, Any]
) -> dict[str, Any]:
    """
    Sampler for DiscreteSAC: SAC's usual search space (rl_zoo3's ``sample_sac_params``: discount, batch size,
    learning rate, train frequency, Polyak coefficient, network size) plus the entropy coefficient, learned
    toward a target entropy between 0.3 and 0.98 of log|A| (0.98: the SAC-discrete paper, 0.89: CleanRL) or fixed
    (log-uniform over 1e-3 to 1).
    """
    sample_sac_params(trial, n_actions, n_envs, additional_args)
    if trial.suggest_categorical("ent_coef_mode", ["auto", "fixed"]) == "auto":
        trial.suggest_float("target_entropy_ratio", 0.3, 0.98)
    else:
        trial.suggest_float("ent_coef", 1e-3, 1.0, log=True)
    return convert_discrete_sac_params(trial.params)
