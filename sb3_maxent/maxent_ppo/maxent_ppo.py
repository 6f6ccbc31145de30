"""Maximum-entropy PPO: PPO whose advantages (and returns) carry the policy entropy."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import (
    ActorCriticCnnPolicy,
    ActorCriticPolicy,
    BasePolicy,
    MultiInputActorCriticPolicy,
)
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, PyTorchObs
from stable_baselines3.common.utils import explained_variance, obs_as_tensor
from stable_baselines3.common.vec_env import VecEnv
from torch.nn import functional as F

from sb3_maxent.common.save_util import CheckedLoad
from sb3_maxent.common.schedules import Schedule, check_coefficient, to_schedule
from sb3_maxent.common.torch_layers import ImpalaCnnPolicy

SelfMaxEntPPO = TypeVar("SelfMaxEntPPO", bound="MaxEntPPO")

MaxEntMode = Literal["one_step", "soft_return"]
MAXENT_MODES: tuple[str, ...] = ("one_step", "soft_return")


class MaxEntPPO(CheckedLoad, PPO):
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
        CartPole-v1 and Pendulum-v1 in both modes (``benchmarks/beta_sweep.py``).
    :param maxent_mode: ``"one_step"`` (the paper's approximation) or ``"soft_return"`` (exact objective)
    :param maxent_grad: ``one_step``: let the gradient flow through H_t inside the advantage (the paper);
        False detaches it. ``soft_return``: keep the exact beta * grad H term; False keeps only the
        detached reward bonus (Sample Factory's ``max_entropy_coeff``, garage's ``entropy_method='max'``).
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
        maxent_coef: float | Schedule = 0.01,
        maxent_mode: MaxEntMode = "one_step",
        maxent_grad: bool = True,
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
        # Validate our own arguments before anything is built, so that bad input fails fast.
        if maxent_mode not in MAXENT_MODES:
            raise ValueError(f"maxent_mode must be one of {MAXENT_MODES}, got {maxent_mode!r}")
        if not isinstance(maxent_grad, (bool, np.bool_)):
            raise ValueError(f"maxent_grad must be True or False, got {maxent_grad!r}")
        to_schedule("maxent_coef", maxent_coef)
        check_coefficient("ent_coef", ent_coef)

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
        self.maxent_coef: float | Schedule = maxent_coef
        self.maxent_mode: MaxEntMode = maxent_mode
        self.maxent_grad = bool(maxent_grad)

        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        super()._setup_model()
        # Kept as a schedule of progress_remaining (saved with the model, continues after
        # learn(..., reset_num_timesteps=False) like SB3's learning-rate schedule).
        self.maxent_coef = to_schedule("maxent_coef", self.maxent_coef)

    def _current_maxent_coef(self) -> float:
        """beta at the current progress; a schedule that turns negative or non-finite is an error."""
        assert callable(self.maxent_coef)
        return check_coefficient(
            f"maxent_coef (schedule value at progress_remaining={self._current_progress_remaining:.4f})",
            self.maxent_coef(self._current_progress_remaining),
        )

    def _forward_with_entropy(self, obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor]:
        """
        ``self.policy(obs)`` plus the entropy of pi(.|obs) from the same forward pass.

        The body is SB3's ``ActorCriticPolicy.forward`` (same operations in the same order, so actions,
        values and log-probabilities are bit-identical to PPO's), keeping the distribution to read its
        entropy. A policy that overrides ``forward`` is called as is and the distribution is recomputed.
        Where the distribution has no closed-form entropy (squashed gSDE) the single-sample
        estimate -log pi(a_t|s_t) is used.
        """
        policy = self.policy
        if type(policy).forward is ActorCriticPolicy.forward:
            features = policy.extract_features(obs)
            if policy.share_features_extractor:
                latent_pi, latent_vf = policy.mlp_extractor(features)
            else:
                pi_features, vf_features = features
                latent_pi = policy.mlp_extractor.forward_actor(pi_features)
                latent_vf = policy.mlp_extractor.forward_critic(vf_features)
            values = policy.value_net(latent_vf)
            distribution = policy._get_action_dist_from_latent(latent_pi)
            actions = distribution.get_actions(deterministic=False)
            log_prob = distribution.log_prob(actions)
            actions = actions.reshape((-1, *self.action_space.shape))  # type: ignore[misc]
        else:
            actions, values, log_prob = policy(obs)
            distribution = policy.get_distribution(obs)
        entropy = distribution.entropy()
        if entropy is None:
            entropy = -log_prob
        return actions, values, log_prob, entropy

    def collect_rollouts(
        self,
        env: VecEnv,
        callback: BaseCallback,
        rollout_buffer: RolloutBuffer,
        n_rollout_steps: int,
    ) -> bool:
        """
        SB3's rollout collection, plus the policy entropy H(pi_old(.|s_t)) at every step.

        In ``soft_return`` mode beta * H(pi_old(.|s_t)) is added to r_t before it enters the buffer, so
        GAE and the value targets are those of the entropy-augmented (soft) return. Truncated episodes
        keep SB3's bootstrap r_t += gamma * V(s_T), where V is then the soft value.
        """
        assert self._last_obs is not None, "No previous observation was provided"
        self.policy.set_training_mode(False)

        n_steps = 0
        rollout_buffer.reset()
        if self.use_sde:
            self.policy.reset_noise(env.num_envs)

        beta = self._current_maxent_coef()
        add_bonus = self.maxent_mode == "soft_return" and beta > 0.0
        # H(pi_old(.|s_t)) of every step, kept on the device until the rollout ends (no per-step copy)
        entropies = th.zeros((n_rollout_steps, env.num_envs), device=self.device)

        callback.on_rollout_start()

        while n_steps < n_rollout_steps:
            if self.use_sde and self.sde_sample_freq > 0 and n_steps % self.sde_sample_freq == 0:
                self.policy.reset_noise(env.num_envs)

            with th.no_grad():
                obs_tensor = obs_as_tensor(self._last_obs, self.device)  # type: ignore[arg-type]
                actions_th, values, log_probs, entropy_th = self._forward_with_entropy(obs_tensor)
            actions = actions_th.cpu().numpy()
            entropies[n_steps] = entropy_th

            clipped_actions = actions
            if isinstance(self.action_space, spaces.Box):
                if self.policy.squash_output:
                    clipped_actions = self.policy.unscale_action(clipped_actions)
                else:
                    clipped_actions = np.clip(actions, self.action_space.low, self.action_space.high)

            new_obs, rewards, dones, infos = env.step(clipped_actions)

            self.num_timesteps += env.num_envs

            callback.update_locals(locals())
            if not callback.on_step():
                return False

            self._update_info_buffer(infos, dones)
            n_steps += 1

            if isinstance(self.action_space, spaces.Discrete):
                actions = actions.reshape(-1, 1)

            # Timeouts: bootstrap with the value function (SB3 issue #633). In soft_return mode the
            # critic estimates the soft value, so this is the soft bootstrap.
            for idx, done in enumerate(dones):
                if (
                    done
                    and infos[idx].get("terminal_observation") is not None
                    and infos[idx].get("TimeLimit.truncated", False)
                ):
                    terminal_obs = self.policy.obs_to_tensor(infos[idx]["terminal_observation"])[0]
                    with th.no_grad():
                        terminal_value = self.policy.predict_values(terminal_obs)[0]
                    rewards[idx] += self.gamma * terminal_value

            rollout_buffer.add(
                self._last_obs,  # type: ignore[arg-type]
                actions,
                rewards,
                self._last_episode_starts,  # type: ignore[arg-type]
                values,
                log_probs,
            )
            self._last_obs = new_obs  # type: ignore[assignment]
            self._last_episode_starts = dones

        with th.no_grad():
            values = self.policy.predict_values(obs_as_tensor(new_obs, self.device))  # type: ignore[arg-type]

        entropy = entropies.cpu().numpy()
        if add_bonus:
            # r_t <- r_t + beta * H(pi_old(.|s_t)): the entropy of the state where a_t was taken, added
            # to the stored rewards (which already hold the timeout bootstrap) before GAE runs over them.
            rollout_buffer.rewards += beta * entropy
        rollout_buffer.compute_returns_and_advantage(last_values=values, dones=dones)

        mean_entropy = float(entropy.mean(dtype=np.float64))
        self.logger.record("rollout/policy_entropy", mean_entropy)
        if self.maxent_mode == "soft_return":
            self._rollout_maxent_bonus = beta * mean_entropy

        callback.update_locals(locals())
        callback.on_rollout_end()

        return True

    def train(self) -> None:
        """
        Update policy using the currently gathered rollout buffer (PPO's update with the entropy terms).
        """
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        clip_range = self.clip_range(self._current_progress_remaining)  # type: ignore[operator]
        if self.clip_range_vf is not None:
            clip_range_vf = self.clip_range_vf(self._current_progress_remaining)  # type: ignore[operator]
        beta = self._current_maxent_coef()
        one_step = self.maxent_mode == "one_step" and beta > 0.0
        soft_grad = self.maxent_mode == "soft_return" and beta > 0.0 and self.maxent_grad
        entropy_coef = self.ent_coef + beta if soft_grad else self.ent_coef

        entropy_losses: list[float] = []
        pg_losses: list[float] = []
        value_losses: list[float] = []
        clip_fractions: list[float] = []
        entropies: list[float] = []
        approx_kl_divs: list[np.ndarray] = []

        continue_training = True
        for epoch in range(self.n_epochs):
            approx_kl_divs = []
            for rollout_data in self.rollout_buffer.get(self.batch_size):
                actions = rollout_data.actions
                if isinstance(self.action_space, spaces.Discrete):
                    actions = rollout_data.actions.long().flatten()

                # values, log_prob, entropy: (batch,); entropy is None without a closed form
                values, log_prob, entropy = self.policy.evaluate_actions(rollout_data.observations, actions)
                values = values.flatten()
                advantages = rollout_data.advantages
                if self.normalize_advantage and len(advantages) > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

                # H_t = H(pi_theta(.|s_t)) under the current parameters; single-sample estimate otherwise
                entropy_t = -log_prob if entropy is None else entropy
                returns = rollout_data.returns
                if one_step:
                    # Paper, one-step approximation: A_t(beta) = A_t + beta * H_t (gradient through H_t
                    # unless maxent_grad=False), R_t(beta) = R_t + beta * H_t (a detached value target).
                    bonus = beta * entropy_t
                    advantages = advantages + (bonus if self.maxent_grad else bonus.detach())
                    returns = returns + bonus.detach()

                ratio = th.exp(log_prob - rollout_data.old_log_prob)

                # clipped surrogate loss (L^CLIP with the entropy-augmented advantage)
                policy_loss_1 = advantages * ratio
                policy_loss_2 = advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)
                policy_loss = -th.min(policy_loss_1, policy_loss_2).mean()

                pg_losses.append(policy_loss.item())
                clip_fraction = th.mean((th.abs(ratio - 1) > clip_range).float()).item()
                clip_fractions.append(clip_fraction)

                if self.clip_range_vf is None:
                    values_pred = values
                else:
                    values_pred = rollout_data.old_values + th.clamp(
                        values - rollout_data.old_values, -clip_range_vf, clip_range_vf
                    )
                value_loss = F.mse_loss(returns, values_pred)
                value_losses.append(value_loss.item())

                # SB3's entropy regulariser (ent_coef), unchanged
                entropy_loss = -th.mean(entropy_t)
                entropy_losses.append(entropy_loss.item())
                entropies.append(-entropy_losses[-1])

                # soft_return's exact objective adds beta * grad H(pi_theta(.|s_t)) at every visited state
                # to the policy gradient of the soft rewards: the same term as ent_coef's, so the two
                # coefficients are summed (one multiply, no extra graph nodes).
                loss = policy_loss + entropy_coef * entropy_loss + self.vf_coef * value_loss

                with th.no_grad():
                    log_ratio = log_prob - rollout_data.old_log_prob
                    approx_kl_div = th.mean((th.exp(log_ratio) - 1) - log_ratio).cpu().numpy()
                    approx_kl_divs.append(approx_kl_div)

                if self.target_kl is not None and approx_kl_div > 1.5 * self.target_kl:
                    continue_training = False
                    if self.verbose >= 1:
                        print(f"Early stopping at step {epoch} due to reaching max kl: {approx_kl_div:.2f}")
                    break

                self.policy.optimizer.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()

            self._n_updates += 1
            if not continue_training:
                break

        explained_var = explained_variance(self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten())

        self.logger.record("train/entropy_loss", np.mean(entropy_losses))
        self.logger.record("train/entropy", np.mean(entropies))
        self.logger.record("train/policy_gradient_loss", np.mean(pg_losses))
        self.logger.record("train/value_loss", np.mean(value_losses))
        self.logger.record("train/approx_kl", np.mean(approx_kl_divs))
        self.logger.record("train/clip_fraction", np.mean(clip_fractions))
        self.logger.record("train/loss", loss.item())
        self.logger.record("train/explained_variance", explained_var)
        self.logger.record("train/maxent_coef", beta)
        if self.maxent_mode == "one_step":
            # mean of beta * H_t over the minibatches: beta times the logged train/entropy
            self.logger.record("train/maxent_bonus", beta * float(np.mean(entropies)) if one_step else 0.0)
        else:
            self.logger.record("train/maxent_bonus", getattr(self, "_rollout_maxent_bonus", 0.0))
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/clip_range", clip_range)
        if self.clip_range_vf is not None:
            self.logger.record("train/clip_range_vf", clip_range_vf)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_rollout_maxent_bonus"]

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
