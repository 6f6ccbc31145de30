"""Maximum-entropy PPO: PPO whose advantages (and returns) carry the policy entropy."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.policies import (
    ActorCriticCnnPolicy,
    ActorCriticPolicy,
    BasePolicy,
    MultiInputActorCriticPolicy,
)
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback

from sb3_maxent.common.on_policy import DEFAULT_MAXENT_COEF_LR, MAXENT_MODES, MaxEntMode
from sb3_maxent.common.ppo_train import MaxEntClippedSurrogateMixin
from sb3_maxent.common.save_util import CheckedLoad
from sb3_maxent.common.schedules import Schedule
from sb3_maxent.common.torch_layers import ImpalaCnnPolicy

SelfMaxEntPPO = TypeVar("SelfMaxEntPPO", bound="MaxEntPPO")

__all__ = ["MAXENT_MODES", "MaxEntMode", "MaxEntPPO"]


class MaxEntPPO(CheckedLoad, MaxEntClippedSurrogateMixin, PPO):
    """
    Maximum-entropy Proximal Policy Optimization (clip version).

    PPO whose objective is the maximum-entropy return sum_t gamma^t (r_t + beta * H(pi(.|s_t))) instead of
    the return plus an entropy regulariser. Paper: "On-Policy Maximum Entropy Deep Reinforcement Learning"
    (the L^MAX objective and its one-step approximation); see ``docs/algos/maxent_ppo.md``.

    Two ways to carry the entropy (``maxent_mode``):

    * ``"one_step"`` (the paper): in every minibatch the advantage becomes A_t + beta * H_t and the value
      target R_t + beta * H_t, with H_t the entropy of the *current* policy at s_t and A_t SB3's advantage
      after its per-minibatch normalisation. The gradient flows through H_t, so in expectation the update is
      PPO's with ``ent_coef=beta`` (plus zero-mean noise beta * H_t * grad log pi(a_t|s_t) and a detached
      value bonus): **beta is on the ent_coef scale**. The paper's tuned 0.3 acts as ``ent_coef=0.3`` here and
      keeps a FruitBot policy uniform; see the docs for the derivation.
    * ``"soft_return"`` (exact objective): beta * H(pi_old(.|s_t)) is added to r_t during collection, before
      GAE (the critic learns the soft value), and beta * mean(H_t) is added to the objective in ``train()``:
      beta is both a reward bonus on the scale of the (normalised) rewards and an ``ent_coef``-scale
      coefficient of grad H.

    All other arguments are PPO's (see :class:`stable_baselines3.PPO`).

    ``MaxEntPPO.load()`` refuses a file saved by another algorithm (``PPO`` included: its file has no beta, and
    loading it here would add an entropy bonus PPO never trained with) with a ``ValueError`` naming both
    (:class:`sb3_maxent.common.save_util.CheckedLoad`); to start from PPO weights, build a ``MaxEntPPO`` and
    ``set_parameters(PPO.load(path).get_parameters())``.

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, MultiInputPolicy, ...)
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
    :param ent_coef: Entropy *regularisation* coefficient, SB3's meaning (0.0 here: the maximum-entropy
        objective replaces it; both may be combined)
    :param maxent_coef: Temperature beta of the maximum-entropy objective (float >= 0 or a schedule of
        progress_remaining), on the ``ent_coef`` scale in ``one_step`` mode. Default 0.01: on FruitBot as good as the
        best one-step beta measured (train return at 311k steps, stage 1 of the docs' benchmarks: 0.01 -1.33,
        0.003 -1.31, 0.03 -1.62; the paper's 0.3 keeps the policy uniform), and as good as beta = 0 on
        CartPole-v1 and Pendulum-v1 in both modes (``benchmarks/beta_sweep.py``). ``"auto"`` (initial value 0.01) or
        ``"auto_<initial>"`` learns beta so that the rollouts' mean policy entropy tracks ``target_entropy``
        (a dual update: one projected SGD step of ``maxent_coef_lr`` per rollout).
    :param maxent_mode: ``"one_step"`` (the paper's approximation) or ``"soft_return"`` (exact objective)
    :param maxent_grad: ``one_step``: let the gradient flow through H_t inside the advantage (the paper);
        False detaches it. ``soft_return``: keep the exact beta * grad H term; False keeps only the
        detached reward bonus (Sample Factory's ``max_entropy_coeff``, garage's ``entropy_method='max'``).
    :param target_entropy: Target mean policy entropy of a learned ``maxent_coef``, in nats; ``"auto"``: half
        the uniform policy's entropy for finite action spaces, -dim(A) for Box actions (SAC's). Only with
        ``maxent_coef="auto"``.
    :param maxent_coef_lr: Step size of a learned ``maxent_coef`` per nat of entropy error, one projected SGD step
        per rollout: beta <- max(0, beta - maxent_coef_lr * max(beta, beta_0) * (mean H - target)), beta_0 the
        initial value (see ``MaxEntOnPolicyMixin._update_maxent_coef``)
    :param vf_coef: Value function coefficient for the loss calculation
    :param max_grad_norm: The maximum value for the gradient clipping
    :param use_sde: Whether to use generalized State Dependent Exploration (gSDE)
    :param sde_sample_freq: Sample a new noise matrix every n steps when using gSDE (-1: only at rollout start)
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
        "MlpPolicy": ActorCriticPolicy,
        "CnnPolicy": ActorCriticCnnPolicy,
        "MultiInputPolicy": MultiInputActorCriticPolicy,
        "ImpalaCnnPolicy": ImpalaCnnPolicy,
    }

    def __init__(
        self,
        policy: str | type[ActorCriticPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 3e-4,
        n_steps: int = 2048,
        batch_size: int = 64,
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
        use_sde: bool = False,
        sde_sample_freq: int = -1,
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
            use_sde=use_sde,
            sde_sample_freq=sde_sample_freq,
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

    def learn(
        self: SelfMaxEntPPO,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        tb_log_name: str = "MaxEntPPO",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfMaxEntPPO:
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )
