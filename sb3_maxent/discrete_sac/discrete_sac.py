"""Soft Actor-Critic for Discrete action spaces (SAC-discrete) on SB3's off-policy machinery."""

from __future__ import annotations

import math
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import maybe_make_env
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, ReplayBufferSamples, Schedule
from stable_baselines3.common.utils import get_parameters_by_name, polyak_update
from torch.nn import functional as F

from sb3_maxent.common.save_util import CheckedLoad
from sb3_maxent.common.schedules import check_coefficient
from sb3_maxent.common.soft_math import (
    auto_initial_value,
    entropy_from_log_policy,
    policy_soft_value,
    target_entropy_from_spec,
)
from sb3_maxent.discrete_sac.policies import (
    CategoricalActor,
    CnnPolicy,
    DiscreteCritic,
    DiscreteSACPolicy,
    ImpalaCnnPolicy,
    MlpPolicy,
    MultiInputPolicy,
)

SelfDiscreteSAC = TypeVar("SelfDiscreteSAC", bound="DiscreteSAC")

#: ``target_entropy="auto"`` is this fraction of ``log|A|``, the uniform policy's entropy: CleanRL's sac_atari value
#: (the SAC-discrete paper uses 0.98), kept after a sweep (benchmarks/discrete_sac_target_entropy.py): the only ratio
#: measured to solve both zoo tasks (CartPole-v1 and GridWorld-v0, 3 seeds each), while 0.5 failed GridWorld seed 0
#: at its budget. On two actions it lets alpha climb (~4.8e3 on CartPole, where 0.5 kept it within 0.06-0.38); see
#: docs/algos/discrete_sac.md, "Target entropy".
AUTO_TARGET_ENTROPY_RATIO = 0.89
#: Initial value of ``ent_coef="auto"`` (SB3's SAC and CleanRL's sac_atari start at 1)
DEFAULT_AUTO_ENT_COEF = 1.0
#: Range of a learned entropy coefficient: ``log_ent_coef`` is clamped to [log MIN, log MAX] after each step, so
#: that a target entropy the policy cannot reach (e.g. when a state has a single sensible action) lets alpha
#: settle at a bound instead of drifting until exp() underflows or overflows.
MIN_LEARNED_ENT_COEF = 1e-8
MAX_LEARNED_ENT_COEF = 1e4
_LOG_ENT_COEF_RANGE = (math.log(MIN_LEARNED_ENT_COEF), math.log(MAX_LEARNED_ENT_COEF))


class DiscreteSAC(CheckedLoad, OffPolicyAlgorithm):
    """
    Soft Actor-Critic for Discrete actions (SAC-discrete).

    Paper: "Soft Actor-Critic for Discrete Action Settings" (Christodoulou, 2019, https://arxiv.org/abs/1910.07207),
    on SAC (Haarnoja et al., 2018, https://arxiv.org/abs/1801.01290); see ``docs/algos/discrete_sac.md``.
    A categorical actor pi(.|s) and ``n_critics`` (2) critics that output Q(s, .) for every action. All
    expectations over actions are exact sums under pi, never samples::

        critic target  y = r + gamma^n (1 - done) sum_a' pi(a'|s') [min_i Q_target_i(s', a') - alpha log pi(a'|s')]
        actor loss     E_s sum_a pi(a|s) [alpha log pi(a|s) - min_i Q_i(s, a)]
        alpha loss     E_s log(alpha) [H(pi(.|s)) - target_entropy]

    (alpha falls while the policy is more random than the target, rises while it is greedier).

    ``ent_coef`` (alpha, the temperature) is a float >= 0 or ``"auto"`` / ``"auto_<initial>"`` (learned, starting
    at :data:`DEFAULT_AUTO_ENT_COEF` or at ``initial``), as in SB3's SAC. ``target_entropy`` is a float in nats,
    ``"auto"`` (:data:`AUTO_TARGET_ENTROPY_RATIO` * ``log|A|``) or ``"auto_<ratio>"`` (``ratio * log|A|``,
    0 < ratio < 1).
    ``predict(obs, deterministic=True)`` is the most probable action, ``deterministic=False`` a sample of pi.

    Loading a file saved by another algorithm raises a ``ValueError`` that names both
    (:class:`sb3_maxent.common.save_util.CheckedLoad`).

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, MultiInputPolicy, ImpalaCnnPolicy or a
        :class:`~sb3_maxent.discrete_sac.policies.DiscreteSACPolicy` subclass)
    :param env: The environment to learn from (if registered in Gym, can be str); its action space must be Discrete
    :param learning_rate: learning rate for adam optimizer, the same one is used for all networks (actor, critics
        and entropy coefficient); it can be a function of the current progress remaining (from 1 to 0)
    :param buffer_size: size of the replay buffer
    :param learning_starts: how many steps of the model to collect transitions for before learning starts
        (uniformly random actions until then)
    :param batch_size: Minibatch size for each gradient update
    :param tau: the soft update coefficient ("Polyak update", between 0 and 1); 1 is a hard copy
    :param gamma: the discount factor
    :param train_freq: Update the model every ``train_freq`` steps. Alternatively pass a tuple of frequency and
        unit like ``(5, "step")`` or ``(2, "episode")``.
    :param gradient_steps: How many gradient steps to do after each rollout (see ``train_freq``).
        Set to ``-1`` means to do as many gradient steps as steps done in the environment during the rollout.
    :param replay_buffer_class: Replay buffer class to use (for instance ``HerReplayBuffer``).
        If ``None``, it will be automatically selected.
    :param replay_buffer_kwargs: Keyword arguments to pass to the replay buffer on creation.
    :param optimize_memory_usage: Enable a memory efficient variant of the replay buffer at a cost of more complexity.
    :param n_steps: When n_step > 1, uses n-step return (with the NStepReplayBuffer) when updating the Q-value
        network; the soft value of the n-th next state is discounted by gamma^n (the entropy of the intermediate
        steps is not added, as in SB3's SAC).
    :param ent_coef: Entropy coefficient alpha (the temperature of the maximum-entropy objective): a float >= 0, or
        ``"auto"`` / ``"auto_<initial>"`` to learn it toward ``target_entropy``
    :param target_update_interval: update the target critics every ``target_update_interval`` gradient steps,
        counted over the whole training (SB3's SAC counts within each ``train()`` call, which with an interval
        larger than ``gradient_steps`` updates at every call); use ``tau=1`` with an interval of a few thousand
        for the hard copies of the SAC-discrete paper and CleanRL
    :param target_entropy: target entropy of a learned ``ent_coef``: a float in nats in (0, ``log|A|``), ``"auto"``
        or ``"auto_<ratio>"`` (see above)
    :param stats_window_size: Window size for the rollout logging, specifying the number of episodes to average
        the reported success rate, mean episode length, and mean reward over
    :param tensorboard_log: the log location for tensorboard (if None, no logging)
    :param policy_kwargs: additional arguments to be passed to the policy on creation (``net_arch``, ``n_critics``,
        ``share_features_extractor``, ``actor_trains_features_extractor``, ...)
    :param verbose: Verbosity level: 0 for no output, 1 for info messages (such as device or wrappers used), 2 for
        debug messages
    :param seed: Seed for the pseudo random generators
    :param device: Device (cpu, cuda, ...) on which the code should be run.
        Setting it to auto, the code will be run on the GPU if possible.
    :param _init_setup_model: Whether or not to build the network at the creation of the instance
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
        "ImpalaCnnPolicy": ImpalaCnnPolicy,
    }
    policy: DiscreteSACPolicy
    actor: CategoricalActor
    critic: DiscreteCritic
    critic_target: DiscreteCritic
    # Built in `_setup_model()`: the learned log(alpha) and its optimizer, or a fixed alpha
    log_ent_coef: th.Tensor | None
    ent_coef_optimizer: th.optim.Optimizer | None
    ent_coef_tensor: th.Tensor

    def __init__(
        self,
        policy: str | type[DiscreteSACPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 3e-4,
        buffer_size: int = 1_000_000,
        learning_starts: int = 100,
        batch_size: int = 256,
        tau: float = 0.005,
        gamma: float = 0.99,
        train_freq: int | tuple[int, str] = 1,
        gradient_steps: int = 1,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        optimize_memory_usage: bool = False,
        n_steps: int = 1,
        ent_coef: str | float = "auto",
        target_update_interval: int = 1,
        target_entropy: str | float = "auto",
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        # Validate our own arguments before anything is built, so that bad input fails fast.
        learned = self._check_arguments(ent_coef, target_entropy, tau, target_update_interval)
        if env is not None:
            # Same creation as SB3 (BaseAlgorithm calls it again, a no-op on an env), so that the action space
            # can be checked with a ValueError before SB3's assertion.
            env = maybe_make_env(env, verbose)
            assert env is not None
            if not isinstance(env.action_space, spaces.Discrete):
                raise ValueError(
                    f"DiscreteSAC needs a Discrete action space (env.action_space), got {env.action_space}; "
                    "valid: gymnasium.spaces.Discrete. For Box actions use SAC (from sb3_maxent import SAC)."
                )
            if learned:
                target_entropy_from_spec(target_entropy, int(env.action_space.n), AUTO_TARGET_ENTROPY_RATIO)
        super().__init__(
            policy,
            env,
            learning_rate,
            buffer_size,
            learning_starts,
            batch_size,
            tau,
            gamma,
            train_freq,
            gradient_steps,
            action_noise=None,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            optimize_memory_usage=optimize_memory_usage,
            n_steps=n_steps,
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            seed=seed,
            sde_support=False,
            supported_action_spaces=(spaces.Discrete,),
            support_multi_env=True,
        )
        self.ent_coef = ent_coef
        self.target_entropy = target_entropy
        self.target_update_interval = int(target_update_interval)
        if _init_setup_model:
            self._setup_model()

    @staticmethod
    def _check_arguments(
        ent_coef: str | float, target_entropy: str | float, tau: float, target_update_interval: int
    ) -> bool:
        """
        Raise a ValueError naming the parameter for any invalid setting (target entropy: its form only).

        :return: whether ``ent_coef`` is learned
        """
        if isinstance(ent_coef, (bool, np.bool_)):
            raise ValueError(f"ent_coef must be a float >= 0, 'auto' or 'auto_<initial>', got {ent_coef!r}")
        learned = (
            auto_initial_value("ent_coef", ent_coef, DEFAULT_AUTO_ENT_COEF, MIN_LEARNED_ENT_COEF, MAX_LEARNED_ENT_COEF)
            is not None
        )
        if not learned:
            assert not isinstance(ent_coef, str)  # a string is 'auto...' or refused by auto_initial_value
            check_coefficient("ent_coef", ent_coef, valid="a finite float >= 0, 'auto' or 'auto_<initial>'")
            if target_entropy != "auto":
                raise ValueError(
                    f"target_entropy={target_entropy!r} is only used with a learned ent_coef ('auto' or "
                    "'auto_<initial>'); leave it at 'auto' otherwise"
                )
        target_entropy_from_spec(target_entropy, None, AUTO_TARGET_ENTROPY_RATIO)
        tau = check_coefficient("tau", tau, allow_zero=False, valid="a float in (0, 1]")
        if tau > 1:
            raise ValueError(f"tau must be a float in (0, 1], got {tau!r}")
        if isinstance(target_update_interval, bool) or not (
            isinstance(target_update_interval, (int, np.integer)) and target_update_interval >= 1
        ):
            raise ValueError(f"target_update_interval must be an int >= 1, got {target_update_interval!r}")
        return learned

    def _setup_model(self) -> None:
        super()._setup_model()
        assert isinstance(self.action_space, spaces.Discrete)
        self._create_aliases()
        # Running statistics of batch norm (if any) are copied to the targets, not averaged (SB3 GH issue #996)
        self.batch_norm_stats = get_parameters_by_name(self.critic, ["running_"])
        self.batch_norm_stats_target = get_parameters_by_name(self.critic_target, ["running_"])
        self.log_ent_coef = None
        self.ent_coef_optimizer = None
        initial = auto_initial_value(
            "ent_coef", self.ent_coef, DEFAULT_AUTO_ENT_COEF, MIN_LEARNED_ENT_COEF, MAX_LEARNED_ENT_COEF
        )
        if initial is not None:
            self.target_entropy = target_entropy_from_spec(
                self.target_entropy, int(self.action_space.n), AUTO_TARGET_ENTROPY_RATIO
            )
            # Learn log(alpha) (always > 0 once exponentiated), as SB3's SAC
            self.log_ent_coef = th.log(th.ones(1, device=self.device) * initial).requires_grad_(True)
            self.ent_coef_optimizer = th.optim.Adam([self.log_ent_coef], lr=self.lr_schedule(1))
        else:
            self.ent_coef_tensor = th.tensor(float(self.ent_coef), device=self.device)

    def _create_aliases(self) -> None:
        self.actor = self.policy.actor
        self.critic = self.policy.critic
        self.critic_target = self.policy.critic_target

    def _current_ent_coef(self) -> th.Tensor:
        """alpha, detached: the learned exp(log_ent_coef) or the fixed value, shape (1,) or ()."""
        if self.log_ent_coef is not None:
            return self.log_ent_coef.detach().exp()
        return self.ent_coef_tensor

    def _losses(
        self, replay_data: ReplayBufferSamples, ent_coef: th.Tensor
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor | None, th.Tensor, th.Tensor]:
        """
        The critic target and the three losses of one replay batch (no optimizer step).

        :return: target y (batch, 1) without gradient; critic loss; actor loss and log pi(.|s) (batch, n_actions),
            with gradient in the actor (the actor loss uses the critics of the moment, detached); the entropy
            coefficient loss (None for a fixed alpha); the policy entropy (batch,), detached
        """
        discounts = replay_data.discounts if replay_data.discounts is not None else self.gamma
        with th.no_grad():
            # log pi(.|s'): (batch, n_actions); min_i Q_target_i(s', .): (batch, n_actions)
            next_log_pi = self.actor.log_probs(replay_data.next_observations)
            next_q = th.min(th.stack(self.critic_target(replay_data.next_observations)), dim=0).values
            # V(s') = sum_a' pi(a'|s') [Q(s', a') - alpha log pi(a'|s')], exact over the actions: (batch, 1)
            next_values = policy_soft_value(next_q, next_log_pi, ent_coef)
            # y = r + gamma^n (1 - done) V(s'): (batch, 1)
            target_q_values = replay_data.rewards + (1 - replay_data.dones) * discounts * next_values

        # Q_i(s, a) of the stored actions, each (batch, 1); 0.5 * sum_i MSE, as SB3's SAC
        actions = replay_data.actions.long()
        current_q_values = [th.gather(q, dim=1, index=actions) for q in self.critic(replay_data.observations)]
        critic_loss = 0.5 * sum(F.mse_loss(current_q, target_q_values) for current_q in current_q_values)
        assert isinstance(critic_loss, th.Tensor)

        # Actor: E_s sum_a pi(a|s) [alpha log pi(a|s) - min_i Q_i(s, a)] = -E_s V_pi(s), critics detached
        log_pi = self.actor.log_probs(replay_data.observations)
        with th.no_grad():
            min_q = th.min(th.stack(self.critic(replay_data.observations)), dim=0).values
        actor_loss = -policy_soft_value(min_q, log_pi, ent_coef).mean()

        # H(pi(.|s)) exactly, 0 log 0 = 0: (batch,)
        entropy = entropy_from_log_policy(log_pi.detach())
        ent_coef_loss = None
        if self.log_ent_coef is not None:
            # d/d log(alpha) = mean(H - target): alpha falls while H > target (SB3's SAC with E[-log pi] = H exact)
            ent_coef_loss = (self.log_ent_coef * (entropy - float(self.target_entropy))).mean()
        return target_q_values, critic_loss, actor_loss, ent_coef_loss, log_pi, entropy

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        # Switch to train mode (this affects batch norm / dropout)
        self.policy.set_training_mode(True)
        # Update optimizers learning rate
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers.append(self.ent_coef_optimizer)
        self._update_learning_rate(optimizers)

        ent_coef_losses, ent_coefs, entropies = [], [], []
        actor_losses, critic_losses = [], []
        for _ in range(gradient_steps):
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            # alpha of this step (before its own update), used in the target and in the actor loss
            ent_coef = self._current_ent_coef()
            ent_coefs.append(ent_coef.item())

            # Both losses are built before any step (the actor reads the critics of the moment, detached), then
            # both gradients computed, then both optimizers step: a shared features extractor gets the critics'
            # gradient, plus the actor's with actor_trains_features_extractor, and is stepped once, by the critics'
            # optimizer, which holds it.
            _, critic_loss, actor_loss, ent_coef_loss, _, entropy = self._losses(replay_data, ent_coef)
            critic_losses.append(critic_loss.item())
            actor_losses.append(actor_loss.item())
            entropies.append(entropy.mean().item())

            self.critic.optimizer.zero_grad()
            self.actor.optimizer.zero_grad()
            critic_loss.backward()
            actor_loss.backward()
            self.critic.optimizer.step()
            self.actor.optimizer.step()

            if ent_coef_loss is not None:
                assert self.ent_coef_optimizer is not None
                assert self.log_ent_coef is not None
                self.ent_coef_optimizer.zero_grad()
                ent_coef_loss.backward()
                self.ent_coef_optimizer.step()
                with th.no_grad():
                    self.log_ent_coef.clamp_(*_LOG_ENT_COEF_RANGE)
                ent_coef_losses.append(ent_coef_loss.item())

            self._n_updates += 1
            # Counted over the whole training, not within this call (see target_update_interval)
            if self._n_updates % self.target_update_interval == 0:
                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/ent_coef", np.mean(ent_coefs))
        self.logger.record("train/actor_loss", np.mean(actor_losses))
        self.logger.record("train/critic_loss", np.mean(critic_losses))
        self.logger.record("train/entropy", np.mean(entropies))
        if ent_coef_losses:
            self.logger.record("train/ent_coef_loss", np.mean(ent_coef_losses))

    def learn(
        self: SelfDiscreteSAC,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "DiscreteSAC",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfDiscreteSAC:
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "actor", "critic", "critic_target"]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts = ["policy", "actor.optimizer", "critic.optimizer"]
        if self.ent_coef_optimizer is not None:
            # The learned log(alpha) and its Adam state, as SB3's SAC
            return [*state_dicts, "ent_coef_optimizer"], ["log_ent_coef"]
        return state_dicts, ["ent_coef_tensor"]
