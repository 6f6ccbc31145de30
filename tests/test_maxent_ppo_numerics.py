"""MaxEntPPO against independent computations: SB3 PPO at beta=0, the paper's L^MAX, hand-computed GAE."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_maxent import MaxEntA2C, MaxEntPPO, MaxEntTRPO

MODES = ["one_step", "soft_return"]


# --------------------------------------------------------------------------------------------------
# beta = 0 is SB3's PPO, bit for bit
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("env_id", "extra"),
    [("CartPole-v1", {}), ("Pendulum-v1", {"use_sde": True, "sde_sample_freq": 8})],
)
def test_beta_zero_reproduces_ppo(mode: str, env_id: str, extra: dict) -> None:
    settings = dict(n_steps=256, batch_size=64, n_epochs=4, seed=3, policy_kwargs=dict(net_arch=[32, 32]), **extra)
    ppo = PPO("MlpPolicy", env_id, **settings).learn(3000)
    maxent = MaxEntPPO("MlpPolicy", env_id, maxent_coef=0.0, maxent_mode=mode, **settings).learn(3000)
    ppo_params = dict(ppo.policy.named_parameters())
    for name, param in maxent.policy.named_parameters():
        assert th.equal(param, ppo_params[name]), name
    # and the runs were not trivial: the parameters moved away from their initial values
    fresh = PPO("MlpPolicy", env_id, **settings)
    assert not all(th.equal(p, q) for p, q in zip(fresh.policy.parameters(), ppo.policy.parameters(), strict=True))


def test_positive_beta_changes_the_update() -> None:
    settings = dict(n_steps=256, batch_size=64, n_epochs=4, seed=3)
    a = MaxEntPPO("MlpPolicy", "CartPole-v1", maxent_coef=0.0, **settings).learn(512)
    b = MaxEntPPO("MlpPolicy", "CartPole-v1", maxent_coef=0.3, **settings).learn(512)
    assert not all(th.equal(p, q) for p, q in zip(a.policy.parameters(), b.policy.parameters(), strict=True))


# --------------------------------------------------------------------------------------------------
# one_step: losses and gradients against the paper's L^MAX written here from scratch
# --------------------------------------------------------------------------------------------------
N_STEPS, N_ENVS, N_ACTIONS, OBS_DIM = 16, 2, 3, 4


class _NullEnv(gym.Env):
    observation_space = spaces.Box(-1.0, 1.0, (OBS_DIM,), np.float32)
    action_space = spaces.Discrete(N_ACTIONS)

    def reset(self, *, seed=None, options=None):
        return np.zeros(OBS_DIM, np.float32), {}

    def step(self, action):
        return np.zeros(OBS_DIM, np.float32), 0.0, False, False, {}


def _hand_built_model(beta: float, maxent_grad: bool, normalize_advantage: bool) -> tuple[MaxEntPPO, dict]:
    """A model whose rollout buffer holds a fixed batch (ratios far from 1, so clipping is active)."""
    model = MaxEntPPO(
        "MlpPolicy",
        DummyVecEnv([_NullEnv] * N_ENVS),
        n_steps=N_STEPS,
        batch_size=N_STEPS * N_ENVS,  # one minibatch: the logged losses are the batch losses
        n_epochs=1,
        maxent_coef=beta,
        maxent_grad=maxent_grad,
        normalize_advantage=normalize_advantage,
        max_grad_norm=1e9,  # no gradient clipping, so captured gradients are the raw ones
        learning_rate=0.0,
        vf_coef=0.5,
        seed=0,
        policy_kwargs=dict(net_arch=[8]),
    )
    rng = np.random.default_rng(42)
    obs = rng.uniform(-1, 1, (N_STEPS, N_ENVS, OBS_DIM)).astype(np.float32)
    actions = rng.integers(0, N_ACTIONS, (N_STEPS, N_ENVS))
    with th.no_grad():
        flat_obs = th.as_tensor(obs.reshape(-1, OBS_DIM))
        current_log_prob = model.policy.get_distribution(flat_obs).log_prob(th.as_tensor(actions.reshape(-1)))
    # old log-probabilities 0.5 nats either side of the current ones: many ratios leave [0.8, 1.2]
    old_log_prob = current_log_prob.numpy().reshape(N_STEPS, N_ENVS) + rng.uniform(-0.5, 0.5, (N_STEPS, N_ENVS))
    batch = {
        "obs": obs,
        "actions": actions,
        "old_log_prob": old_log_prob.astype(np.float32),
        "advantages": rng.normal(0.5, 2.0, (N_STEPS, N_ENVS)).astype(np.float32),
        "returns": rng.normal(1.0, 1.0, (N_STEPS, N_ENVS)).astype(np.float32),
        "old_values": rng.normal(0.0, 1.0, (N_STEPS, N_ENVS)).astype(np.float32),
    }
    buffer = model.rollout_buffer
    buffer.reset()
    for t in range(N_STEPS):
        buffer.add(
            obs[t],
            actions[t].reshape(N_ENVS, 1),
            np.zeros(N_ENVS, np.float32),
            np.zeros(N_ENVS, np.float32),
            th.as_tensor(batch["old_values"][t]),
            th.as_tensor(batch["old_log_prob"][t]),
        )
    buffer.advantages = batch["advantages"].copy()
    buffer.returns = batch["returns"].copy()
    model.set_logger(Logger(folder=None, output_formats=[]))
    return model, batch


def _paper_loss(model: MaxEntPPO, batch: dict, beta: float, maxent_grad: bool, normalize: bool):
    """-L^MAX (clipped surrogate with A_t(beta), value loss to R_t(beta)), written from the paper's formula."""
    obs = th.as_tensor(batch["obs"].reshape(-1, OBS_DIM))
    actions = th.as_tensor(batch["actions"].reshape(-1))
    policy = model.policy
    latent_pi, latent_vf = policy.mlp_extractor(policy.extract_features(obs))
    logits = policy.action_net(latent_pi)
    values = policy.value_net(latent_vf).flatten()
    log_p = logits - th.logsumexp(logits, dim=1, keepdim=True)  # log pi_theta(.|s_t)
    entropy = -(log_p.exp() * log_p).sum(dim=1)  # H(pi_theta(.|s_t)) = E_a[-log pi_theta(a|s_t)]
    log_prob = log_p.gather(1, actions[:, None]).squeeze(1)

    advantages = th.as_tensor(batch["advantages"].reshape(-1), dtype=th.float32)
    if normalize:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    h_in_advantage = entropy if maxent_grad else entropy.detach()
    advantages_beta = advantages + beta * h_in_advantage  # A_t(beta), one-step approximation
    returns_beta = th.as_tensor(batch["returns"].reshape(-1)) + beta * entropy.detach()  # R_t(beta)

    ratio = th.exp(log_prob - th.as_tensor(batch["old_log_prob"].reshape(-1)))
    epsilon = 0.2
    surrogate = th.minimum(ratio * advantages_beta, th.clamp(ratio, 1 - epsilon, 1 + epsilon) * advantages_beta)
    policy_loss = -surrogate.mean()
    value_loss = ((values - returns_beta) ** 2).mean()
    return policy_loss, value_loss, float((th.abs(ratio - 1) > epsilon).float().mean())


@pytest.mark.parametrize("maxent_grad", [True, False])
@pytest.mark.parametrize("normalize_advantage", [True, False])
@pytest.mark.parametrize("beta", [0.3, 2.0])
def test_one_step_losses_and_gradients(beta: float, maxent_grad: bool, normalize_advantage: bool) -> None:
    model, batch = _hand_built_model(beta, maxent_grad, normalize_advantage)

    # reference: losses and autograd gradients of -L^MAX at the same parameters
    policy_loss, value_loss, clip_fraction = _paper_loss(model, batch, beta, maxent_grad, normalize_advantage)
    assert 0.1 < clip_fraction < 0.9, "the batch must exercise both the clipped and unclipped branches"
    params = [p for p in model.policy.parameters() if p.requires_grad]
    reference_grads = th.autograd.grad(policy_loss + 0.5 * value_loss, params, allow_unused=True)

    captured: list[list[th.Tensor | None]] = []
    original_step = model.policy.optimizer.step

    def capture_then_step(*args, **kwargs):
        captured.append([None if p.grad is None else p.grad.clone() for p in params])
        return original_step(*args, **kwargs)

    model.policy.optimizer.step = capture_then_step  # type: ignore[method-assign]
    model.train()

    logged = model.logger.name_to_value
    assert logged["train/policy_gradient_loss"] == pytest.approx(policy_loss.item(), abs=1e-6)
    # the value loss reaches ~10.7 at beta=2, where one float32 ulp is 9.5e-7: 1e-6 relative there
    assert logged["train/value_loss"] == pytest.approx(value_loss.item(), rel=1e-6, abs=1e-6)
    assert len(captured) == 1
    for reference, got in zip(reference_grads, captured[0], strict=True):
        reference = th.zeros_like(got) if reference is None else reference
        assert got is not None
        th.testing.assert_close(got, reference, rtol=1e-5, atol=1e-6)


def test_maxent_grad_changes_the_gradient() -> None:
    # Guard against a test that cannot fail: the two settings must give different gradients here.
    model, batch = _hand_built_model(1.0, True, True)
    loss_grad = sum(_paper_loss(model, batch, 1.0, True, True)[:1])
    loss_detached = sum(_paper_loss(model, batch, 1.0, False, True)[:1])
    params = list(model.policy.action_net.parameters())
    g1 = th.autograd.grad(loss_grad, params)
    g2 = th.autograd.grad(loss_detached, params)
    assert any((a - b).abs().max() > 1e-4 for a, b in zip(g1, g2, strict=True))


# --------------------------------------------------------------------------------------------------
# soft_return: stored rewards / advantages / returns equal GAE over r + beta * H(pi_old), by hand
# --------------------------------------------------------------------------------------------------
class _ScriptedEnv(gym.Env):
    """
    Deterministic episodes whose rewards ignore the action: episode 0 terminates after 3 steps,
    episode 1 is truncated after 4 steps (bootstrapped by SB3), later episodes run past the rollout.
    The observation encodes (episode, step), so every state has its own policy and value.
    """

    observation_space = spaces.Box(-10.0, 10.0, (2,), np.float32)
    action_space = spaces.Discrete(3)
    LENGTHS = {0: ("terminated", 3), 1: ("truncated", 4)}

    def __init__(self) -> None:
        self.episode = -1
        self.t = 0

    def _obs(self) -> np.ndarray:
        return np.array([0.7 * self.episode - 0.5, 0.3 * self.t - 0.4], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode += 1
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        reward = 1.0 + 0.25 * self.t - 0.5 * self.episode
        kind, length = self.LENGTHS.get(self.episode, ("running", 10**6))
        end = self.t >= length
        return self._obs(), reward, kind == "terminated" and end, kind == "truncated" and end, {}


#: the on-policy family shares the rollout hook; each algorithm's own settings for a 10-step rollout
_SOFT_RETURN_ALGOS = {MaxEntPPO: {"batch_size": 10}, MaxEntA2C: {}, MaxEntTRPO: {"batch_size": 10}}


@pytest.mark.parametrize("algo", list(_SOFT_RETURN_ALGOS), ids=lambda algo: algo.__name__)
@pytest.mark.parametrize("maxent_grad", [True, False])
def test_soft_return_gae_by_hand(maxent_grad: bool, algo: type[MaxEntPPO]) -> None:
    beta, gamma, lam, n_steps = 0.7, 0.9, 0.8, 10
    model = algo(
        "MlpPolicy",
        DummyVecEnv([_ScriptedEnv]),
        n_steps=n_steps,
        **_SOFT_RETURN_ALGOS[algo],
        gamma=gamma,
        gae_lambda=lam,
        maxent_coef=beta,
        maxent_mode="soft_return",
        maxent_grad=maxent_grad,
        seed=1,
        policy_kwargs=dict(net_arch=[16]),
    )
    model.set_logger(Logger(folder=None, output_formats=[]))
    _, callback = model._setup_learn(n_steps, callback=None)
    callback.init_callback(model)
    assert model.collect_rollouts(model.env, callback, model.rollout_buffer, n_steps)

    # Replay the same trajectory by hand (rewards ignore actions, so it is fully known).
    script = _ScriptedEnv()
    obs = [script.reset()[0]]
    rewards, terminated, truncated, next_obs = [], [], [], []
    for _ in range(n_steps):
        o, r, term, trunc, _ = script.step(0)
        rewards.append(r)
        terminated.append(term)
        truncated.append(trunc)
        next_obs.append(o)
        obs.append(script.reset()[0] if (term or trunc) else o)

    def value(o: np.ndarray) -> float:
        with th.no_grad():
            return float(model.policy.predict_values(th.as_tensor(o[None]))[0, 0])

    def entropy(o: np.ndarray) -> float:
        with th.no_grad():
            probs = model.policy.get_distribution(th.as_tensor(o[None])).distribution.probs[0].numpy()
        return float(-(probs * np.log(probs)).sum())

    # r'_t = r_t + beta * H(pi_old(.|s_t)) (+ gamma * V(s_T) when truncated: SB3's bootstrap)
    soft_rewards = np.array(
        [
            rewards[t] + beta * entropy(obs[t]) + (gamma * value(next_obs[t]) if truncated[t] else 0.0)
            for t in range(n_steps)
        ]
    )
    values = np.array([value(obs[t]) for t in range(n_steps)])
    last_value = value(obs[n_steps])
    done = np.array(terminated) | np.array(truncated)
    advantages = np.zeros(n_steps)
    gae = 0.0
    for t in reversed(range(n_steps)):
        next_value = last_value if t == n_steps - 1 else values[t + 1]
        not_done = 0.0 if done[t] else 1.0
        delta = soft_rewards[t] + gamma * next_value * not_done - values[t]
        gae = delta + gamma * lam * not_done * gae
        advantages[t] = gae

    if algo.entropy_from_train:
        # MaxEntA2C takes H(pi_old) from its training forward pass (the parameters that collected the rollout):
        # the bonus reaches the buffer in train(), after the hand computation above used those parameters
        model.train()
    buffer = model.rollout_buffer
    # the trajectory has one episode of each ending
    assert done.sum() == 2
    assert terminated[2]
    assert truncated[6]
    np.testing.assert_allclose(buffer.rewards[:, 0], soft_rewards, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(buffer.values[:, 0], values, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(buffer.advantages[:, 0], advantages, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(buffer.returns[:, 0], advantages + values, rtol=1e-5, atol=1e-5)
    # the bonus is really there: without it the rewards would be the env's
    assert np.abs(buffer.rewards[:, 0] - np.array(rewards)).min() > 0.1


def test_soft_return_objective_gradient() -> None:
    """soft_return + maxent_grad adds beta * grad mean(H); maxent_grad=False leaves PPO's loss."""
    grads = {}
    for maxent_grad in (True, False):
        model, batch = _hand_built_model(0.5, maxent_grad, True)
        model.maxent_mode = "soft_return"
        params = [p for p in model.policy.parameters() if p.requires_grad]
        captured = []
        original_step = model.policy.optimizer.step

        def capture(*args, _params=params, _captured=captured, _step=original_step, **kwargs):
            _captured.append([p.grad.clone() for p in _params])
            return _step(*args, **kwargs)

        model.policy.optimizer.step = capture  # type: ignore[method-assign]
        # reference: PPO's clipped loss (beta = 0 in the advantage) minus beta * mean(H) when maxent_grad
        policy_loss, value_loss, _ = _paper_loss(model, batch, 0.0, True, True)
        obs = th.as_tensor(batch["obs"].reshape(-1, OBS_DIM))
        entropy = model.policy.get_distribution(obs).entropy().mean()
        reference = policy_loss + 0.5 * value_loss - (0.5 * entropy if maxent_grad else 0.0)
        reference_grads = th.autograd.grad(reference, params)
        model.train()
        for ref, got in zip(reference_grads, captured[0], strict=True):
            th.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)
        grads[maxent_grad] = captured[0]
    assert any((a - b).abs().max() > 1e-5 for a, b in zip(grads[True], grads[False], strict=True))
