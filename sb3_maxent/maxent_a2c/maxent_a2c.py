"""Maximum-entropy A2C: A2C on the entropy-augmented return (the soft_return objective)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import A2C
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.policies import (
    ActorCriticCnnPolicy,
    ActorCriticPolicy,
    BasePolicy,
    MultiInputActorCriticPolicy,
)
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, RolloutBufferSamples
from stable_baselines3.common.utils import explained_variance
from torch.nn import functional as F

from sb3_maxent.common.on_policy import DEFAULT_MAXENT_COEF_LR, MaxEntMode, MaxEntOnPolicyMixin
from sb3_maxent.common.save_util import CheckedLoad
from sb3_maxent.common.schedules import Schedule

SelfMaxEntA2C = TypeVar("SelfMaxEntA2C", bound="MaxEntA2C")

#: Default dual step of a learned beta for A2C: a tenth of the family's. A2C's one gradient step per 5-step rollout
#: moves the policy far less per rollout than PPO's epochs, so the entropy answers a change of beta tens of rollouts
#: later; at the family's step beta overshot 100-fold before settling (CartPole-v1, docs/algos/maxent_ppo.md).
A2C_MAXENT_COEF_LR = DEFAULT_MAXENT_COEF_LR / 10


class MaxEntA2C(CheckedLoad, MaxEntOnPolicyMixin, A2C):
    """
    Maximum-entropy Advantage Actor Critic (A2C).

    A2C on the maximum-entropy return sum_t gamma^t (r_t + beta * H(pi(.|s_t))) ("On-Policy Maximum Entropy
    Deep Reinforcement Learning"; see ``docs/algos/maxent_a2c.md``). Only ``maxent_mode="soft_return"``:
    beta * H(pi_old(.|s_t)) is added to r_t and GAE recomputed (the critic learns the soft value), and
    beta * grad H is added to the policy gradient (``ent_coef + beta`` in A2C's loss). The entropies come from
    A2C's own forward pass over the rollout in ``train`` (its parameters are still the rollout's), not from a
    separate pass after collection.

    The paper's ``one_step`` approximation is derived for a surrogate of the form ratio * A: its advantage
    A + beta * H_theta carries grad H through the importance ratio, which is one at the rollout's parameters.
    A2C's loss -log pi(a|s) * A has no ratio, so A + beta * H_theta there would give beta * H * grad log pi
    plus beta * log pi * grad H, not the paper's update: ``maxent_mode="one_step"`` raises a ``ValueError``.

    All other arguments are A2C's (see :class:`stable_baselines3.A2C`); ``MaxEntA2C.load()`` refuses files saved
    by another algorithm (:class:`sb3_maxent.common.save_util.CheckedLoad`).

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, MultiInputPolicy, ...)
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: The learning rate, it can be a function of the current progress remaining (from 1 to 0)
    :param n_steps: The number of steps to run for each environment per update
    :param gamma: Discount factor
    :param gae_lambda: Factor for trade-off of bias vs variance for Generalized Advantage Estimator
    :param ent_coef: Entropy *regularisation* coefficient, SB3's meaning (added to beta in the loss)
    :param maxent_coef: Temperature beta (float >= 0, a schedule of progress_remaining, ``"auto"`` or
        ``"auto_<initial>"`` to learn it toward ``target_entropy``): a reward bonus on the scale of the rewards
        and the coefficient of grad H
    :param maxent_mode: ``"soft_return"`` only (see above)
    :param maxent_grad: keep the exact beta * grad H term; False keeps only the detached reward bonus
    :param target_entropy: Target mean policy entropy of a learned ``maxent_coef`` in nats (``"auto"``: half the
        uniform entropy for finite action spaces, -dim(A) for Box actions)
    :param maxent_coef_lr: Step size of a learned ``maxent_coef`` per nat of entropy error, one projected SGD step
        per rollout: beta <- max(0, beta - maxent_coef_lr * max(beta, beta_0) * (mean H - target)); 0.1 for A2C
        (a tenth of the other algorithms', see ``A2C_MAXENT_COEF_LR``)
    :param vf_coef: Value function coefficient for the loss calculation
    :param max_grad_norm: The maximum value for the gradient clipping
    :param rms_prop_eps: RMSProp epsilon
    :param use_rms_prop: Whether to use RMSprop (default) or Adam as optimizer
    :param use_sde: Whether to use generalized State Dependent Exploration (gSDE)
    :param sde_sample_freq: Sample a new noise matrix every n steps when using gSDE (-1: only at rollout start)
    :param rollout_buffer_class: Rollout buffer class to use. If ``None``, it will be automatically selected.
    :param rollout_buffer_kwargs: Keyword arguments to pass to the rollout buffer on creation
    :param normalize_advantage: Whether to normalize or not the advantage
    :param stats_window_size: Window size for the rollout logging
    :param tensorboard_log: the log location for tensorboard (if None, no logging)
    :param policy_kwargs: additional arguments to be passed to the policy on creation
    :param verbose: Verbosity level: 0 for no output, 1 for info messages, 2 for debug messages
    :param seed: Seed for the pseudo random generators
    :param device: Device (cpu, cuda, ...) on which the code should be run.
    :param _init_setup_model: Whether or not to build the network at the creation of the instance
    """

    entropy_from_train: ClassVar[bool] = True
    one_step_unsupported: ClassVar[str | None] = (
        "A2C's loss -log pi(a|s) * A has no importance ratio, and the one-step approximation needs one (see "
        "docs/algos/maxent_a2c.md); use maxent_mode='soft_return' (the exact objective), or MaxEntPPO"
    )
    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": ActorCriticPolicy,
        "CnnPolicy": ActorCriticCnnPolicy,
        "MultiInputPolicy": MultiInputActorCriticPolicy,
    }

    def __init__(
        self,
        policy: str | type[ActorCriticPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 7e-4,
        n_steps: int = 5,
        gamma: float = 0.99,
        gae_lambda: float = 1.0,
        ent_coef: float = 0.0,
        maxent_coef: float | str | Schedule = 0.01,
        maxent_mode: MaxEntMode = "soft_return",
        maxent_grad: bool = True,
        target_entropy: float | str = "auto",
        maxent_coef_lr: float = A2C_MAXENT_COEF_LR,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
        rms_prop_eps: float = 1e-5,
        use_rms_prop: bool = True,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        rollout_buffer_class: type[RolloutBuffer] | None = None,
        rollout_buffer_kwargs: dict[str, Any] | None = None,
        normalize_advantage: bool = False,
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
            gamma=gamma,
            gae_lambda=gae_lambda,
            ent_coef=ent_coef,
            vf_coef=vf_coef,
            max_grad_norm=max_grad_norm,
            rms_prop_eps=rms_prop_eps,
            use_rms_prop=use_rms_prop,
            use_sde=use_sde,
            sde_sample_freq=sde_sample_freq,
            rollout_buffer_class=rollout_buffer_class,
            rollout_buffer_kwargs=rollout_buffer_kwargs,
            normalize_advantage=normalize_advantage,
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

    # ----------------------------------------------------------------------------------------------- train
    # Copy of stable-baselines3 2.9 A2C.train; the maximum-entropy change is the call to _maxent_terms (and the loop
    # over _rollout_batch, which also yields the buffer's row order).
    def train(self) -> None:
        """
        Update policy using the currently gathered rollout buffer (one gradient step over whole data).

        A2C's one forward pass over the whole rollout, made with the rollout's own parameters, gives
        H(pi_old(.|s_t)) for free: :meth:`_maxent_terms` takes the soft bonus from it instead of a separate entropy
        pass after collection (see ``entropy_from_train``), with the same numbers.
        """
        # Switch to train mode (this affects batch norm / dropout)
        self.policy.set_training_mode(True)

        # Update optimizer learning rate
        self._update_learning_rate(self.policy.optimizer)

        # This will only loop once (get all data in one go)
        for rollout_data, order in self._rollout_batch():
            actions = rollout_data.actions
            if isinstance(self.action_space, spaces.Discrete):
                # Convert discrete action from float to long
                actions = actions.long().flatten()

            values, log_prob, entropy = self.policy.evaluate_actions(rollout_data.observations, actions)
            values = values.flatten()

            # the maximum-entropy change: soft advantages and returns, and ent_coef + beta
            advantages, returns, ent_coef = self._maxent_terms(rollout_data, order, entropy)

            # Normalize advantage (not present in the original implementation)
            if self.normalize_advantage:
                advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

            # Policy gradient loss
            policy_loss = -(advantages * log_prob).mean()

            # Value loss using the TD(gae_lambda) target
            value_loss = F.mse_loss(returns, values)

            # Entropy loss favor exploration
            # (-mean(-log pi): the single-sample estimate where the distribution has no closed-form entropy)
            entropy_loss = -th.mean(-log_prob) if entropy is None else -th.mean(entropy)

            loss = policy_loss + ent_coef * entropy_loss + self.vf_coef * value_loss

            # Optimization step
            self.policy.optimizer.zero_grad()
            loss.backward()

            # Clip grad norm
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()

        explained_var = explained_variance(self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten())

        self._n_updates += 1
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/explained_variance", explained_var)
        self.logger.record("train/entropy_loss", entropy_loss.item())
        self.logger.record("train/policy_loss", policy_loss.item())
        self.logger.record("train/value_loss", value_loss.item())
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())

    def _rollout_batch(self) -> Iterator[tuple[RolloutBufferSamples, np.ndarray]]:
        """
        ``rollout_buffer.get(batch_size=None)``'s one batch, with its row order: row i is the buffer's flattened
        (env-major) step ``order[i]``. The order is read, not predicted: for the duration of the loop the buffer's
        ``_get_samples`` is wrapped to record the indices ``get`` passes it (``get`` itself runs unchanged and draws
        its permutation from NumPy's global generator as in A2C).
        """
        buffer = self.rollout_buffer
        get_samples = buffer._get_samples
        shadowed = vars(buffer).get("_get_samples")  # an instance attribute someone else set, put back afterwards
        indices: list[np.ndarray] = []

        def recording_get_samples(batch_inds: np.ndarray, *args: Any, **kwargs: Any) -> Any:
            indices.append(batch_inds)
            return get_samples(batch_inds, *args, **kwargs)

        buffer._get_samples = recording_get_samples  # type: ignore[method-assign]
        try:
            for rollout_data in buffer.get(batch_size=None):
                yield rollout_data, indices[-1]
        finally:
            if shadowed is None:
                del buffer._get_samples  # the class's method again
            else:
                buffer._get_samples = shadowed  # type: ignore[method-assign]

    def _maxent_terms(
        self, rollout_data: RolloutBufferSamples, order: np.ndarray, entropy: th.Tensor | None
    ) -> tuple[th.Tensor, th.Tensor, float]:
        """
        soft_return's terms from the training forward pass, whose parameters are still the rollout's (A2C updates
        once per rollout): H(pi_old(.|s_t)) is ``entropy`` (shape (batch,), rows in ``order``; where the
        distribution has no closed form, the rollout's -log pi_old(a_t|s_t)), put back in the buffer's
        (n_steps, n_envs) layout for :meth:`_use_rollout_entropy` (log, reward bonus, dual step). Returns the
        advantages and returns with the GAE of the bonus added (buffer and batch alike) and A2C's entropy
        coefficient ent_coef + beta.
        """
        buffer = self.rollout_buffer
        n_steps, n_envs = buffer.rewards.shape
        rows = (entropy if entropy is not None else -rollout_data.old_log_prob).detach().cpu().numpy()
        flat = np.empty(n_steps * n_envs, dtype=rows.dtype)
        flat[order] = rows  # env-major, as the buffer's arrays after get(): index env * n_steps + step
        bonus_advantages = self._use_rollout_entropy(np.ascontiguousarray(flat.reshape(n_envs, n_steps).T), buffer)
        advantages, returns = rollout_data.advantages, rollout_data.returns
        if bonus_advantages is not None:
            bonus_flat = bonus_advantages.T.reshape(-1, 1)  # env-major, as buffer.advantages after get()
            buffer.advantages += bonus_flat
            buffer.returns += bonus_flat
            bonus_rows = th.as_tensor(bonus_flat[order, 0], device=advantages.device)
            advantages = advantages + bonus_rows
            returns = returns + bonus_rows
        beta = self._current_maxent_coef()
        self._record_maxent(beta, None)
        return advantages, returns, self._soft_return_entropy_coef(beta)

    def learn(
        self: SelfMaxEntA2C,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 100,
        tb_log_name: str = "MaxEntA2C",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfMaxEntA2C:
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )
