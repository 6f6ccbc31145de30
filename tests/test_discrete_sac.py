"""
DiscreteSAC: runs with every policy, refuses bad input, its losses equal a hand computation on a fixed batch,
stays finite for near-deterministic policies, and save/load restores predictions and the next update exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.envs import FakeImageEnv, SimpleMultiObsEnv
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import configure
from stable_baselines3.common.type_aliases import ReplayBufferSamples

from sb3_maxent import DiscreteSAC
from sb3_maxent.common.torch_layers import ImpalaCnn
from sb3_maxent.discrete_sac.discrete_sac import AUTO_TARGET_ENTROPY_RATIO, DEFAULT_AUTO_ENT_COEF

SMALL: dict[str, Any] = dict(learning_starts=50, buffer_size=1_000, batch_size=16, seed=0)

# One env per policy (a dict, not an if/elif chain): a tiny image env for the CNNs, a Dict env for MultiInput.
ENVS: dict[str, Callable[[], Any]] = {
    "MlpPolicy": lambda: "CartPole-v1",
    "CnnPolicy": lambda: FakeImageEnv(screen_height=36, screen_width=36, n_channels=1, discrete=True),
    "ImpalaCnnPolicy": lambda: FakeImageEnv(screen_height=16, screen_width=16, n_channels=3, discrete=True),
    "MultiInputPolicy": lambda: SimpleMultiObsEnv(random_start=False),
}
POLICY_KWARGS: dict[str, dict[str, Any]] = {
    "MlpPolicy": dict(net_arch=[16]),
    "CnnPolicy": dict(features_extractor_kwargs=dict(features_dim=16)),
    "ImpalaCnnPolicy": dict(features_extractor_kwargs=dict(features_dim=16, channels=(4, 4))),
    "MultiInputPolicy": dict(net_arch=[16]),
}


@pytest.mark.parametrize("policy", list(ENVS))
def test_run_predict_evaluate(policy: str) -> None:
    model = DiscreteSAC(policy, ENVS[policy](), policy_kwargs=POLICY_KWARGS[policy], **SMALL).learn(120)
    assert model._n_updates == 120 - SMALL["learning_starts"]
    env = model.get_env()
    assert env is not None
    obs = env.reset()
    deterministic, _ = model.predict(obs, deterministic=True)
    with th.no_grad():
        expected = model.actor.log_probs(model.policy.obs_to_tensor(obs)[0]).argmax(dim=1).numpy()
    np.testing.assert_array_equal(deterministic, expected)
    assert model.action_space.contains(model.predict(obs, deterministic=False)[0][0])
    mean_return, _ = evaluate_policy(model, env, n_eval_episodes=1)
    assert math.isfinite(mean_return)


def test_default_target_entropy_and_ent_coef() -> None:
    model = DiscreteSAC("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16]), **SMALL)
    assert model.target_entropy == pytest.approx(AUTO_TARGET_ENTROPY_RATIO * math.log(2))
    assert model._current_ent_coef().item() == pytest.approx(DEFAULT_AUTO_ENT_COEF)
    ratio = DiscreteSAC("MlpPolicy", "CartPole-v1", target_entropy="auto_0.5", ent_coef="auto_0.2", **SMALL)
    assert ratio.target_entropy == pytest.approx(0.5 * math.log(2))
    assert ratio._current_ent_coef().item() == pytest.approx(0.2)
    fixed = DiscreteSAC("MlpPolicy", "CartPole-v1", ent_coef=0.05, **SMALL)
    assert fixed.log_ent_coef is None
    assert fixed._current_ent_coef().item() == pytest.approx(0.05)


def test_share_features_extractor() -> None:
    """Shared: one extractor, in the critics' optimizer only; the actor trains it only when asked."""
    env = ENVS["ImpalaCnnPolicy"]()
    kwargs = POLICY_KWARGS["ImpalaCnnPolicy"]
    for actor_trains in (False, True):
        policy_kwargs = dict(kwargs, share_features_extractor=True, actor_trains_features_extractor=actor_trains)
        model = DiscreteSAC("ImpalaCnnPolicy", env, policy_kwargs=policy_kwargs, **SMALL)
        assert isinstance(model.actor.features_extractor, ImpalaCnn)
        assert model.actor.features_extractor is model.critic.features_extractor
        assert model.critic_target.features_extractor is not model.critic.features_extractor
        extractor = {id(p) for p in model.actor.features_extractor.parameters()}
        actor_params = {id(p) for group in model.actor.optimizer.param_groups for p in group["params"]}
        critic_params = {id(p) for group in model.critic.optimizer.param_groups for p in group["params"]}
        assert not extractor & actor_params
        assert extractor <= critic_params
        # The actor loss alone: a gradient on the shared extractor only with actor_trains_features_extractor
        model.set_logger(configure(None, []))
        model.learn(SMALL["learning_starts"] + 1)
        batch = model.replay_buffer.sample(8)  # type: ignore[union-attr]
        _, _, actor_loss, _, _, _ = model._losses(batch, model._current_ent_coef())
        model.actor.zero_grad()
        actor_loss.backward()
        grads = [p.grad for p in model.actor.features_extractor.parameters()]
        has_grad = any(g is not None and g.abs().sum() > 0 for g in grads)
        assert has_grad == actor_trains
    with pytest.raises(ValueError, match="actor_trains_features_extractor=True needs share_features_extractor"):
        DiscreteSAC("MlpPolicy", "CartPole-v1", policy_kwargs=dict(actor_trains_features_extractor=True))


