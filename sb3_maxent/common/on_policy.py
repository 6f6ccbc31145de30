"""
The maximum-entropy objective for SB3's on-policy algorithms, as hooks around the parents' own methods.

:class:`MaxEntOnPolicyMixin` is the one design behind MaxEntPPO, MaxEntA2C, MaxEntMaskablePPO and MaxEntTRPO:

* **Rollout** (:meth:`MaxEntOnPolicyMixin.collect_rollouts`): the parent's ``collect_rollouts`` runs unchanged,
  with a forward hook on the policy (:class:`RolloutEntropy`) that reads H(pi_old(.|s_t)) from the distribution
  each step's forward pass has just built (after MaskablePPO's masking): no second pass over the observations.
  Where the hook cannot account for every step (a callback that calls the policy during the rollout, a policy
  that does not keep its distribution in ``action_dist``), one batched, gradient-free pass over the buffer
  computes the same entropies (:meth:`~MaxEntOnPolicyMixin._rollout_entropy`). In ``soft_return``
  mode beta * H_t is added to the stored rewards, which already hold SB3's timeout bootstrap
  r_T += gamma * V(s_T+1), and GAE is recomputed from them (the critic then learns the soft value). The learned
  coefficient (``maxent_coef="auto"``) takes its dual step here, from the rollout's mean entropy. An algorithm
  whose update makes one forward pass over the whole rollout with the rollout's parameters (A2C) sets
  ``entropy_from_train`` and hands that pass's entropies to :meth:`~MaxEntOnPolicyMixin._use_rollout_entropy` from
  its ``train`` instead.
* **Minibatch** (:meth:`~MaxEntOnPolicyMixin._maxent_advantages`): ``one_step``'s change of a surrogate's
  advantage and value target, A_t + beta * H_t and R_t + beta * H_t, with H_t under the current parameters.
  Only the algorithms whose surrogate has the ratio form call it, from their one labelled copy of the parent's
  ``train``.
* **Objective** (:meth:`~MaxEntOnPolicyMixin._soft_return_entropy_coef`): ``soft_return``'s exact gradient adds
  beta * grad H at every visited state, the same term as SB3's ``ent_coef``; algorithms with an ``ent_coef``
  add beta to it.

Logs: ``rollout/policy_entropy`` (mean H(pi_old) over the rollout), ``train/maxent_coef`` (beta),
``train/maxent_bonus`` (mean beta * H added: to the rewards in ``soft_return``, to the advantages in
``one_step``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import DictRolloutBuffer, RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import VecEnv

from sb3_maxent.common.schedules import Schedule, check_coefficient, to_schedule

MaxEntMode = Literal["one_step", "soft_return"]
MAXENT_MODES: tuple[str, ...] = ("one_step", "soft_return")

#: Initial beta of ``maxent_coef="auto"`` (the package's default fixed beta); ``"auto_<x>"`` starts at x.
DEFAULT_AUTO_MAXENT_COEF = 0.01
#: ``target_entropy="auto"``: this fraction of the uniform policy's entropy for finite action spaces, and
#: SAC's -dim(A) for Box actions.
AUTO_TARGET_ENTROPY_RATIO = 0.5
#: Default step size of a learned beta per nat of entropy error per rollout, relative to max(beta, initial beta): one
#: rollout 0.1 nats below the target raises beta by 10% (see _update_maxent_coef).
DEFAULT_MAXENT_COEF_LR = 1.0
#: Steps of the rollout buffer evaluated together by the entropy pass (bounds its memory on image inputs).
ENTROPY_PASS_BATCH = 4096


def parse_auto_coef(maxent_coef: object) -> float | None:
    """Initial beta of ``"auto"`` / ``"auto_<initial>"``; None for a fixed coefficient or a schedule."""
    if not isinstance(maxent_coef, str):
        return None
    valid = "a float >= 0, a schedule of progress_remaining, 'auto' or 'auto_<initial value>' (e.g. 'auto_0.1')"
    if maxent_coef == "auto":
        return DEFAULT_AUTO_MAXENT_COEF
    if maxent_coef.startswith("auto_"):
        try:
            initial = float(maxent_coef[len("auto_") :])
        except ValueError:
            raise ValueError(f"maxent_coef must be {valid}, got {maxent_coef!r}") from None
        if math.isfinite(initial) and initial > 0:
            return initial
        raise ValueError(f"maxent_coef={maxent_coef!r}: the initial value of a learned beta must be > 0")
    raise ValueError(f"maxent_coef must be {valid}, got {maxent_coef!r}")


def max_entropy(action_space: spaces.Space) -> float | None:
    """Entropy of the uniform policy over a finite action space (nats); None for Box actions."""
    if isinstance(action_space, spaces.Discrete):
        return math.log(int(action_space.n))
    if isinstance(action_space, spaces.MultiDiscrete):
        return float(np.log(action_space.nvec).sum())
    if isinstance(action_space, spaces.MultiBinary):
        return float(np.prod(action_space.shape)) * math.log(2)
    return None


def resolve_target_entropy(target_entropy: float | str, action_space: spaces.Space) -> float:
    """``target_entropy`` in nats: a float as given, ``"auto"`` half the uniform entropy (-dim(A) for Box)."""
    if target_entropy == "auto":
        uniform = max_entropy(action_space)
        if uniform is None:
            return -float(np.prod(action_space.shape))  # type: ignore[arg-type]
        return AUTO_TARGET_ENTROPY_RATIO * uniform
    try:
        value = float(target_entropy)
    except (TypeError, ValueError):
        raise ValueError(f"target_entropy must be 'auto' or a float in nats, got {target_entropy!r}") from None
    uniform = max_entropy(action_space)
    if not math.isfinite(value) or (uniform is not None and not 0.0 < value < uniform):
        bounds = f"strictly between 0 and log|A| = {uniform:.4f}" if uniform is not None else "finite"
        raise ValueError(f"target_entropy must be {bounds} for this action space, got {target_entropy!r}")
    return value


class RolloutEntropy:
    """
    A forward hook that records H(pi(.|s)) of every call of ``policy`` while it is registered, from the
    distribution object the call has just built: SB3's policies keep it in ``policy.action_dist`` (each
    ``proba_distribution`` fills that object and returns it), and sb3-contrib's MaskablePPO applies the masks to it
    in place before ``forward`` returns. Use as a context manager around the parent's ``collect_rollouts``.
    """

    def __init__(self, policy: th.nn.Module) -> None:
        self.policy = policy
        self.steps: list[th.Tensor] = []
        self.complete = hasattr(policy, "action_dist")  # False: some step's entropy could not be read
        self._handle: Any = None

    def __enter__(self) -> RolloutEntropy:
        self._handle = self.policy.register_forward_hook(self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.remove()

    def _record(self, module: th.nn.Module, args: Any, output: Any) -> None:
        if not self.complete:
            return
        entropy = module.action_dist.entropy()  # type: ignore[union-attr,operator]
        if entropy is None:  # no closed form (squashed gSDE)
            self.complete = False
            return
        self.steps.append(entropy.detach())  # moved to the CPU once, in entropies()

    def entropies(self, n_steps: int, n_envs: int) -> np.ndarray | None:
        """The rollout's entropies, shape (n_steps, n_envs), or None if the calls do not match its steps one to one."""
        if not self.complete or len(self.steps) != n_steps or any(step.shape != (n_envs,) for step in self.steps):
            return None
        return th.stack(self.steps).cpu().numpy().astype(np.float32, copy=False)


