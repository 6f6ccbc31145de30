"""Maximum-entropy TRPO: TRPO whose surrogate carries the policy entropy."""

from __future__ import annotations

import copy
from functools import partial
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import TRPO
from sb3_contrib.common.utils import conjugate_gradient_solver
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.distributions import Distribution, kl_divergence
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, RolloutBufferSamples
from stable_baselines3.common.utils import explained_variance
from torch.nn import functional as F

from sb3_maxent.common.on_policy import DEFAULT_MAXENT_COEF_LR, MaxEntMode, MaxEntOnPolicyMixin
from sb3_maxent.common.save_util import CheckedLoad
from sb3_maxent.common.schedules import Schedule
from sb3_maxent.maxent_trpo.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

SelfMaxEntTRPO = TypeVar("SelfMaxEntTRPO", bound="MaxEntTRPO")


class MaxEntTRPO(CheckedLoad, MaxEntOnPolicyMixin, TRPO):
    """
    Maximum-entropy Trust Region Policy Optimization.

    sb3-contrib's TRPO with the maximum-entropy objective (see ``docs/algos/maxent_trpo.md``). TRPO maximises the
    surrogate mean(ratio * A) under a KL constraint; the conjugate-gradient direction and the line search both
    use the maximum-entropy surrogate:

    * ``"one_step"`` (the paper's approximation; TRPO's surrogate has the ratio form it needs):
      mean(ratio * (A_t + beta * H_t)), H_t under the current parameters (gradient through it unless
      ``maxent_grad=False``); the critic's target is R_t + beta * H(pi(.|s_t)) after the policy step.
    * ``"soft_return"`` (exact objective): beta * H(pi_old(.|s_t)) added to the rewards before GAE, and
      mean(ratio * A_t) + beta * mean(H_t) as the surrogate (``maxent_grad=False``: without the second term).

    TRPO has no ``ent_coef``. All other arguments are TRPO's (see :class:`sb3_contrib.TRPO`).

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, ...)
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: The learning rate for the value function, it can be a function of the current progress
        remaining (from 1 to 0)
    :param n_steps: The number of steps to run for each environment per update
    :param batch_size: Minibatch size for the value function
    :param gamma: Discount factor
    :param cg_max_steps: maximum number of steps in the Conjugate Gradient algorithm
    :param cg_damping: damping in the Hessian vector product computation
    :param line_search_shrinking_factor: step-size reduction factor for the line-search
    :param line_search_max_iter: maximum number of iteration for the backtracking line-search
    :param n_critic_updates: number of critic updates per policy update
    :param gae_lambda: Factor for trade-off of bias vs variance for Generalized Advantage Estimator
    :param maxent_coef: Temperature beta (float >= 0, a schedule of progress_remaining, ``"auto"`` or
        ``"auto_<initial>"``)
    :param maxent_mode: ``"one_step"`` (the paper's approximation) or ``"soft_return"`` (exact objective)
    :param maxent_grad: False detaches H in the advantage (``one_step``) or drops beta * mean(H)
        (``soft_return``)
    :param target_entropy: Target mean entropy of a learned ``maxent_coef``, in nats (``"auto"``: half the uniform
        entropy for finite action spaces, -dim(A) for Box actions)
    :param maxent_coef_lr: Step size of a learned ``maxent_coef`` per nat of entropy error, one projected SGD step
        per rollout: beta <- max(0, beta - maxent_coef_lr * max(beta, beta_0) * (mean H - target)), beta_0 the
        initial value (see ``MaxEntOnPolicyMixin._update_maxent_coef``)
    :param use_sde: Whether to use generalized State Dependent Exploration (gSDE)
    :param sde_sample_freq: Sample a new noise matrix every n steps when using gSDE (-1: only at rollout start)
    :param rollout_buffer_class: Rollout buffer class to use. If ``None``, it will be automatically selected.
    :param rollout_buffer_kwargs: Keyword arguments to pass to the rollout buffer on creation
    :param normalize_advantage: Whether to normalize or not the advantage (before the entropy term is added)
    :param target_kl: Target Kullback-Leibler divergence between updates
    :param sub_sampling_factor: Sub-sample the batch to make computation faster
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

    def __init__(
        self,
        policy: str | type[ActorCriticPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 1e-3,
        n_steps: int = 2048,
        batch_size: int = 128,
        gamma: float = 0.99,
        cg_max_steps: int = 15,
        cg_damping: float = 0.1,
        line_search_shrinking_factor: float = 0.8,
        line_search_max_iter: int = 10,
        n_critic_updates: int = 10,
        gae_lambda: float = 0.95,
        maxent_coef: float | str | Schedule = 0.01,
        maxent_mode: MaxEntMode = "one_step",
        maxent_grad: bool = True,
        target_entropy: float | str = "auto",
        maxent_coef_lr: float = DEFAULT_MAXENT_COEF_LR,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        rollout_buffer_class: type[RolloutBuffer] | None = None,
        rollout_buffer_kwargs: dict[str, Any] | None = None,
        normalize_advantage: bool = True,
        target_kl: float = 0.01,
        sub_sampling_factor: int = 1,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ):
        self._check_maxent_args(maxent_coef, maxent_mode, maxent_grad, target_entropy, maxent_coef_lr, None)
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=n_steps,
            batch_size=batch_size,
            gamma=gamma,
            cg_max_steps=cg_max_steps,
            cg_damping=cg_damping,
            line_search_shrinking_factor=line_search_shrinking_factor,
            line_search_max_iter=line_search_max_iter,
            n_critic_updates=n_critic_updates,
            gae_lambda=gae_lambda,
            use_sde=use_sde,
            sde_sample_freq=sde_sample_freq,
            rollout_buffer_class=rollout_buffer_class,
            rollout_buffer_kwargs=rollout_buffer_kwargs,
            normalize_advantage=normalize_advantage,
            target_kl=target_kl,
            sub_sampling_factor=sub_sampling_factor,
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

    def _surrogate(
        self, advantages: th.Tensor, ratio: th.Tensor, distribution: Distribution, log_prob: th.Tensor, beta: float
    ) -> th.Tensor:
        """
        TRPO's surrogate mean(ratio * A) with the maximum-entropy terms (shapes (batch,) -> scalar):
        ``one_step`` mean(ratio * (A + beta * H)), ``soft_return`` mean(ratio * A) + beta * mean(H).
        """
        if beta == 0.0:
            return (advantages * ratio).mean()
        entropy = distribution.entropy()
        entropy_t = -log_prob if entropy is None else entropy
        if self.maxent_mode == "one_step":
            advantages, _ = self._maxent_advantages(advantages, advantages, entropy_t, beta)
            return (advantages * ratio).mean()
        objective = (advantages * ratio).mean()
        return objective + beta * entropy_t.mean() if self.maxent_grad else objective

    def _critic_returns(self, beta: float) -> np.ndarray | None:
        """
        ``one_step``'s critic target R_t + beta * H(pi(.|s_t)) for every row of the buffer (flattened by the policy
        step), H detached and under the policy after its step, from one batched pass (the critic's updates leave
        the actor's parameters unchanged, so the pass serves all ``n_critic_updates`` epochs). None: the target is
        the buffer's R_t.
        """
        if self.maxent_mode != "one_step" or beta == 0.0:
            return None
        buffer = self.rollout_buffer
        entropy = self._entropy_pass(buffer.observations, buffer.actions)
        assert entropy is not None
        return buffer.returns + beta * entropy.reshape(buffer.returns.shape)

    def train(self) -> None:
        """
        Update policy using the currently gathered rollout buffer.

        COPY of ``sb3_contrib.TRPO.train`` (sb3-contrib 2.9.2). Changes, marked ``# MaxEnt``: the surrogate (before
        and during the line search) comes from :meth:`_surrogate`, the critic's target from :meth:`_critic_returns`
        (swapped into the buffer for the critic's epochs and back), and the logs add the maximum-entropy keys.
        """
        # Switch to train mode (this affects batch norm / dropout)
        self.policy.set_training_mode(True)
        # Update optimizer learning rate
        self._update_learning_rate(self.policy.optimizer)
        beta = self._current_maxent_coef()  # MaxEnt

        policy_objective_values = []
        kl_divergences = []
        line_search_results = []
        value_losses = []

        # This will only loop once (get all data in one go)
        for rollout_data in self.rollout_buffer.get(batch_size=None):
            # Optional: sub-sample data for faster computation
            if self.sub_sampling_factor > 1:
                rollout_data = RolloutBufferSamples(
                    rollout_data.observations[:: self.sub_sampling_factor],
                    rollout_data.actions[:: self.sub_sampling_factor],
                    None,  # type: ignore[arg-type]  # old values, not used here
                    rollout_data.old_log_prob[:: self.sub_sampling_factor],
                    rollout_data.advantages[:: self.sub_sampling_factor],
                    None,  # type: ignore[arg-type]  # returns, not used here
                )

            actions = rollout_data.actions
            if isinstance(self.action_space, spaces.Discrete):
                # Convert discrete action from float to long
                actions = rollout_data.actions.long().flatten()

            with th.no_grad():
                # Note: is copy enough, no need for deepcopy?
                # If using gSDE and deepcopy, we need to use `old_distribution.distribution`
                # directly to avoid PyTorch errors.
                old_distribution = copy.copy(self.policy.get_distribution(rollout_data.observations))

            distribution = self.policy.get_distribution(rollout_data.observations)
            log_prob = distribution.log_prob(actions)

            advantages = rollout_data.advantages
            if self.normalize_advantage:
                advantages = (advantages - advantages.mean()) / (rollout_data.advantages.std() + 1e-8)

            # ratio between old and new policy, should be one at the first iteration
            ratio = th.exp(log_prob - rollout_data.old_log_prob)

            # surrogate policy objective
            policy_objective = self._surrogate(advantages, ratio, distribution, log_prob, beta)  # MaxEnt

            # KL divergence
            kl_div = kl_divergence(distribution, old_distribution).mean()

            # Surrogate & KL gradient
            self.policy.optimizer.zero_grad()

            actor_params, policy_objective_gradients, grad_kl, grad_shape = self._compute_actor_grad(
                kl_div, policy_objective
            )

            # Hessian-vector dot product function used in the conjugate gradient step
            hessian_vector_product_fn = partial(self.hessian_vector_product, actor_params, grad_kl)

            # Computing search direction
            search_direction = conjugate_gradient_solver(
                hessian_vector_product_fn,
                policy_objective_gradients,
                max_iter=self.cg_max_steps,
            )

            # Maximal step length
            line_search_max_step_size = 2 * self.target_kl
            line_search_max_step_size /= float(
                th.matmul(search_direction, hessian_vector_product_fn(search_direction, retain_graph=False))
            )
            line_search_max_step_size = np.sqrt(line_search_max_step_size)

            line_search_backtrack_coeff = 1.0
            original_actor_params = [param.detach().clone() for param in actor_params]

            is_line_search_success = False
            with th.no_grad():
                # Line-search (backtracking)
                for _ in range(self.line_search_max_iter):
                    start_idx = 0
                    # Applying the scaled step direction
                    for param, original_param, shape in zip(
                        actor_params, original_actor_params, grad_shape, strict=True
                    ):
                        n_params = param.numel()
                        param.data = (
                            original_param.data
                            + line_search_backtrack_coeff
                            * line_search_max_step_size
                            * search_direction[start_idx : (start_idx + n_params)].view(shape)
                        )
                        start_idx += n_params

                    # Recomputing the policy log-probabilities
                    distribution = self.policy.get_distribution(rollout_data.observations)
                    log_prob = distribution.log_prob(actions)

                    # New policy objective
                    ratio = th.exp(log_prob - rollout_data.old_log_prob)
                    new_policy_objective = self._surrogate(advantages, ratio, distribution, log_prob, beta)  # MaxEnt

                    # New KL-divergence
                    kl_div = kl_divergence(distribution, old_distribution).mean()

                    # Constraint criteria:
                    # we need to improve the surrogate policy objective
                    # while being close enough (in term of kl div) to the old policy
                    if (kl_div < self.target_kl) and (new_policy_objective > policy_objective):
                        is_line_search_success = True
                        break

                    # Reducing step size if line-search wasn't successful
                    line_search_backtrack_coeff *= self.line_search_shrinking_factor

                line_search_results.append(is_line_search_success)

                if not is_line_search_success:
                    # If the line-search wasn't successful we revert to the original parameters
                    for param, original_param in zip(actor_params, original_actor_params, strict=True):
                        param.data = original_param.data.clone()

                    policy_objective_values.append(policy_objective.item())
                    kl_divergences.append(0.0)
                else:
                    policy_objective_values.append(new_policy_objective.item())
                    kl_divergences.append(kl_div.item())

        # MaxEnt: one_step's critic target R_t + beta * H_t, put in the buffer for the critic's epochs
        buffer_returns, critic_returns = self.rollout_buffer.returns, self._critic_returns(beta)
        if critic_returns is not None:
            self.rollout_buffer.returns = critic_returns

        # Critic update
        for _ in range(self.n_critic_updates):
            for rollout_data in self.rollout_buffer.get(self.batch_size):
                values_pred = self.policy.predict_values(rollout_data.observations)
                value_loss = F.mse_loss(rollout_data.returns, values_pred.flatten())
                value_losses.append(value_loss.item())

                self.policy.optimizer.zero_grad()
                value_loss.backward()
                # Removing gradients of parameters shared with the actor
                # otherwise it defeats the purposes of the KL constraint
                for param in actor_params:
                    param.grad = None
                self.policy.optimizer.step()

        self.rollout_buffer.returns = buffer_returns  # MaxEnt: the logged explained variance is TRPO's
        self._n_updates += 1
        explained_var = explained_variance(self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten())

        # Logs
        self.logger.record("train/policy_objective", np.mean(policy_objective_values))
        self.logger.record("train/value_loss", np.mean(value_losses))
        self.logger.record("train/kl_divergence_loss", np.mean(kl_divergences))
        self.logger.record("train/explained_variance", explained_var)
        self.logger.record("train/is_line_search_success", np.mean(line_search_results))
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        # MaxEnt: beta and the mean bonus (one_step: beta * mean H of the rollout's states under pi_old)
        self._record_maxent(beta, self._last_rollout_entropy)

    def learn(
        self: SelfMaxEntTRPO,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        tb_log_name: str = "MaxEntTRPO",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfMaxEntTRPO:
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )
