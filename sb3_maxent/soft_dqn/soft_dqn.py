"""Soft Q-learning on top of SB3's DQN: log-sum-exp Bellman target and Boltzmann exploration."""

from __future__ import annotations

import math
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import DQN
from stable_baselines3.common.base_class import maybe_make_env
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, PyTorchObs, ReplayBufferSamples
from stable_baselines3.common.utils import ConstantSchedule, LinearSchedule, polyak_update
from stable_baselines3.dqn.policies import CnnPolicy, DQNPolicy, MlpPolicy, MultiInputPolicy
from torch.nn import functional as F

from sb3_maxent.common.save_util import CheckedLoad
from sb3_maxent.common.schedules import Schedule, check_coefficient
from sb3_maxent.common.soft_math import (
    FLOAT64_TINY,
    auto_initial_value,
    boltzmann_log_policy,
    boltzmann_log_policy_numpy,
    computable_temperature,
    entropy_from_log_policy,
    entropy_from_log_policy_numpy,
    policy_soft_value,
    soft_value,
    target_entropy_from_spec,
)
from sb3_maxent.common.torch_layers import ImpalaCnnQPolicy

SelfSoftDQN = TypeVar("SelfSoftDQN", bound="SoftDQN")

#: Default temperature (no temperature argument): annealed linearly, as DQN anneals epsilon, from
#: ``DEFAULT_TEMPERATURE_INITIAL`` to ``DEFAULT_TEMPERATURE_FINAL`` over the first ``DEFAULT_TEMPERATURE_FRACTION``
#: of training. Each of ``temperature_initial``, ``temperature_final`` and ``temperature_fraction`` overrides its
#: own default, like DQN's ``exploration_initial_eps``, ``exploration_final_eps`` and ``exploration_fraction``.
#: Chosen from measurements against DQN's defaults (docs/algos/soft_dqn.md, "Default temperature"); the final
#: value is the Munchausen-DQN paper's temperature, the former constant default.
DEFAULT_TEMPERATURE_INITIAL = 1.0
DEFAULT_TEMPERATURE_FINAL = 0.03
#: DQN's ``exploration_fraction`` default
DEFAULT_TEMPERATURE_FRACTION = 0.1
#: Initial value of ``temperature="auto"``. Not SAC's 1.0: soft Q-learning has no separate actor, so the
#: temperature enters every Q-value (about tau * log|A| / (1 - gamma) of entropy bonus), and an inflated start
#: must be unlearned at the target network's pace; at 1.0 the GridWorld agent still avoided its goal after
#: 3e4 steps (docs/algos/soft_dqn.md, "Learned temperature"). ``"auto_<x>"`` starts at x.
DEFAULT_AUTO_TEMPERATURE = 0.1
#: ``target_entropy="auto"`` is this fraction of the uniform policy's entropy log|A| (``"auto_<ratio>"`` sets
#: another). SAC-discrete uses 0.98 and CleanRL's discrete SAC 0.89, for an actor beside the critic; here the
#: Boltzmann policy of Q is the policy, and on GridWorld 0.98 failed a seed where 0.3-0.89 all succeeded
#: (docs/algos/soft_dqn.md, "Learned temperature").
AUTO_TARGET_ENTROPY_RATIO = 0.5
#: Largest accepted temperature, fixed or scheduled, and upper end of a learned one: the Boltzmann policy of
#: Q-values up to 1e6 apart is then within 1% of uniform, so larger values change nothing but the soft value's
#: tau * log|A| term, which would overflow float32 eventually.
MAX_TEMPERATURE = 1e8
#: Lower end of a learned temperature (``log_temperature`` is clamped to [log MIN, log MAX] after each step):
#: below it float32 Q-values of order 1 are already greedy (relative spacing 6e-8), and a log-temperature
#: driven lower (e.g. by exact Q ties, whose entropy log|A| stays above any target) would take ever longer
#: to come back, then underflow exp() to 0.
MIN_LEARNED_TEMPERATURE = 1e-8
_LOG_TEMPERATURE_RANGE = (math.log(MIN_LEARNED_TEMPERATURE), math.log(MAX_TEMPERATURE))

# The soft math lives in sb3_maxent.common.soft_math (shared with DiscreteSAC and the solver); its names stay
# importable from here, where SoftDQN's users found them.
_FLOAT64_TINY = FLOAT64_TINY


