"""SoftDQN numerics: targets against hand computations, the tau -> 0 / tau -> inf limits, extreme values, sampling."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from scipy.stats import chisquare
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch.nn import functional as F

from sb3_maxent.soft_dqn import SoftDQN
from sb3_maxent.soft_dqn.soft_dqn import (
    MAX_TEMPERATURE,
    MIN_LEARNED_TEMPERATURE,
    boltzmann_log_policy,
    boltzmann_log_policy_numpy,
    double_soft_value,
    entropy_from_log_policy,
    soft_value,
)

N_STATES, N_ACTIONS = 5, 3
GAMMA = 0.9


class OneHotEnv(gym.Env):
    """Observations are one-hot float vectors, so a linear Q-network (net_arch=[]) is a Q-table we can set."""

    def __init__(self, n_states: int = N_STATES, n_actions: int = N_ACTIONS) -> None:
        self.observation_space = spaces.Box(0.0, 1.0, (n_states,), dtype=np.float32)
        self.action_space = spaces.Discrete(n_actions)
        self.n_states = n_states
        self.state = 0

    def _obs(self) -> np.ndarray:
        return np.eye(self.n_states, dtype=np.float32)[self.state]

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.state = int(self.np_random.integers(self.n_states))
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.state = int(self.np_random.integers(self.n_states))
        return self._obs(), float(action == 0), bool(self.np_random.random() < 0.1), False, {}


def set_q_table(q_network: QNetwork, table: np.ndarray) -> None:
    """Make a linear Q-network on one-hot observations return table[s] for state s."""
    linear = q_network.q_net[0]
    assert isinstance(linear, th.nn.Linear)
    with th.no_grad():
        linear.weight.copy_(th.as_tensor(table.T, dtype=th.float32))
        linear.bias.zero_()


def make_linear_model(model_class: type[Any] = SoftDQN, **kwargs: Any) -> Any:
    model = model_class(
        "MlpPolicy", OneHotEnv(), gamma=GAMMA, policy_kwargs=dict(net_arch=[]), learning_starts=0, seed=0, **kwargs
    )
    model.set_logger(configure(None, []))  # train() is called directly, outside learn()
    return model


# A fixed hand-built batch: (state, action, reward, next state, done, n-step discount)
BATCH = [
    (0, 0, 1.0, 1, 0.0, GAMMA),
    (1, 2, 0.0, 2, 0.0, GAMMA),
    (2, 1, -0.5, 3, 1.0, GAMMA),
    (3, 0, 0.25, 4, 0.0, GAMMA**3),  # an n-step sample: discount gamma^3 from the buffer
    (4, 1, 2.0, 0, 0.0, GAMMA**2),
]
Q_TARGET = np.array([[1.0, 0.5, -0.2], [0.3, 0.3, 0.1], [-1.0, 0.0, 2.0], [0.7, -0.4, 0.2], [0.0, 0.05, -0.1]])
Q_ONLINE = np.array([[0.2, 0.9, 0.0], [1.5, -0.5, 0.4], [0.1, 0.1, 0.1], [-0.3, 0.6, 0.0], [0.8, 0.0, -0.6]])


def hand_batch(with_discounts: bool) -> ReplayBufferSamples:
    eye = np.eye(N_STATES, dtype=np.float32)
    columns = list(zip(*BATCH, strict=True))
    states, actions, rewards, next_states, dones, discounts = (np.array(c) for c in columns)

    def col(x: np.ndarray) -> th.Tensor:
        return th.as_tensor(x, dtype=th.float32).reshape(-1, 1)

    return ReplayBufferSamples(
        observations=th.as_tensor(eye[states]),
        actions=th.as_tensor(actions, dtype=th.long).reshape(-1, 1),
        next_observations=th.as_tensor(eye[next_states]),
        dones=col(dones),
        rewards=col(rewards),
        discounts=col(discounts) if with_discounts else None,
    )


# Independent float64 numpy versions of the formulas (plain sums of exponentials: the values are small).
def np_softmax(q: np.ndarray, tau: float) -> np.ndarray:
    e = np.exp(q / tau)
    return e / e.sum(axis=1, keepdims=True)


def np_soft_value(q: np.ndarray, tau: float) -> np.ndarray:
    return tau * np.log(np.exp(q / tau).sum(axis=1))


def np_double_value(q_online: np.ndarray, q_target: np.ndarray, tau: float) -> np.ndarray:
    pi = np_softmax(q_online, tau)
    return (pi * (q_target - tau * np.log(pi))).sum(axis=1)


def np_munchausen_bootstrap(q_target: np.ndarray, tau: float) -> np.ndarray:
    pi = np_softmax(q_target, tau)
    return (pi * (q_target - tau * np.log(pi))).sum(axis=1)


def np_target(variant: str, tau: float, with_discounts: bool, alpha: float = 0.9, l0: float = -1.0) -> np.ndarray:
    states, actions, rewards, next_states, dones, discounts = (np.array(c) for c in zip(*BATCH, strict=True))
    discount = discounts if with_discounts else GAMMA
    rewards = rewards.astype(np.float64)
    if variant == "plain":
        bootstrap = np_soft_value(Q_TARGET[next_states], tau)
    elif variant == "double":
        bootstrap = np_double_value(Q_ONLINE[next_states], Q_TARGET[next_states], tau)
    elif variant == "munchausen":
        log_pi = np.log(np_softmax(Q_TARGET[states], tau))[np.arange(len(BATCH)), actions]
        rewards = rewards + alpha * np.clip(tau * log_pi, l0, 0.0)
        bootstrap = np_munchausen_bootstrap(Q_TARGET[next_states], tau)
    else:  # double_munchausen, the hybrid: M-term from the target network, double soft bootstrap
        log_pi = np.log(np_softmax(Q_TARGET[states], tau))[np.arange(len(BATCH)), actions]
        rewards = rewards + alpha * np.clip(tau * log_pi, l0, 0.0)
        bootstrap = np_double_value(Q_ONLINE[next_states], Q_TARGET[next_states], tau)
    return rewards + discount * (1 - dones) * bootstrap


VARIANT_KWARGS: dict[str, dict[str, Any]] = {
    "plain": {},
    "double": {"double_q": True},
    "munchausen": {"munchausen_alpha": 0.9, "munchausen_l0": -1.0},
    "double_munchausen": {"double_q": True, "munchausen_alpha": 0.9, "munchausen_l0": -1.0},
}


@pytest.mark.parametrize("with_discounts", [False, True])
@pytest.mark.parametrize("tau", [0.1, 0.5, 2.0])
@pytest.mark.parametrize("variant", list(VARIANT_KWARGS))
def test_target_matches_hand_computation(variant: str, tau: float, with_discounts: bool) -> None:
    model = make_linear_model(temperature=tau, **VARIANT_KWARGS[variant])
    set_q_table(model.q_net_target, Q_TARGET)
    set_q_table(model.q_net, Q_ONLINE)
    with th.no_grad():
        target, _ = model._compute_target(hand_batch(with_discounts), tau)
    expected = np_target(variant, tau, with_discounts)
    print(f"{variant} tau={tau}: max |target - hand| = {np.abs(target.numpy().ravel() - expected).max():.2g}")
    np.testing.assert_allclose(target.numpy().ravel(), expected, rtol=0, atol=1e-6)


def test_munchausen_alpha_zero_is_the_plain_target() -> None:
    targets = {}
    settings: dict[str, dict[str, Any]] = {"plain": {}, "alpha0": {"munchausen_alpha": 0.0, "munchausen_l0": -0.5}}
    for name, kwargs in settings.items():
        model = make_linear_model(temperature=0.3, **kwargs)
        set_q_table(model.q_net_target, Q_TARGET)
        with th.no_grad():
            targets[name], _ = model._compute_target(hand_batch(True), 0.3)
    assert th.equal(targets["plain"], targets["alpha0"])


def test_double_equals_plain_when_networks_agree() -> None:
    q = th.as_tensor(Q_TARGET, dtype=th.float32)
    th.testing.assert_close(double_soft_value(q, q, 0.4), soft_value(q, 0.4), rtol=0, atol=1e-6)


def capture_targets(model: SoftDQN | DQN, monkeypatch: pytest.MonkeyPatch) -> th.Tensor:
    """Run one gradient step of ``model`` and return the TD target its train() passed to the Huber loss."""
    captured: list[th.Tensor] = []
    huber = F.smooth_l1_loss

    def spy(prediction: th.Tensor, target: th.Tensor, *args, **kwargs) -> th.Tensor:
        captured.append(target.detach().clone())
        return huber(prediction, target, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(F, "smooth_l1_loss", spy)
        np.random.seed(123)  # noqa: NPY002  (SB3's replay buffer samples with numpy's global generator)
        model.train(gradient_steps=1, batch_size=64)  # 64 draws with replacement: all 5 transitions
    return captured[0]


def fill_buffer(model: SoftDQN | DQN) -> None:
    eye = np.eye(N_STATES, dtype=np.float32)
    for state, action, reward, next_state, done, _ in BATCH:
        model.replay_buffer.add(  # type: ignore[union-attr]
            eye[state][None], eye[next_state][None], np.array([action]), np.array([reward]), np.array([done]), [{}]
        )


@pytest.mark.parametrize("tau", [1e-4, 1e-6])
def test_small_temperature_gives_dqn_max_target(tau: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """tau -> 0: SoftDQN's target (from its own train()) equals SB3 DQN's max target on the same samples."""
    targets = {}
    for name, model in {"soft": make_linear_model(temperature=tau), "dqn": make_linear_model(DQN)}.items():
        set_q_table(model.q_net, Q_ONLINE)
        set_q_table(model.q_net_target, Q_TARGET)
        fill_buffer(model)
        targets[name] = capture_targets(model, monkeypatch)
    # The soft value exceeds the max by at most tau * log|A| (1.1e-4 at tau=1e-4)
    print(f"tau={tau}: max |soft target - DQN target| = {(targets['soft'] - targets['dqn']).abs().max():.3g}")
    np.testing.assert_allclose(targets["soft"].numpy(), targets["dqn"].numpy(), rtol=0, atol=1e-3)
    assert (targets["soft"] >= targets["dqn"] - 1e-6).all()


def test_large_temperature_limit() -> None:
    """tau -> inf: V(s) - tau log|A| tends to the mean of Q(s, .) (the uniform policy's value)."""
    q = th.as_tensor(Q_TARGET, dtype=th.float32)
    tau = 1e3
    value = soft_value(q, tau).ravel() - tau * np.log(N_ACTIONS)
    np.testing.assert_allclose(value.numpy(), Q_TARGET.mean(axis=1), rtol=0, atol=2e-3)


# The temperatures (1e-46 and 1e-300 round to 0 in float32) plus 1e-3, with Q-values up to +-1e6
EXTREME_TAUS = [1e-300, 1e-46, 1e-6, 1e-3, 1.0, 1e3]
EXTREME_VARIANTS: dict[str, dict[str, Any]] = {**VARIANT_KWARGS, "auto": {}}


@pytest.mark.parametrize("tau", EXTREME_TAUS)
@pytest.mark.parametrize("variant", list(EXTREME_VARIANTS))
def test_extreme_values_stay_finite(variant: str, tau: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Q-values up to +-1e6 with tau from 1e-300 to 1e3: targets, loss, gradients and samples are finite. A learned
    temperature must start inside [MIN_LEARNED_TEMPERATURE, MAX_TEMPERATURE]: outside, a ValueError before any step.
    """
    temperature = f"auto_{tau}" if variant == "auto" else tau
    if variant == "auto" and not MIN_LEARNED_TEMPERATURE <= tau <= MAX_TEMPERATURE:
        with pytest.raises(ValueError, match="must lie in the learned temperature's range"):
            make_linear_model(temperature=temperature)
        return
    model = make_linear_model(temperature=temperature, **EXTREME_VARIANTS[variant])
    rng = np.random.default_rng(0)
    huge = rng.choice([-1e6, -3e5, 0.0, 2e5, 1e6], size=(N_STATES, N_ACTIONS))
    set_q_table(model.q_net, huge)
    set_q_table(model.q_net_target, huge[::-1].copy())
    fill_buffer(model)
    losses: list[th.Tensor] = []
    targets: list[th.Tensor] = []
    huber = F.smooth_l1_loss

    def spy(prediction: th.Tensor, target: th.Tensor, *args, **kwargs) -> th.Tensor:
        targets.append(target.detach().clone())
        loss = huber(prediction, target, *args, **kwargs)
        losses.append(loss.detach())
        return loss

    monkeypatch.setattr(F, "smooth_l1_loss", spy)
    model.train(gradient_steps=2, batch_size=len(BATCH))
    assert losses
    assert all(th.isfinite(target).all() for target in targets), targets
    assert all(th.isfinite(loss) for loss in losses)
    for parameter in model.policy.parameters():
        assert parameter.grad is None or th.isfinite(parameter.grad).all()
        assert th.isfinite(parameter).all()
    if variant == "auto":
        assert model.log_temperature is not None
        assert model.log_temperature.grad is not None
        assert th.isfinite(model.log_temperature).all()
        assert th.isfinite(model.log_temperature.grad).all()
    assert np.isfinite(model.logger.name_to_value["train/soft_value"])
    actions, _ = model.predict(np.eye(N_STATES, dtype=np.float32), deterministic=False)
    assert actions.shape == (N_STATES,)
    if tau <= 1e-6 and variant != "auto":
        # tau -> 0: the target (with the table set above, before any update) is DQN's max target (double: Double
        # DQN's, ties shared), computed in float64 from the table itself; the soft value exceeds the max by at most
        # tau log|A|, and float32's spacing at 1e6 is 0.0625
        with th.no_grad():
            set_q_table(model.q_net, huge)
            set_q_table(model.q_net_target, huge[::-1].copy())
            target, _ = model._compute_target(hand_batch(with_discounts=False), tau)
        np.testing.assert_allclose(target.numpy().ravel(), zero_temperature_target(huge, variant), rtol=0, atol=0.2)


def greedy_limit(q: np.ndarray) -> np.ndarray:
    """lim_{tau -> 0} softmax(q / tau): uniform over the maximal entries of each row, 0 elsewhere."""
    is_max = q == q.max(axis=1, keepdims=True)
    return is_max / is_max.sum(axis=1, keepdims=True)


def zero_temperature_target(table: np.ndarray, variant: str) -> np.ndarray:
    """The tau -> 0 limit of the target on BATCH (1-step discounts) with Q_online = table, Q_target = table[::-1]."""
    q_online, q_target = table, table[::-1]
    states, actions, rewards, next_states, dones, _ = (np.array(c) for c in zip(*BATCH, strict=True))
    if variant in ("double", "double_munchausen"):
        bootstrap = (greedy_limit(q_online[next_states]) * q_target[next_states]).sum(axis=1)
    else:
        bootstrap = q_target[next_states].max(axis=1)
    rewards = rewards.astype(np.float64)
    if variant in ("munchausen", "double_munchausen"):
        # tau log pi(a|s) -> 0 for a maximal action (tau log(1/k) with k ties), -inf (clipped to l0 = -1) otherwise
        maximal = q_target[states, actions] == q_target[states].max(axis=1)
        rewards = rewards + 0.9 * np.where(maximal, 0.0, -1.0)
    return rewards + GAMMA * (1 - dones) * bootstrap


@pytest.mark.parametrize("tau", [1e-300, 1e-46, 1e-45, 1e-39])
def test_temperature_below_float32_is_the_exact_limit(tau: float) -> None:
    """tau that float32 rounds to 0 or to a subnormal: the max and the greedy policy, ties sharing the mass."""
    q = th.tensor([[1e6, -1e6, 1e6 - 1.0], [-1e6, -1e6, -1e6], [0.0, 5e5, -5e5], [2.0, 2.0, 1.0]])
    np.testing.assert_array_equal(soft_value(q, tau).ravel().numpy(), q.max(1).values.numpy())
    expected_pi = np.array([[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [0, 1, 0], [0.5, 0.5, 0]])
    np.testing.assert_allclose(boltzmann_log_policy(q, tau).exp().numpy(), expected_pi, rtol=1e-6, atol=0)
    # E_pi[Q] of the tied row sums three float32 thirds of -1e6: within float32's spacing at 1e6 (0.0625)
    np.testing.assert_allclose(double_soft_value(q, q, tau).ravel().numpy(), q.max(1).values.numpy(), rtol=0, atol=0.07)
    numpy_log_pi = boltzmann_log_policy_numpy(q.numpy().astype(np.float64), tau)
    np.testing.assert_allclose(np.exp(numpy_log_pi), expected_pi, rtol=1e-12, atol=0)


@pytest.mark.parametrize("tau", [*EXTREME_TAUS, 1e-30, 1e-45])
def test_soft_value_helpers_finite(tau: float) -> None:
    """The helpers themselves, down to a subnormal float32 temperature where Q / tau overflows."""
    q = th.tensor([[1e6, -1e6, 1e6 - 1.0], [-1e6, -1e6, -1e6], [0.0, 5e5, -5e5]])
    log_pi = boltzmann_log_policy(q, tau)
    for value in (soft_value(q, tau), double_soft_value(q, q.flip(1), tau), entropy_from_log_policy(log_pi)):
        assert th.isfinite(value).all(), value
    assert th.isfinite(log_pi.exp()).all()
    assert th.allclose(log_pi.exp().sum(1), th.ones(3))
    # soft value between max Q and max Q + tau log|A| (float32 rounding at 1e6 is 0.0625)
    values = soft_value(q, tau).ravel()
    assert (values >= q.max(1).values - 0.07).all()
    assert (values <= q.max(1).values + tau * np.log(3) + 0.07).all()


# Boltzmann sampling against epsilon-greedy, on one state with hand-set Q-values
CHI_Q = np.array([[1.0, 0.6, 0.0, -0.8]])
CHI_TAU = 0.5
N_CALLS = 20_000


def action_frequencies(model: SoftDQN | DQN, n_actions: int) -> np.ndarray:
    obs = np.ones(1, dtype=np.float32)
    counts = np.zeros(n_actions)
    for _ in range(N_CALLS):
        action, _ = model.predict(obs, deterministic=False)
        counts[int(action)] += 1
    return counts


def test_boltzmann_sampling_matches_softmax() -> None:
    env = OneHotEnv(n_states=1, n_actions=4)
    expected = np_softmax(CHI_Q, CHI_TAU)[0] * N_CALLS
    th.manual_seed(0)
    np.random.seed(0)  # noqa: NPY002  (DQN's epsilon-greedy draws from numpy's global generator)

    soft = SoftDQN("MlpPolicy", env, temperature=CHI_TAU, policy_kwargs=dict(net_arch=[]), seed=0)
    set_q_table(soft.q_net, CHI_Q)
    soft_counts = action_frequencies(soft, 4)
    soft_p = chisquare(soft_counts, expected).pvalue
    assert soft_p > 0.01, (soft_counts, expected)

    # Epsilon-greedy with the same greedy-action probability: 1 - eps + eps / |A| = softmax's max probability
    dqn = DQN("MlpPolicy", env, policy_kwargs=dict(net_arch=[]), seed=0)
    set_q_table(dqn.q_net, CHI_Q)
    p_max = expected.max() / N_CALLS
    dqn.exploration_rate = (1 - p_max) / (1 - 1 / 4)
    greedy_counts = action_frequencies(dqn, 4)
    assert abs(greedy_counts[0] / N_CALLS - p_max) < 0.02  # same greedy frequency...
    greedy_p = chisquare(greedy_counts, expected).pvalue
    print(f"chi-square p-value vs softmax: Boltzmann {soft_p:.3g}, epsilon-greedy {greedy_p:.3g}")
    assert greedy_p < 0.01  # ...but not the softmax distribution


def test_deterministic_predict_is_argmax() -> None:
    model = make_linear_model(temperature=1e3)  # a near-uniform Boltzmann policy must not leak into argmax
    set_q_table(model.q_net, Q_ONLINE)
    actions, _ = model.predict(np.eye(N_STATES, dtype=np.float32), deterministic=True)
    np.testing.assert_array_equal(actions, Q_ONLINE.argmax(axis=1))
    single, _ = model.predict(np.eye(N_STATES, dtype=np.float32)[1], deterministic=True)
    assert single.shape == ()
    assert int(single) == Q_ONLINE[1].argmax()


# ---------------------------------------------------------------------------------------------------------------
# The learned temperature stays inside [MIN_LEARNED_TEMPERATURE, MAX_TEMPERATURE]
# ---------------------------------------------------------------------------------------------------------------
class FixedQNetwork(QNetwork):
    """Q(s, .) = a fixed row for every state: the parameters only enter times 0, so training never moves it."""

    row: th.Tensor

    def __init__(self, *args: Any, row: list[float], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("row", th.tensor([row], dtype=th.float32))

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return self.row + 0.0 * super().forward(obs)


class FixedQPolicy(DQNPolicy):
    def __init__(self, *args: Any, row: list[float], **kwargs: Any) -> None:
        self.row = row
        super().__init__(*args, **kwargs)

    def make_q_net(self) -> QNetwork:
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        return FixedQNetwork(**net_args, row=self.row).to(self.device)


class TemperatureTrace(BaseCallback):
    def __init__(self) -> None:
        super().__init__()
        self.temperatures: list[float] = []

    def _on_step(self) -> bool:
        assert isinstance(self.model, SoftDQN)
        self.temperatures.append(self.model._current_temperature())
        return True


FIXED_ROWS: dict[str, tuple[list[float], float]] = {
    # exact ties: the entropy is log|A| > target at every step, so log tau only ever falls
    "exact ties": ([0.5, 0.5, 0.5], MIN_LEARNED_TEMPERATURE),
    # gaps of 1e12: the policy is greedy (entropy 0 < target) at every temperature up to 1e8, so log tau only rises
    "huge gaps": ([0.0, -1e12, -1e12], MAX_TEMPERATURE),
}


@pytest.mark.parametrize("case", list(FIXED_ROWS))
def test_learned_temperature_stays_in_range(case: str) -> None:
    row, bound = FIXED_ROWS[case]
    model = SoftDQN(
        FixedQPolicy,
        OneHotEnv(),
        temperature="auto_1.0",
        target_entropy="auto_0.5",
        learning_rate=0.5,  # Adam moves log tau by about 0.5 per update: past either bound (|log| = 18.4) in ~40
        learning_starts=0,
        train_freq=1,
        batch_size=8,
        policy_kwargs=dict(net_arch=[], row=row),
        seed=0,
    )
    trace = TemperatureTrace()
    model.learn(150, callback=trace)
    temperatures = np.array(trace.temperatures)
    assert model.log_temperature is not None
    print(f"{case}: temperature from {temperatures[0]:.3g} to {temperatures[-1]:.3g} (bound {bound:g})")
    assert np.isfinite(temperatures).all()
    assert (temperatures >= MIN_LEARNED_TEMPERATURE * (1 - 1e-6)).all()
    assert (temperatures <= MAX_TEMPERATURE * (1 + 1e-6)).all()
    # the clamp is what stopped it: the last 50 steps sit at the bound
    np.testing.assert_allclose(temperatures[-50:], bound, rtol=1e-6)
    assert np.isfinite(model.logger.name_to_value["train/loss"])
    assert np.isfinite(model.logger.name_to_value["train/soft_value"])