BAD_INPUTS: dict[str, tuple[dict[str, Any], str]] = {
    "negative ent_coef": (dict(ent_coef=-0.1), "ent_coef must be a finite float >= 0"),
    "nan ent_coef": (dict(ent_coef=float("nan")), "ent_coef must be a finite float >= 0"),
    "bool ent_coef": (dict(ent_coef=True), "ent_coef must be a float >= 0"),
    "unknown ent_coef string": (dict(ent_coef="learned"), "ent_coef as a string must be 'auto'"),
    "auto initial 0": (dict(ent_coef="auto_0"), r"ent_coef \(initial value of 'auto_0'\) must lie in"),
    "auto initial not a number": (dict(ent_coef="auto_x"), "ent_coef as a string must be 'auto'"),
    "target entropy with fixed ent_coef": (dict(ent_coef=0.1, target_entropy=0.3), "only used with a learned"),
    "target entropy negative": (dict(target_entropy=-1.0), "target_entropy must be"),
    "target entropy above log|A|": (dict(target_entropy=0.8), r"strictly between 0 and log\|A\| = 0.6931"),
    "target entropy ratio 1": (dict(target_entropy="auto_1"), r"ratio outside \(0, 1\)"),
    "target entropy string": (dict(target_entropy="max"), "target_entropy must be 'auto'"),
    "tau 0": (dict(tau=0.0), r"tau must be a float in \(0, 1\]"),
    "tau > 1": (dict(tau=1.5), r"tau must be a float in \(0, 1\]"),
    "target_update_interval 0": (dict(target_update_interval=0), "target_update_interval must be an int >= 1"),
    "n_critics 0": (dict(policy_kwargs=dict(n_critics=0)), "n_critics must be an int >= 1"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input(case: str) -> None:
    kwargs, message = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=message):
        DiscreteSAC("MlpPolicy", "CartPole-v1", **kwargs)


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "MountainCarContinuous-v0"])
def test_non_discrete_action_space(env_id: str) -> None:
    with pytest.raises(ValueError, match=r"DiscreteSAC needs a Discrete action space \(env.action_space\)"):
        DiscreteSAC("MlpPolicy", env_id)


def test_single_action_has_no_reachable_target_entropy() -> None:
    env = gym.make("CartPole-v1")
    env.action_space = spaces.Discrete(1)  # type: ignore[misc]
    with pytest.raises(ValueError, match=r"strictly between 0 and log\|A\| = 0.0000"):
        DiscreteSAC("MlpPolicy", env)
    DiscreteSAC("MlpPolicy", env, ent_coef=0.1, **SMALL).learn(60)  # a fixed alpha needs no target


# ---------------------------------------------------------------------------------------------------------------
# Losses on a fixed batch against an independent NumPy (float64) computation
# ---------------------------------------------------------------------------------------------------------------
N_STATES, N_ACTIONS = 5, 3
GAMMA = 0.9


class OneHotEnv(gym.Env):
    """One-hot float observations: a linear network (net_arch=[]) is then a table whose rows we can set."""

    def __init__(self) -> None:
        self.observation_space = spaces.Box(0.0, 1.0, (N_STATES,), dtype=np.float32)
        self.action_space = spaces.Discrete(N_ACTIONS)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.eye(N_STATES, dtype=np.float32)[0], {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        state = int(self.np_random.integers(N_STATES))
        return np.eye(N_STATES, dtype=np.float32)[state], 0.0, False, False, {}


def set_table(network: th.nn.Sequential, table: np.ndarray) -> None:
    """Make a linear layer on one-hot observations return table[s] for state s."""
    linear = network[0]
    assert isinstance(linear, th.nn.Linear)
    with th.no_grad():
        linear.weight.copy_(th.as_tensor(table.T, dtype=th.float32))
        linear.bias.zero_()


RNG = np.random.default_rng(0)
# Actor logits; state 3 is near-deterministic (its other actions' probabilities underflow float32 to 0)
LOGITS = RNG.normal(size=(N_STATES, N_ACTIONS))
LOGITS[3] = [0.0, -1e4, -2e4]
Q1, Q2 = RNG.normal(size=(2, N_STATES, N_ACTIONS))
Q1_TARGET, Q2_TARGET = RNG.normal(size=(2, N_STATES, N_ACTIONS))
# (state, action, reward, next state, done, discount (gamma^k of an n-step sample))
BATCH = [
    (0, 0, 1.0, 1, 0.0, GAMMA),
    (1, 2, 0.0, 3, 0.0, GAMMA),
    (2, 1, -0.5, 3, 1.0, GAMMA),
    (3, 0, 0.25, 4, 0.0, GAMMA**3),
    (4, 1, 2.0, 0, 0.0, GAMMA**2),
]


def table_model(**kwargs: Any) -> DiscreteSAC:
    model = DiscreteSAC("MlpPolicy", OneHotEnv(), gamma=GAMMA, policy_kwargs=dict(net_arch=[]), seed=0, **kwargs)
    model.set_logger(configure(None, []))
    set_table(model.actor.logits_net, LOGITS)
    for network, table in zip(model.critic.q_networks, (Q1, Q2), strict=True):
        set_table(network, table)
    for network, table in zip(model.critic_target.q_networks, (Q1_TARGET, Q2_TARGET), strict=True):
        set_table(network, table)
    return model


def fixed_batch() -> ReplayBufferSamples:
    eye = np.eye(N_STATES, dtype=np.float32)
    s, a, r, s2, d, k = (np.array(column) for column in zip(*BATCH, strict=True))

    def tensor(x: np.ndarray) -> th.Tensor:
        return th.as_tensor(x, dtype=th.float32)

    return ReplayBufferSamples(
        tensor(eye[s]),
        th.as_tensor(a[:, None]),
        tensor(eye[s2]),
        tensor(d[:, None]),
        tensor(r[:, None]),
        tensor(k[:, None]),
    )


def hand_computation(alpha: float, target_entropy: float) -> dict[str, float | np.ndarray]:
    """The three losses, written out in float64 from the tables (no torch, no package code)."""
    log_pi = np.empty_like(LOGITS)
    for s in range(N_STATES):
        shifted = LOGITS[s] - LOGITS[s].max()
        log_pi[s] = shifted - math.log(sum(math.exp(x) for x in shifted))
    pi = np.exp(log_pi)
    q_min, q_target_min = np.minimum(Q1, Q2), np.minimum(Q1_TARGET, Q2_TARGET)
    targets, critic_terms, actor_terms, entropies = [], [], [], []
    for s, a, r, s2, done, discount in BATCH:
        soft_next = sum(pi[s2, b] * (q_target_min[s2, b] - alpha * log_pi[s2, b]) for b in range(N_ACTIONS))
        y = r + (1 - done) * discount * soft_next
        targets.append(y)
        critic_terms.append(((Q1[s, a] - y) ** 2, (Q2[s, a] - y) ** 2))
        actor_terms.append(sum(pi[s, b] * (alpha * log_pi[s, b] - q_min[s, b]) for b in range(N_ACTIONS)))
        entropies.append(-sum(pi[s, b] * log_pi[s, b] for b in range(N_ACTIONS)))
    critic = 0.5 * (np.mean([c[0] for c in critic_terms]) + np.mean([c[1] for c in critic_terms]))
    return {
        "target": np.array(targets),
        "critic": float(critic),
        "actor": float(np.mean(actor_terms)),
        "ent_coef": float(math.log(alpha) * np.mean([h - target_entropy for h in entropies])),
        "ent_coef_grad": float(np.mean([h - target_entropy for h in entropies])),
        "entropy": np.array(entropies),
    }


@pytest.mark.parametrize("alpha", [0.3, 1e-6])
def test_losses_match_hand_computation(alpha: float) -> None:
    model = table_model(ent_coef=f"auto_{alpha}", target_entropy=0.5)
    expected = hand_computation(alpha, 0.5)
    target, critic_loss, actor_loss, ent_coef_loss, log_pi, entropy = model._losses(
        fixed_batch(), model._current_ent_coef()
    )
    np.testing.assert_allclose(target.squeeze(1).numpy(), expected["target"], rtol=0, atol=1e-6)
    assert critic_loss.item() == pytest.approx(expected["critic"], abs=1e-6)
    assert actor_loss.item() == pytest.approx(expected["actor"], abs=1e-6)
    assert ent_coef_loss is not None
    assert ent_coef_loss.item() == pytest.approx(expected["ent_coef"], abs=1e-6)
    np.testing.assert_allclose(entropy.numpy(), expected["entropy"], rtol=0, atol=1e-6)
    # d(ent_coef loss) / d log(alpha) = mean(H - target): alpha falls while the policy is more random than the target
    ent_coef_loss.backward()
    assert model.log_ent_coef is not None
    assert model.log_ent_coef.grad is not None
    assert model.log_ent_coef.grad.item() == pytest.approx(expected["ent_coef_grad"], abs=1e-6)
    # The near-deterministic state: exact zeros, no NaN, and finite gradients in the actor
    assert th.isfinite(log_pi).all()
    assert log_pi[3].exp().tolist() == [1.0, 0.0, 0.0]
    actor_loss.backward()
    assert all(th.isfinite(p.grad).all() for p in model.actor.parameters() if p.grad is not None)


def test_train_step_applies_the_losses() -> None:
    """One train() step on the fixed batch moves each network as one optimizer step on its own loss."""
    model = table_model(ent_coef="auto_0.3", target_entropy=0.5, learning_rate=1e-2, tau=0.5)
    reference = table_model(ent_coef="auto_0.3", target_entropy=0.5, learning_rate=1e-2, tau=0.5)
    batch = fixed_batch()

    class FixedBuffer:
        def sample(self, batch_size: int, env: Any = None) -> ReplayBufferSamples:
            return batch

    model.replay_buffer = FixedBuffer()  # type: ignore[assignment]
    model.train(gradient_steps=1, batch_size=len(BATCH))
    # The same step by hand with the reference model's optimizers
    _, critic_loss, actor_loss, ent_coef_loss, _, _ = reference._losses(batch, reference._current_ent_coef())
    assert ent_coef_loss is not None
    assert reference.ent_coef_optimizer is not None
    for optimizer, loss in (
        (reference.critic.optimizer, critic_loss),
        (reference.actor.optimizer, actor_loss),
        (reference.ent_coef_optimizer, ent_coef_loss),
    ):
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for trained, expected in zip(model.critic.parameters(), reference.critic.parameters(), strict=True):
        assert th.equal(trained, expected)
    for trained, expected in zip(model.actor.parameters(), reference.actor.parameters(), strict=True):
        assert th.equal(trained, expected)
    assert model.log_ent_coef is not None
    assert reference.log_ent_coef is not None
    assert th.equal(model.log_ent_coef, reference.log_ent_coef)
    # Polyak update after the step (target_update_interval=1): 0.5 * critic + 0.5 * old target
    for target, critic, old in zip(
        model.critic_target.q_networks, reference.critic.q_networks, (Q1_TARGET, Q2_TARGET), strict=True
    ):
        expected_weight = 0.5 * critic[0].weight + 0.5 * th.as_tensor(old.T, dtype=th.float32)
        th.testing.assert_close(target[0].weight, expected_weight)


def test_target_update_interval_counts_gradient_steps_over_calls() -> None:
    """Hard copy every 3 gradient steps across train() calls of 2 steps each (SB3's SAC would copy at every call)."""
    model = table_model(ent_coef=0.1, learning_rate=1e-2, tau=1.0, target_update_interval=3)
    batch = fixed_batch()

    class FixedBuffer:
        def sample(self, batch_size: int, env: Any = None) -> ReplayBufferSamples:
            return batch

    model.replay_buffer = FixedBuffer()  # type: ignore[assignment]
    copies = []
    for _ in range(3):
        model.train(gradient_steps=2, batch_size=len(BATCH))
        copies.append(
            all(
                th.equal(t, c) for t, c in zip(model.critic_target.parameters(), model.critic.parameters(), strict=True)
            )
        )
    assert copies == [False, False, True]  # after 2, 4 and 6 gradient steps: copies at steps 3 and 6


def test_extreme_values_stay_finite() -> None:
    """Logits 1e4 apart, Q-values up to 1e6 and alpha from 0 to 1e3: losses, gradients and samples are finite."""
    for alpha in (0.0, 1e-8, 1e3):
        model = table_model(ent_coef=alpha, learning_rate=1e-3)
        for network in (*model.critic.q_networks, *model.critic_target.q_networks):
            set_table(network, 1e6 * RNG.normal(size=(N_STATES, N_ACTIONS)))
        set_table(model.actor.logits_net, 1e4 * RNG.normal(size=(N_STATES, N_ACTIONS)))
        target, critic_loss, actor_loss, _, log_pi, entropy = model._losses(fixed_batch(), model._current_ent_coef())
        assert th.isfinite(target).all()
        assert th.isfinite(log_pi).all()
        assert th.isfinite(entropy).all()
        assert math.isfinite(critic_loss.item())
        assert math.isfinite(actor_loss.item())
        (critic_loss + actor_loss).backward()
        assert all(th.isfinite(p.grad).all() for p in model.policy.parameters() if p.grad is not None)
        actions, _ = model.predict(np.eye(N_STATES, dtype=np.float32), deterministic=False)
        assert ((actions >= 0) & (actions < N_ACTIONS)).all()


# ---------------------------------------------------------------------------------------------------------------
# Save / load
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ent_coef", ["auto", 0.1])
def test_save_load_same_predictions_and_next_update(ent_coef: str | float, tmp_path: Path) -> None:
    model = DiscreteSAC("MlpPolicy", "CartPole-v1", ent_coef=ent_coef, policy_kwargs=dict(net_arch=[16]), **SMALL)
    model.learn(200)
    model.save(tmp_path / "model.zip")
    model.save_replay_buffer(tmp_path / "buffer.pkl")
    loaded = DiscreteSAC.load(tmp_path / "model.zip", env=model.get_env())
    loaded.load_replay_buffer(tmp_path / "buffer.pkl")
    loaded.set_logger(configure(None, []))

    observations = np.random.default_rng(1).normal(size=(50, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        loaded.predict(observations, deterministic=True)[0], model.predict(observations, deterministic=True)[0]
    )
    for algo in (model, loaded):
        np.random.seed(7)  # noqa: NPY002  (SB3's replay buffer samples with NumPy's global generator)
        th.manual_seed(7)
        algo.train(gradient_steps=3, batch_size=16)
    for name, tensor in model.policy.state_dict().items():
        assert th.equal(tensor, loaded.policy.state_dict()[name]), name
    assert th.equal(model._current_ent_coef(), loaded._current_ent_coef())
    if ent_coef == "auto":
        assert model.ent_coef_optimizer is not None
        assert loaded.ent_coef_optimizer is not None
        saved_state = model.ent_coef_optimizer.state_dict()["state"][0]
        loaded_state = loaded.ent_coef_optimizer.state_dict()["state"][0]
        for key in ("step", "exp_avg", "exp_avg_sq"):
            assert th.equal(saved_state[key], loaded_state[key]), key
        assert model.target_entropy == loaded.target_entropy
    for optimizer, loaded_optimizer in (
        (model.actor.optimizer, loaded.actor.optimizer),
        (model.critic.optimizer, loaded.critic.optimizer),
    ):
        for state, loaded_state in zip(
            optimizer.state_dict()["state"].values(), loaded_optimizer.state_dict()["state"].values(), strict=True
        ):
            assert th.equal(state["exp_avg"], loaded_state["exp_avg"])