def double_soft_value(
    q_values_online: th.Tensor, q_values_target: th.Tensor, temperature: float | th.Tensor
) -> th.Tensor:
    """
    Double soft value: the Boltzmann policy of the online network, evaluated with the target network,

    V(s) = sum_a pi_online(a|s) [Q_target(s, a) - tau log pi_online(a|s)]
         = E_{a ~ pi_online}[Q_target(s, a)] + tau H(pi_online(.|s)),   pi_online = softmax(Q_online(s, .) / tau).

    It equals :func:`soft_value` of ``q_values_target`` when both networks agree (the soft value is the
    maximum of E_pi[Q] + tau H(pi) over pi, reached at softmax(Q / tau)) and tends to Double DQN's
    Q_target(s, argmax_a Q_online(s, a)) as tau -> 0.

    :param q_values_online: Q_online(s, .), shape (batch, n_actions)
    :param q_values_target: Q_target(s, .), shape (batch, n_actions)
    :param temperature: tau > 0
    :return: V(s), shape (batch, 1)
    """
    temperature = computable_temperature(temperature)
    return policy_soft_value(q_values_target, boltzmann_log_policy(q_values_online, temperature), temperature)


def _check_temperature(name: str, value: float) -> float:
    """``value`` as a float if it lies in (0, MAX_TEMPERATURE], else a ValueError naming ``name``."""
    temperature = check_coefficient(name, value, allow_zero=False, valid=f"a finite float in (0, {MAX_TEMPERATURE:g}]")
    if temperature > MAX_TEMPERATURE:
        raise ValueError(
            f"{name} must be a finite float in (0, {MAX_TEMPERATURE:g}], got {value!r}: above {MAX_TEMPERATURE:g} "
            "(MAX_TEMPERATURE) the Boltzmann policy of Q-values up to 1e6 apart is uniform to within 1%"
        )
    return temperature


def _auto_initial_temperature(temperature: object) -> float | None:
    """Initial value of ``temperature="auto"`` / ``"auto_<x>"``; None when the temperature is not learned."""
    return auto_initial_value(
        "temperature", temperature, DEFAULT_AUTO_TEMPERATURE, MIN_LEARNED_TEMPERATURE, MAX_TEMPERATURE
    )


class SoftDQN(CheckedLoad, DQN):
    """
    Soft Deep Q-Network (soft Q-learning with SB3's DQN machinery).

    DQN whose Bellman target is the soft (log-sum-exp) value of the maximum-entropy objective and whose
    exploration samples from the Boltzmann policy pi(a|s) = softmax(Q(s, .) / temperature) instead of
    epsilon-greedy. Papers: "Reinforcement Learning with Deep Energy-Based Policies" (Haarnoja et al., 2017,
    https://arxiv.org/abs/1702.08165) for soft Q-learning, "Munchausen Reinforcement Learning"
    (Vieillard et al., 2020, https://arxiv.org/abs/2007.14430) for the optional Munchausen term; see
    ``docs/algos/soft_dqn.md``. The target is

    y = r + gamma^n (1 - done) V(s'),  V(s') = temperature * logsumexp_a'(Q_target(s', a') / temperature)

    and ``predict(obs, deterministic=True)`` is the greedy action, ``deterministic=False`` a sample of the
    Boltzmann policy. The constructor's ``tau`` keeps SB3's meaning (Polyak coefficient); the temperature
    is ``temperature``.

    Temperature, three mutually exclusive ways (a conflict raises ``ValueError``):

    * nothing: linear annealing from :data:`DEFAULT_TEMPERATURE_INITIAL` to :data:`DEFAULT_TEMPERATURE_FINAL`
      over the first :data:`DEFAULT_TEMPERATURE_FRACTION` of training, as DQN anneals epsilon, so that swapping
      ``DQN`` for ``SoftDQN`` explores near-uniformly first and greedily later, like DQN's defaults;
    * ``temperature_initial`` / ``temperature_final`` / ``temperature_fraction``: the same linear annealing with
      any of its three values changed (DQN's ``exploration_initial_eps`` / ``exploration_final_eps`` /
      ``exploration_fraction`` for the temperature); annealing upward (final > initial) is a ``ValueError``;
    * ``temperature``: a float, a schedule of SB3's ``progress_remaining`` (see
      :mod:`sb3_maxent.common.schedules`, e.g. ``exponential_schedule(0.5, 0.005)``), or ``"auto"`` /
      ``"auto_<initial>"`` to learn log(temperature) so that the policy entropy tracks ``target_entropy``.

    Fixed and scheduled temperatures lie in (0, :data:`MAX_TEMPERATURE`]; those below float32's smallest normal
    number are computed at it (the exact greedy limit). A learned temperature is clamped to
    [:data:`MIN_LEARNED_TEMPERATURE`, :data:`MAX_TEMPERATURE`].

    Loading a file saved by another algorithm (``SoftDQN.load("dqn.zip")``) raises a ``ValueError`` that names
    both (:class:`sb3_maxent.common.save_util.CheckedLoad`).

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, MultiInputPolicy, or a ``DQNPolicy`` subclass)
    :param env: The environment to learn from (if registered in Gym, can be str); its action space must be Discrete
    :param learning_rate: The learning rate, it can be a function of the current progress remaining (from 1 to 0);
        also used by the temperature optimizer when ``temperature="auto"``
    :param buffer_size: size of the replay buffer
    :param learning_starts: how many steps of the model to collect transitions for before learning starts
        (actions are uniformly random before, Boltzmann samples after)
    :param batch_size: Minibatch size for each gradient update
    :param tau: the soft update coefficient ("Polyak update", between 0 and 1) default 1 for hard update
        (SB3's meaning, not the temperature)
    :param gamma: the discount factor
    :param train_freq: Update the model every ``train_freq`` steps. Alternatively pass a tuple of frequency and unit
        like ``(5, "step")`` or ``(2, "episode")``.
    :param gradient_steps: How many gradient steps to do after each rollout (see ``train_freq``).
        Set to ``-1`` means to do as many gradient steps as steps done in the environment during the rollout.
    :param replay_buffer_class: Replay buffer class to use (for instance ``HerReplayBuffer``).
        If ``None``, it will be automatically selected.
    :param replay_buffer_kwargs: Keyword arguments to pass to the replay buffer on creation.
    :param optimize_memory_usage: Enable a memory efficient variant of the replay buffer
        at a cost of more complexity.
    :param n_steps: When n_step > 1, uses n-step return (with the NStepReplayBuffer): the bootstrap is then
        discounted by the buffer's per-sample ``discounts`` (gamma^n, shorter at episode ends)
    :param target_update_interval: update the target network every ``target_update_interval`` environment steps.
    :param temperature: Temperature tau of the Boltzmann policy and of the soft value: a float in
        (0, :data:`MAX_TEMPERATURE`], a schedule of progress_remaining, ``"auto"`` (learned, initial value
        :data:`DEFAULT_AUTO_TEMPERATURE`) or ``"auto_<x>"`` (learned, initial value x). ``None`` (default): linear
        annealing, see ``temperature_initial``.
    :param temperature_initial: Initial temperature of linear annealing (default
        :data:`DEFAULT_TEMPERATURE_INITIAL`; excludes ``temperature``)
    :param temperature_final: Final temperature of linear annealing, at most ``temperature_initial`` (default
        :data:`DEFAULT_TEMPERATURE_FINAL`)
    :param temperature_fraction: Fraction of the training over which the temperature is annealed from
        ``temperature_initial`` to ``temperature_final`` (default :data:`DEFAULT_TEMPERATURE_FRACTION`, DQN's
        ``exploration_fraction``)
    :param target_entropy: Target mean policy entropy of ``temperature="auto"``: a float in nats, strictly
        between 0 and log|A|, or a fraction of log|A|: ``"auto"`` (:data:`AUTO_TARGET_ENTROPY_RATIO`) or
        ``"auto_<ratio>"`` with 0 < ratio < 1 (SAC-discrete's convention is ``"auto_0.98"``, CleanRL's
        ``"auto_0.89"``). Only valid with a learned temperature.
    :param double_q: Bootstrap with the double soft value: the online network's Boltzmann policy weights the
        target network's values (see :func:`double_soft_value`)
    :param munchausen_alpha: Scale alpha in [0, 1] of the Munchausen term alpha * clip(tau log pi(a|s), l0, 0)
        added to the reward, pi = softmax(Q_target(s, .) / tau). 0 (default) disables it; the paper uses 0.9.
        Not supported with n-step returns.
    :param munchausen_l0: Lower clipping bound l0 < 0 of the Munchausen term (the paper's -1)
    :param max_grad_norm: The maximum value for the gradient clipping
    :param stats_window_size: Window size for the rollout logging, specifying the number of episodes to average
        the reported success rate, mean episode length, and mean reward over
    :param tensorboard_log: the log location for tensorboard (if None, no logging)
    :param policy_kwargs: additional arguments to be passed to the policy on creation
    :param verbose: Verbosity level: 0 for no output, 1 for info messages (such as device or wrappers used),
        2 for debug messages
    :param seed: Seed for the pseudo random generators
    :param device: Device (cpu, cuda, ...) on which the code should be run.
        Setting it to auto, the code will be run on the GPU if possible.
    :param _init_setup_model: Whether or not to build the network at the creation of the instance
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
        "ImpalaCnnPolicy": ImpalaCnnQPolicy,
    }
    # Built in `_setup_model()`: exactly one of the schedule and the learned log-temperature is set.
    temperature_schedule: Schedule | None
    log_temperature: th.Tensor | None
    temperature_optimizer: th.optim.Optimizer | None

    def __init__(
        self,
        policy: str | type[DQNPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 1e-4,
        buffer_size: int = 1_000_000,
        learning_starts: int = 100,
        batch_size: int = 32,
        tau: float = 1.0,
        gamma: float = 0.99,
        train_freq: int | tuple[int, str] = 4,
        gradient_steps: int = 1,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        optimize_memory_usage: bool = False,
        n_steps: int = 1,
        target_update_interval: int = 10000,
        temperature: float | Schedule | str | None = None,
        temperature_initial: float | None = None,
        temperature_final: float | None = None,
        temperature_fraction: float | None = None,
        target_entropy: float | str = "auto",
        double_q: bool = False,
        munchausen_alpha: float = 0.0,
        munchausen_l0: float = -1.0,
        max_grad_norm: float = 10,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        # Validate our own arguments before anything is built, so that bad input fails fast.
        self._check_temperature_arguments(
            temperature, temperature_initial, temperature_final, temperature_fraction, target_entropy
        )
        if not isinstance(double_q, (bool, np.bool_)):
            raise ValueError(f"double_q must be True or False, got {double_q!r}")
        if isinstance(munchausen_alpha, (bool, np.bool_)):
            raise ValueError(f"munchausen_alpha must be a float in [0, 1], got {munchausen_alpha!r}")
        munchausen_alpha = check_coefficient("munchausen_alpha", munchausen_alpha, valid="a float in [0, 1]")
        if munchausen_alpha > 1:
            raise ValueError(f"munchausen_alpha must be a float in [0, 1], got {munchausen_alpha!r}")
        if isinstance(munchausen_l0, bool) or not (
            isinstance(munchausen_l0, (int, float)) and math.isfinite(munchausen_l0) and munchausen_l0 < 0
        ):
            raise ValueError(f"munchausen_l0 must be a finite float < 0, got {munchausen_l0!r}")
        buffer_n_steps = (replay_buffer_kwargs or {}).get("n_steps", 1)
        if munchausen_alpha > 0 and max(n_steps, buffer_n_steps) > 1:
            raise ValueError(
                f"munchausen_alpha > 0 needs 1-step returns (n_steps=1), got n_steps={max(n_steps, buffer_n_steps)}: "
                "the Munchausen term of the intermediate actions of an n-step return is not stored in the buffer"
            )
        if env is not None:
            # Same creation as SB3 (BaseAlgorithm calls it again, a no-op on an env), so that the action space
            # can be checked with a ValueError before DQN's assertion.
            env = maybe_make_env(env, verbose)
            assert env is not None
            if not isinstance(env.action_space, spaces.Discrete):
                raise ValueError(
                    f"SoftDQN needs a Discrete action space (env.action_space), got {env.action_space}; "
                    "valid: gymnasium.spaces.Discrete"
                )

        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            buffer_size=buffer_size,
            learning_starts=learning_starts,
            batch_size=batch_size,
            tau=tau,
            gamma=gamma,
            train_freq=train_freq,
            gradient_steps=gradient_steps,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            optimize_memory_usage=optimize_memory_usage,
            n_steps=n_steps,
            target_update_interval=target_update_interval,
            # No epsilon: DQN's epsilon-greedy schedule is pinned to 0 and never used (see `predict`).
            exploration_initial_eps=0.0,
            exploration_final_eps=0.0,
            max_grad_norm=max_grad_norm,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
        )
        self.temperature = temperature
        self.temperature_initial = temperature_initial
        self.temperature_final = temperature_final
        self.temperature_fraction = temperature_fraction
        self.target_entropy = target_entropy
        self.double_q = bool(double_q)
        self.munchausen_alpha = munchausen_alpha
        self.munchausen_l0 = float(munchausen_l0)

        if _init_setup_model:
            self._setup_model()

    @staticmethod
    def _check_temperature_arguments(
        temperature: float | Schedule | str | None,
        temperature_initial: float | None,
        temperature_final: float | None,
        temperature_fraction: float | None,
        target_entropy: float | str,
    ) -> None:
        """Raise a ValueError naming the parameter for any invalid or conflicting temperature setting."""
        linear = {
            "temperature_initial": temperature_initial,
            "temperature_final": temperature_final,
            "temperature_fraction": temperature_fraction,
        }
        given = [name for name, value in linear.items() if value is not None]
        if temperature is not None and given:
            raise ValueError(
                f"pass either temperature or temperature_initial/temperature_final/temperature_fraction, not both "
                f"(got temperature={temperature!r} and {', '.join(given)})"
            )
        if isinstance(temperature, (bool, np.bool_)):
            raise ValueError(
                f"temperature must be a float > 0, a schedule of progress_remaining, 'auto' or 'auto_<x>', "
                f"got {temperature!r}"
            )
        learned = _auto_initial_temperature(temperature) is not None
        if given:
            initial = _check_temperature(
                "temperature_initial",
                DEFAULT_TEMPERATURE_INITIAL if temperature_initial is None else temperature_initial,
            )
            final = _check_temperature(
                "temperature_final", DEFAULT_TEMPERATURE_FINAL if temperature_final is None else temperature_final
            )
            if final > initial:
                raise ValueError(
                    f"temperature_final={final!r} > temperature_initial={initial!r} would anneal the temperature "
                    f"upward (defaults: initial {DEFAULT_TEMPERATURE_INITIAL}, final {DEFAULT_TEMPERATURE_FINAL}); "
                    "swap or adjust them, or pass temperature=linear_schedule(start, end, end_fraction) "
                    "(sb3_maxent.common) if a rising temperature is intended"
                )
            if temperature_fraction is not None:
                fraction = check_coefficient("temperature_fraction", temperature_fraction, valid="a float in (0, 1]")
                if not 0 < fraction <= 1:
                    raise ValueError(f"temperature_fraction must be a float in (0, 1], got {temperature_fraction!r}")
        elif callable(temperature):
            for progress in (1.0, 0.0):  # probed at both ends, so that a bad schedule fails before any step
                _check_temperature(f"temperature({progress})", temperature(progress))
        elif temperature is not None and not learned:
            _check_temperature("temperature", temperature)  # type: ignore[arg-type]
        if target_entropy != "auto" and not learned:
            raise ValueError(
                f"target_entropy={target_entropy!r} is only used with a learned temperature "
                "(temperature='auto' or 'auto_<x>'); leave it at 'auto' otherwise"
            )
        target_entropy_from_spec(target_entropy, None, AUTO_TARGET_ENTROPY_RATIO)

    def _setup_model(self) -> None:
        super()._setup_model()
        assert isinstance(self.action_space, spaces.Discrete)
        self.temperature_schedule = None
        self.log_temperature = None
        # Policy entropy summed over the exploration steps since the last log dump (see _sample_action)
        self._rollout_entropy_sum = 0.0
        self._rollout_entropy_count = 0
        self.temperature_optimizer = None
        initial = _auto_initial_temperature(self.temperature)
        if initial is not None:
            # Learned temperature: optimise log(tau) (always > 0 once exponentiated), as SAC does for ent_coef.
            self.target_entropy = target_entropy_from_spec(
                self.target_entropy, int(self.action_space.n), AUTO_TARGET_ENTROPY_RATIO
            )
            self.log_temperature = th.log(th.ones(1, device=self.device) * initial).requires_grad_(True)
            self.temperature_optimizer = th.optim.Adam([self.log_temperature], lr=self.lr_schedule(1))
        elif self.temperature is None:
            # The default, or linear annealing with some of its three values given (DQN's epsilon knobs)
            self.temperature_schedule = LinearSchedule(
                DEFAULT_TEMPERATURE_INITIAL if self.temperature_initial is None else float(self.temperature_initial),
                DEFAULT_TEMPERATURE_FINAL if self.temperature_final is None else float(self.temperature_final),
                DEFAULT_TEMPERATURE_FRACTION if self.temperature_fraction is None else float(self.temperature_fraction),
            )
        elif callable(self.temperature):
            # A schedule of progress_remaining, saved with the model and continued by
            # learn(..., reset_num_timesteps=False) like SB3's learning-rate schedule.
            self.temperature_schedule = self.temperature
        else:
            assert not isinstance(self.temperature, str)  # strings are 'auto...' (above) or refused at construction
            self.temperature_schedule = ConstantSchedule(_check_temperature("temperature", self.temperature))

    def _current_temperature(self) -> float:
        """The temperature at the current progress; a schedule value outside (0, MAX_TEMPERATURE] is an error."""
        if self.log_temperature is not None:
            return float(self.log_temperature.detach().exp().item())
        assert self.temperature_schedule is not None
        progress = self._current_progress_remaining
        value = self.temperature_schedule(progress)
        # Called at every env step and update: the message is only built for a value that fails (NaN included)
        if isinstance(value, float | int) and 0 < value <= MAX_TEMPERATURE:
            return float(value)
        return _check_temperature(f"temperature (schedule value at progress_remaining={progress:.4f})", value)

    def _on_step(self) -> None:
        """
        Update the target network if needed (DQN's ``_on_step`` without epsilon; the temperature is
        recorded at each dump, ``dump_logs``).
        This method is called in ``collect_rollouts()`` after each step in the environment.
        """
        self._n_calls += 1
        # Each call to step() corresponds to n_envs transitions
        if self._n_calls % max(self.target_update_interval // self.n_envs, 1) == 0:
            polyak_update(self.q_net.parameters(), self.q_net_target.parameters(), self.tau)
            # Copy running stats, see SB3 GH issue #996
            polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)

    def _compute_target(self, replay_data: ReplayBufferSamples, temperature: float) -> tuple[th.Tensor, th.Tensor]:
        """
        Soft TD target y = r (+ Munchausen term) + gamma^n (1 - done) V(s') of a replay batch, without gradient.

        :param replay_data: the batch (rewards, dones: (batch, 1); actions: (batch, 1))
        :param temperature: tau > 0
        :return: the target y and the bootstrap value V(s'), both of shape (batch, 1)
        """
        # float32 cannot hold a tau below its smallest normal number: computed there, the exact tau -> 0 limit
        temperature = float(computable_temperature(temperature))
        # For n-step replay the buffer gives gamma^k per sample (k <= n, shorter at episode ends)
        discounts = replay_data.discounts if replay_data.discounts is not None else self.gamma
        # Q_target(s', .): (batch, n_actions)
        next_q_values = self.q_net_target(replay_data.next_observations)
        if self.double_q:
            # V(s') = sum_a' pi_online(a'|s') [Q_target(s', a') - tau log pi_online(a'|s')]: (batch, 1)
            next_values = double_soft_value(self.q_net(replay_data.next_observations), next_q_values, temperature)
        else:
            # V(s') = tau * logsumexp(Q_target(s', .) / tau): (batch, 1). It is also the Munchausen-DQN bootstrap
            # sum_a' pi(a'|s') [Q_target(s', a') - tau log pi(a'|s')] with pi = softmax(Q_target(s', .) / tau),
            # since Q_target(s', a') - tau log pi(a'|s') = V(s') for every a'.
            next_values = soft_value(next_q_values, temperature)
        rewards = replay_data.rewards
        if self.munchausen_alpha > 0:
            # Munchausen term alpha * clip(tau log pi(a|s), l0, 0), pi = softmax(Q_target(s, .) / tau): (batch, 1)
            log_pi = boltzmann_log_policy(self.q_net_target(replay_data.observations), temperature)
            log_pi_taken = th.gather(log_pi, dim=1, index=replay_data.actions.long())
            rewards = rewards + self.munchausen_alpha * th.clamp(
                temperature * log_pi_taken, min=self.munchausen_l0, max=0.0
            )
        # y = r + gamma^n (1 - done) V(s'): (batch, 1)
        target_q_values = rewards + (1 - replay_data.dones) * discounts * next_values
        return target_q_values, next_values

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        # Switch to train mode (this affects batch norm / dropout)
        self.policy.set_training_mode(True)
        # Update learning rate according to schedule (the temperature optimizer shares it)
        optimizers = [self.policy.optimizer]
        if self.temperature_optimizer is not None:
            optimizers.append(self.temperature_optimizer)
        self._update_learning_rate(optimizers)

        losses: list[float] = []
        next_values_batches: list[th.Tensor] = []  # V(s') of each batch, averaged once at the end
        temperature_losses: list[float] = []
        entropies: list[float] = []
        for _ in range(gradient_steps):
            # Sample replay buffer
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            temperature = self._current_temperature()

            with th.no_grad():
                # y = r + gamma^n (1 - done) tau logsumexp(Q_target(s', .) / tau): (batch, 1)
                target_q_values, next_values = self._compute_target(replay_data, temperature)
            next_values_batches.append(next_values)

            # Q(s, .): (batch, n_actions); Q(s, a) of the stored actions: (batch, 1)
            q_values = self.q_net(replay_data.observations)
            current_q_values = th.gather(q_values, dim=1, index=replay_data.actions.long())

            # Huber loss, as DQN
            loss = F.smooth_l1_loss(current_q_values, target_q_values)
            losses.append(loss.item())

            # Optimize the policy
            self.policy.optimizer.zero_grad()
            loss.backward()
            # Clip gradient norm
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()

            if self.temperature_optimizer is not None:
                assert self.log_temperature is not None
                with th.no_grad():
                    # H(pi(.|s)) of the Boltzmann policy on the batch states: (batch,)
                    entropy = entropy_from_log_policy(boltzmann_log_policy(q_values.detach(), temperature))
                # SAC-discrete temperature loss: its gradient in log(tau) is mean(H - target), so tau falls
                # while the policy is more random than the target and rises while it is greedier.
                temperature_loss = (self.log_temperature * (entropy - float(self.target_entropy))).mean()
                self.temperature_optimizer.zero_grad()
                temperature_loss.backward()
                self.temperature_optimizer.step()
                with th.no_grad():
                    # Keep tau in [MIN_LEARNED_TEMPERATURE, MAX_TEMPERATURE]: exact Q ties hold the entropy at
                    # log|A| > target forever, and log tau would otherwise drift until exp() underflows to 0.
                    self.log_temperature.clamp_(*_LOG_TEMPERATURE_RANGE)
                temperature_losses.append(temperature_loss.item())
                entropies.append(entropy.mean().item())

        # Increase update counter
        self._n_updates += gradient_steps

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", np.mean(losses))
        if next_values_batches:
            self.logger.record("train/soft_value", th.cat(next_values_batches).mean().item())
        if self.temperature_optimizer is not None:
            self.logger.record("train/temperature_loss", np.mean(temperature_losses))
            self.logger.record("train/entropy", np.mean(entropies))

    def _boltzmann_action(self, observation: PyTorchObs, temperature: float) -> tuple[np.ndarray, np.ndarray]:
        """
        Sample a ~ softmax(Q(s, .) / tau) for a batch of observations (no gradient), by the Gumbel-max trick:
        argmax_a [log pi(a|s) + G_a] with G_a = -log E_a, E_a ~ Exp(1) i.i.d., is distributed as pi(.|s).

        Only the network runs in torch. The (n_envs, n_actions) policy arithmetic and the draw are NumPy, in
        float64, with NumPy's global generator (seeded by SB3's ``set_random_seed``, as DQN's epsilon-greedy
        draws): a dozen tiny torch ops per env step cost more than the forward pass of a small Q-network.

        :return: actions, shape (batch,), and log pi(.|s), shape (batch, n_actions)
        """
        with th.no_grad():
            q_values = self.q_net(observation).cpu().numpy().astype(np.float64)
        log_pi = boltzmann_log_policy_numpy(q_values, temperature)
        # E = 0 has probability 2^-53 per draw: clamp it so that -log E stays finite
        exponentials = np.maximum(np.random.standard_exponential(log_pi.shape), FLOAT64_TINY)  # noqa: NPY002
        actions = np.argmax(log_pi - np.log(exponentials), axis=1)
        return actions, log_pi

    def _sample_action(
        self,
        learning_starts: int,
        action_noise: ActionNoise | None = None,
        n_envs: int = 1,
    ) -> tuple[np.ndarray, np.ndarray]:
        """
        Exploration: uniform random actions before ``learning_starts`` (as DQN), Boltzmann samples after.
        Sums the entropy of the Boltzmann policy at each step for the mean logged at the next dump.
        """
        if self.num_timesteps < learning_starts:
            return super()._sample_action(learning_starts, action_noise, n_envs)
        assert self._last_obs is not None, "self._last_obs was not set"
        # collect_rollouts() has put the policy in eval mode; walking every module again at each step (as
        # DQN's predict() does) costs more than the Boltzmann draw, so only a policy left in train mode
        # (e.g. by a callback) is switched back.
        if self.policy.training:
            self.policy.set_training_mode(False)
        obs_tensor, _ = self.policy.obs_to_tensor(self._last_obs)
        actions, log_pi = self._boltzmann_action(obs_tensor, self._current_temperature())
        self._rollout_entropy_sum += float(entropy_from_log_policy_numpy(log_pi).sum())
        self._rollout_entropy_count += len(actions)
        return actions, actions

    def dump_logs(self) -> None:
        """Record the temperature and the mean policy entropy over the steps since the last dump, then dump."""
        self.logger.record("rollout/temperature", self._current_temperature())
        if self._rollout_entropy_count > 0:
            self.logger.record("rollout/policy_entropy", self._rollout_entropy_sum / self._rollout_entropy_count)
        self._rollout_entropy_sum, self._rollout_entropy_count = 0.0, 0
        super().dump_logs()

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """
        The greedy action argmax_a Q(s, a) (``deterministic=True``) or a sample of the Boltzmann policy
        softmax(Q(s, .) / tau) at the temperature of the current training progress (``deterministic=False``).
        Unlike DQN, no epsilon-greedy step.

        :param observation: the input observation
        :param state: The last states (can be None, used in recurrent policies)
        :param episode_start: The last masks (can be None, used in recurrent policies)
        :param deterministic: Whether or not to return deterministic actions.
        :return: the model's action and the next state (used in recurrent policies)
        """
        if deterministic:
            return self.policy.predict(observation, state, episode_start, deterministic=True)
        if isinstance(observation, tuple) and len(observation) == 2 and isinstance(observation[1], dict):
            raise ValueError(
                "You have passed a tuple to the predict() function instead of a Numpy array or a Dict. "
                "You are probably mixing Gym API with SB3 VecEnv API: `obs, info = env.reset()` (Gym) "
                "vs `obs = vec_env.reset()` (SB3 VecEnv)."
            )
        self.policy.set_training_mode(False)
        obs_tensor, vectorized_env = self.policy.obs_to_tensor(observation)
        action, _ = self._boltzmann_action(obs_tensor, self._current_temperature())
        if not vectorized_env:
            action = action.squeeze(axis=0)
        return action, state

    def learn(
        self: SelfSoftDQN,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "SoftDQN",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfSoftDQN:
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )

    def _excluded_save_params(self) -> list[str]:
        # The temperature schedule is rebuilt from the saved arguments; DQN's epsilon machinery is unused.
        return [
            *super()._excluded_save_params(),
            "temperature_schedule",
            "_rollout_entropy_sum",
            "_rollout_entropy_count",
            "exploration_schedule",
            "exploration_rate",
            "exploration_initial_eps",
            "exploration_final_eps",
            "exploration_fraction",
        ]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, torch_variables = super()._get_torch_save_params()
        if self.temperature_optimizer is not None:
            # The learned temperature and its Adam state, as SAC saves log_ent_coef and ent_coef_optimizer
            state_dicts = [*state_dicts, "temperature_optimizer"]
            torch_variables = [*torch_variables, "log_temperature"]
        return state_dicts, torch_variables
