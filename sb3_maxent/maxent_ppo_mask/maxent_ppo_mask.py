"""Maximum-entropy MaskablePPO: MaxEntPPO's objective with the entropy of the masked distribution."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import torch as th
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.buffers import MaskableDictRolloutBuffer, MaskableRolloutBuffer
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback

from sb3_maxent.common.on_policy import DEFAULT_MAXENT_COEF_LR, MaxEntMode
from sb3_maxent.common.ppo_train import MaxEntClippedSurrogateMixin
from sb3_maxent.common.save_util import CheckedLoad
from sb3_maxent.common.schedules import Schedule
from sb3_maxent.maxent_ppo_mask.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

SelfMaxEntMaskablePPO = TypeVar("SelfMaxEntMaskablePPO", bound="MaxEntMaskablePPO")


class MaxEntMaskablePPO(CheckedLoad, MaxEntClippedSurrogateMixin, MaskablePPO):
    """
    Maximum-entropy Proximal Policy Optimization with invalid action masking.

    sb3-contrib's MaskablePPO with MaxEntPPO's objective (``one_step`` or ``soft_return``, see
    :class:`sb3_maxent.MaxEntPPO` and ``docs/algos/maxent_ppo_mask.md``). H is the entropy of the *masked*
    distribution, the policy the agent actually follows: masked actions have probability zero and add nothing,
    so the entropy bonus never pushes probability toward an invalid action (its maximum is log of the number of
    valid actions, not log|A|). The masks used are those stored with each step of the rollout.

    All other arguments are MaskablePPO's (see :class:`sb3_contrib.MaskablePPO`).

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, ...)
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: The learning rate, it can be a function of the current progress remaining (from 1 to 0)
    :param n_steps: The number of steps to run for each environment per update
    :param batch_size: Minibatch size
    :param n_epochs: Number of epoch when optimizing the surrogate loss
    :param gamma: Discount factor
    :param gae_lambda: Factor for trade-off of bias vs variance for Generalized Advantage Estimator
    :param clip_range: Clipping parameter, it can be a function of the current progress remaining (from 1 to 0).
    :param clip_range_vf: Clipping parameter for the value function (None: no clipping)
    :param normalize_advantage: Whether to normalize or not the advantage (before the entropy term is added)
    :param ent_coef: Entropy *regularisation* coefficient, SB3's meaning
    :param maxent_coef: Temperature beta (float >= 0, a schedule of progress_remaining, ``"auto"`` or
        ``"auto_<initial>"``), on the ``ent_coef`` scale in ``one_step`` mode, as in MaxEntPPO
    :param maxent_mode: ``"one_step"`` (the paper's approximation) or ``"soft_return"`` (exact objective)
    :param maxent_grad: as in MaxEntPPO: False detaches H in the advantage (``one_step``) or drops beta * grad H
        (``soft_return``)
    :param target_entropy: Target mean entropy of a learned ``maxent_coef``, in nats (``"auto"``: half of log|A|)
    :param maxent_coef_lr: Step size of a learned ``maxent_coef`` per nat of entropy error, one projected SGD step
        per rollout: beta <- max(0, beta - maxent_coef_lr * max(beta, beta_0) * (mean H - target)), beta_0 the
        initial value (see ``MaxEntOnPolicyMixin._update_maxent_coef``)
    :param vf_coef: Value function coefficient for the loss calculation
    :param max_grad_norm: The maximum value for the gradient clipping
    :param rollout_buffer_class: Rollout buffer class to use. If ``None``, it will be automatically selected.
    :param rollout_buffer_kwargs: Keyword arguments to pass to the rollout buffer on creation
    :param target_kl: Limit the KL divergence between updates (None: no limit)
    :param stats_window_size: Window size for the rollout logging
    :param tensorboard_log: the log location for tensorboard (if None, no logging)
    :param policy_kwargs: additional arguments to be passed to the policy on creation
    :param verbose: Verbosity level: 0 for no output, 1 for info messages, 2 for debug messages
    :param seed: Seed for the pseudo random generators
    :param device: Device (cpu, cuda, ...) on which the code should be run.
    :param _init_setup_model: Whether or not to build the network at the creation of the instance
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    policy: MaskableActorCriticPolicy

    def __init__(
        self,
        policy: str | type[MaskableActorCriticPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 3e-4,
        n_steps: int = 2048,
        batch_size: int | None = 64,
        n_epochs: int = 10,
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
        clip_range: float | Schedule = 0.2,
        clip_range_vf: float | Schedule | None = None,
        normalize_advantage: bool = True,
        ent_coef: float = 0.0,
        maxent_coef: float | str | Schedule = 0.01,
        maxent_mode: MaxEntMode = "one_step",
        maxent_grad: bool = True,
        target_entropy: float | str = "auto",
        maxent_coef_lr: float = DEFAULT_MAXENT_COEF_LR,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
        rollout_buffer_class: type[RolloutBuffer] | None = None,
        rollout_buffer_kwargs: dict[str, Any] | None = None,
        target_kl: float | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ):
        self._check_maxent_args(maxent_coef, maxent_mode, maxent_grad, target_entropy, maxent_coef_lr, ent_coef)
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=n_steps,
            batch_size=batch_size,
            n_epochs=n_epochs,
            gamma=gamma,
            gae_lambda=gae_lambda,
            clip_range=clip_range,
            clip_range_vf=clip_range_vf,
            normalize_advantage=normalize_advantage,
            ent_coef=ent_coef,
            vf_coef=vf_coef,
            max_grad_norm=max_grad_norm,
            rollout_buffer_class=rollout_buffer_class,
            rollout_buffer_kwargs=rollout_buffer_kwargs,
            target_kl=target_kl,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
        )
        self._set_maxent_args(maxent_coef, maxent_mode, maxent_grad, target_entropy, maxent_coef_lr)
        if _init_setup_model:
            self._setup_model()

    def _entropy_distribution_kwargs(self, rollout_buffer: RolloutBuffer, index: slice) -> dict[str, Any]:
        """The masks stored with the rollout: the entropy is that of the masked distribution."""
        assert isinstance(rollout_buffer, (MaskableRolloutBuffer, MaskableDictRolloutBuffer))
        masks = rollout_buffer.action_masks
        return {"action_masks": masks.reshape(-1, masks.shape[-1])[index]}

    def _evaluate_minibatch(
        self, rollout_data: Any, actions: th.Tensor
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        return self.policy.evaluate_actions(rollout_data.observations, actions, action_masks=rollout_data.action_masks)

    def learn(  # type: ignore[override]
        self: SelfMaxEntMaskablePPO,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        tb_log_name: str = "MaxEntMaskablePPO",
        reset_num_timesteps: bool = True,
        use_masking: bool = True,
        progress_bar: bool = False,
    ) -> SelfMaxEntMaskablePPO:
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            use_masking=use_masking,
            progress_bar=progress_bar,
        )