class MaxEntOnPolicyMixin(OnPolicyAlgorithm):
    """
    Hooks that add the maximum-entropy objective to an SB3 on-policy algorithm; put it before the parent:
    ``class MaxEntA2C(CheckedLoad, MaxEntOnPolicyMixin, A2C)``. The algorithm's ``__init__`` calls
    :meth:`_check_maxent_args` before the parent's and :meth:`_set_maxent_args` after it.
    """

    #: Why ``one_step`` does not apply to this algorithm (None: it does)
    one_step_unsupported: ClassVar[str | None] = None
    #: True where ``train`` takes H(pi_old) from its own forward pass over the whole rollout and calls
    #: :meth:`_use_rollout_entropy` itself (MaxEntA2C): ``collect_rollouts`` then skips the entropy pass.
    entropy_from_train: ClassVar[bool] = False

    maxent_coef: float | str | Schedule
    maxent_mode: MaxEntMode
    maxent_grad: bool
    target_entropy: float | str
    maxent_coef_lr: float
    learned_maxent_coef: th.Tensor | None
    initial_maxent_coef: float
    maxent_coef_optimizer: th.optim.Optimizer | None
    _rollout_maxent_bonus: float
    _last_rollout_entropy: float

    @classmethod
    def _check_maxent_args(
        cls,
        maxent_coef: object,
        maxent_mode: str,
        maxent_grad: object,
        target_entropy: object,
        maxent_coef_lr: object,
        ent_coef: object,
    ) -> None:
        """Validate the maximum-entropy arguments before anything is built, so that bad input fails fast."""
        if maxent_mode not in MAXENT_MODES:
            raise ValueError(f"maxent_mode must be one of {MAXENT_MODES}, got {maxent_mode!r}")
        if maxent_mode == "one_step" and cls.one_step_unsupported is not None:
            raise ValueError(f"{cls.__name__} has no maxent_mode='one_step': {cls.one_step_unsupported}")
        if not isinstance(maxent_grad, (bool, np.bool_)):
            raise ValueError(f"maxent_grad must be True or False, got {maxent_grad!r}")
        if parse_auto_coef(maxent_coef) is None:
            to_schedule("maxent_coef", maxent_coef)  # type: ignore[arg-type]
            if target_entropy != "auto":
                raise ValueError(
                    f"target_entropy={target_entropy!r} is only used by a learned beta: pass maxent_coef='auto' "
                    "(or 'auto_<initial>') with it, or leave target_entropy='auto'"
                )
        check_coefficient("maxent_coef_lr", maxent_coef_lr, allow_zero=False)  # type: ignore[arg-type]
        if ent_coef is not None:
            check_coefficient("ent_coef", ent_coef)  # type: ignore[arg-type]

    def _set_maxent_args(
        self,
        maxent_coef: float | str | Schedule,
        maxent_mode: MaxEntMode,
        maxent_grad: bool,
        target_entropy: float | str,
        maxent_coef_lr: float,
    ) -> None:
        self.maxent_coef = maxent_coef
        self.maxent_coef_lr = float(maxent_coef_lr)
        self.maxent_mode = maxent_mode
        self.maxent_grad = bool(maxent_grad)
        self.target_entropy = target_entropy

    def _setup_model(self) -> None:
        super()._setup_model()
        self._setup_maxent_coef()

    def _setup_maxent_coef(self) -> None:
        """Resolve ``maxent_coef`` once: a schedule of progress_remaining, or a learned beta and its optimizer."""
        self.learned_maxent_coef = None
        self.maxent_coef_optimizer = None
        initial = parse_auto_coef(self.maxent_coef)
        if initial is None:
            # kept as a schedule (saved with the model, continues after learn(..., reset_num_timesteps=False))
            self.maxent_coef = to_schedule("maxent_coef", self.maxent_coef)  # type: ignore[arg-type]
            return
        # the dual variable (Lagrange multiplier) of the constraint mean entropy >= target: beta itself, >= 0, trained
        # by projected, scaled SGD (see _update_maxent_coef)
        self.target_entropy = resolve_target_entropy(self.target_entropy, self.action_space)
        self.initial_maxent_coef = initial
        self.learned_maxent_coef = th.full((1,), initial, device=self.device).requires_grad_(True)
        self.maxent_coef_optimizer = th.optim.SGD([self.learned_maxent_coef], lr=self.maxent_coef_lr)

    def _current_maxent_coef(self) -> float:
        """beta now: the learned value, or the schedule's at the current progress (checked >= 0, finite)."""
        if self.learned_maxent_coef is not None:
            return float(self.learned_maxent_coef.detach().item())
        assert callable(self.maxent_coef)
        return check_coefficient(
            f"maxent_coef (schedule value at progress_remaining={self._current_progress_remaining:.4f})",
            self.maxent_coef(self._current_progress_remaining),
        )

    # ----------------------------------------------------------------------------------------------- rollout
    def collect_rollouts(
        self,
        env: VecEnv,
        callback: BaseCallback,
        rollout_buffer: RolloutBuffer,
        n_rollout_steps: int,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        """
        The parent's rollout collection with the entropy of every step recorded from its own forward pass
        (:class:`RolloutEntropy`; the batched pass over the buffer where the hook cannot account for every step),
        then the soft bonus and the dual step (see the module docstring).

        Callbacks' ``on_rollout_end`` runs inside the parent's collection, before the soft bonus is added.
        """
        if self.entropy_from_train:
            return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps, *args, **kwargs)
        with RolloutEntropy(self.policy) as recorded:
            if not super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps, *args, **kwargs):
                return False
        entropy = recorded.entropies(rollout_buffer.buffer_size, rollout_buffer.n_envs)  # (n_steps, n_envs)
        if entropy is None:
            entropy = self._rollout_entropy(rollout_buffer)
        bonus_advantages = self._use_rollout_entropy(entropy, rollout_buffer)
        if bonus_advantages is not None:
            rollout_buffer.advantages += bonus_advantages
            rollout_buffer.returns += bonus_advantages  # returns = advantages + values
        return True

    def _use_rollout_entropy(self, entropy: np.ndarray, rollout_buffer: RolloutBuffer) -> np.ndarray | None:
        """
        Everything the rollout's entropies H(pi_old(.|s_t)), shape (n_steps, n_envs), feed: ``rollout/policy_entropy``,
        ``soft_return``'s reward bonus (added to the buffer's rewards here) and the learned beta's dual step.
        Returns the GAE of the bonus, (n_steps, n_envs), for the caller to add to the advantages and returns
        (None: no bonus).
        """
        mean_entropy = float(entropy.mean(dtype=np.float64))
        self.logger.record("rollout/policy_entropy", mean_entropy)
        self._last_rollout_entropy = mean_entropy
        beta = self._current_maxent_coef()
        self._rollout_maxent_bonus = 0.0
        bonus_advantages = None
        if self.maxent_mode == "soft_return" and beta > 0.0:
            # r_t <- r_t + beta * H(pi_old(.|s_t)): the entropy of the state where a_t was taken, added to the
            # stored rewards (which already hold the timeout bootstrap); then GAE over the soft rewards.
            bonus = beta * entropy
            rollout_buffer.rewards += bonus
            self._rollout_maxent_bonus = beta * mean_entropy
            # GAE is linear in the rewards (the values and episode boundaries are unchanged), so GAE over the soft
            # rewards is the parent's GAE plus the GAE of the bonus alone with zero values: no second value pass.
            bonus_advantages = self._bonus_gae(bonus, rollout_buffer, self._last_episode_starts)  # type: ignore[arg-type]
        if self.maxent_coef_optimizer is not None:
            self._update_maxent_coef(mean_entropy)
        return bonus_advantages

    @staticmethod
    def _bonus_gae(bonus: np.ndarray, rollout_buffer: RolloutBuffer, last_dones: np.ndarray) -> np.ndarray:
        """
        GAE of the reward term ``bonus`` (n_steps, n_envs) with all values zero, over the buffer's episode
        boundaries: sum_k (gamma * lambda)^k bonus_{t+k} within the episode, the recursion of SB3's
        ``compute_returns_and_advantage`` with its value terms removed.
        """
        n_steps = bonus.shape[0]
        discount = rollout_buffer.gamma * rollout_buffer.gae_lambda
        # discount * next_non_terminal of every step, the rows computed at once (the same numbers row by row)
        decay = discount * (1.0 - rollout_buffer.episode_starts[1:n_steps])
        advantages = np.zeros_like(bonus)
        # the last step's recursion term is zero; written out so that the recursion keeps SB3's dtypes (float64 from
        # here on when last_dones is boolean), and with them the same numbers
        last_gae = bonus[n_steps - 1] + discount * (1.0 - last_dones) * np.zeros_like(bonus[0])
        advantages[n_steps - 1] = last_gae
        for step in reversed(range(n_steps - 1)):
            last_gae = bonus[step] + decay[step] * last_gae
            advantages[step] = last_gae
        return advantages

    def _entropy_distribution_kwargs(self, rollout_buffer: RolloutBuffer, index: slice) -> dict[str, Any]:
        """Extra arguments of ``policy.get_distribution`` for the flattened buffer rows ``index`` (masks)."""
        return {}

    def _rollout_entropy(self, rollout_buffer: RolloutBuffer) -> np.ndarray:
        """
        H(pi_old(.|s_t)) of every step of the buffer, shape (n_steps, n_envs), by :meth:`_entropy_pass`. Where the
        distribution has no closed-form entropy (squashed gSDE) the single-sample estimate -log pi_old(a_t|s_t) from
        the buffer is used.
        """
        n_steps, n_envs = rollout_buffer.rewards.shape
        size = n_steps * n_envs
        if isinstance(rollout_buffer, DictRolloutBuffer):
            observations: Any = {
                key: obs.reshape(size, *obs.shape[2:]) for key, obs in rollout_buffer.observations.items()
            }
        else:
            observations = rollout_buffer.observations.reshape(size, *rollout_buffer.observations.shape[2:])
        entropy = self._entropy_pass(
            observations, None, lambda index: self._entropy_distribution_kwargs(rollout_buffer, index)
        )
        if entropy is None:
            return -rollout_buffer.log_probs.copy()
        return entropy.reshape(n_steps, n_envs)

    def _entropy_pass(
        self,
        observations: np.ndarray | dict[str, np.ndarray],
        actions: np.ndarray | None,
        distribution_kwargs: Callable[[slice], dict[str, Any]] | None = None,
    ) -> np.ndarray | None:
        """
        H(pi(.|s)) under the current parameters for rows of ``observations`` (array or dict of arrays, rows first),
        shape (rows,), gradient-free, in batches of :data:`ENTROPY_PASS_BATCH` rows. Without a closed-form entropy:
        -log pi(a|s) of ``actions`` (same rows), or None when ``actions`` is None. ``distribution_kwargs(index)``:
        extra arguments of ``policy.get_distribution`` for the rows ``index`` (masks).
        """
        size = len(next(iter(observations.values())) if isinstance(observations, dict) else observations)
        entropies = []
        with th.no_grad():
            for start in range(0, size, ENTROPY_PASS_BATCH):
                index = slice(start, min(start + ENTROPY_PASS_BATCH, size))
                if isinstance(observations, dict):
                    obs: Any = {key: value[index] for key, value in observations.items()}
                else:
                    obs = observations[index]
                kwargs = distribution_kwargs(index) if distribution_kwargs is not None else {}
                distribution = self.policy.get_distribution(obs_as_tensor(obs, self.device), **kwargs)
                entropy = distribution.entropy()
                if entropy is None:
                    if actions is None:
                        return None
                    entropy = -distribution.log_prob(th.as_tensor(actions[index], device=self.device))
                entropies.append(entropy.cpu().numpy())
        return np.concatenate(entropies)

    def _update_maxent_coef(self, mean_entropy: float) -> None:
        """
        One step of projected, scaled dual descent on beta per rollout. The dual loss beta * (H - target) has the
        gradient H - target (H: the rollout's mean entropy); the step is scaled by max(beta, beta_0), beta_0 the
        initial value, and projected onto beta >= 0:

            beta <- max(0, beta - lr * max(beta, beta_0) * (H - target)),    lr = ``maxent_coef_lr``

        Above beta_0 this is a relative step, log beta moving by about -lr * (H - target) (SAC's parametrisation, so
        the rate does not depend on beta's scale, which differs by orders of magnitude between one_step and
        soft_return and between tasks); below beta_0 it is an absolute step lr * beta_0 * (H - target) that reaches 0
        and leaves it. Either way the step is proportional to the error, so beta comes to rest where the entropy is
        on target.

        Why not SAC's Adam step on log beta (the first version): (1) Adam divides the gradient by its running RMS, so
        every step is about ``lr`` whatever the error, and its momentum keeps pushing after the error has changed
        sign: with a lag of several rollouts between beta and the policy's entropy that is bang-bang control, and
        the entropy cycles around the target. (2) On log beta alone any update winds up: early in training the
        policy's entropy is above the target even at beta = 0 (the constraint H >= target is slack and its
        multiplier is 0), so log beta runs toward -infinity and then needs as many rollouts to climb back once the
        entropy falls below the target (measured with plain SGD on log beta, lr 0.5: beta 0.01 -> 6e-6 -> 0.01 over
        the 196 rollouts of 50k steps of CartPole PPO, the final entropy 49% below its target).
        """
        assert self.learned_maxent_coef is not None
        assert self.maxent_coef_optimizer is not None
        error = mean_entropy - float(self.target_entropy)
        scale = max(float(self.learned_maxent_coef.detach().item()), self.initial_maxent_coef)
        loss = (self.learned_maxent_coef * (scale * error)).sum()
        self.maxent_coef_optimizer.zero_grad()
        loss.backward()
        self.maxent_coef_optimizer.step()
        with th.no_grad():
            self.learned_maxent_coef.clamp_(min=0.0)  # the projection onto beta >= 0
        self.logger.record("train/maxent_coef_loss", loss.item())

    # ------------------------------------------------------------------------------------------------ train
    def _soft_return_entropy_coef(self, beta: float) -> float:
        """Coefficient of -mean(H) in the loss: ent_coef, plus beta for soft_return's exact gradient."""
        ent_coef = float(getattr(self, "ent_coef", 0.0))
        if self.maxent_mode == "soft_return" and self.maxent_grad and beta > 0.0:
            return ent_coef + beta
        return ent_coef

    def _maxent_advantages(
        self, advantages: th.Tensor, returns: th.Tensor, entropy: th.Tensor, beta: float
    ) -> tuple[th.Tensor, th.Tensor]:
        """
        ``one_step`` (the paper's approximation): A_t(beta) = A_t + beta * H_t, the gradient flowing through
        H_t = H(pi_theta(.|s_t)) unless ``maxent_grad=False``, and the detached value target R_t + beta * H_t.
        ``soft_return``: unchanged (the bonus is already in the rewards). Shapes: (batch,).
        """
        if self.maxent_mode != "one_step" or beta == 0.0:
            return advantages, returns
        bonus = beta * entropy
        return advantages + (bonus if self.maxent_grad else bonus.detach()), returns + bonus.detach()

    def _record_maxent(self, beta: float, mean_train_entropy: float | None) -> None:
        """``train/maxent_coef`` and ``train/maxent_bonus`` (mean beta * H added this update)."""
        self.logger.record("train/maxent_coef", beta)
        if self.maxent_mode == "one_step":
            bonus = beta * mean_train_entropy if mean_train_entropy is not None else 0.0
        else:
            bonus = getattr(self, "_rollout_maxent_bonus", 0.0)
        self.logger.record("train/maxent_bonus", bonus)

    # ------------------------------------------------------------------------------------------- save/load
    def _excluded_save_params(self) -> list[str]:
        return [
            *super()._excluded_save_params(),
            "_rollout_maxent_bonus",
            "_last_rollout_entropy",
            "learned_maxent_coef",
            "maxent_coef_optimizer",
        ]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, variables = super()._get_torch_save_params()
        if self.maxent_coef_optimizer is not None:
            return [*state_dicts, "maxent_coef_optimizer"], [*variables, "learned_maxent_coef"]
        return state_dicts, variables
