"""The on-policy family (MaxEntA2C, MaxEntMaskablePPO, MaxEntTRPO; MaxEntPPO for "auto"): parents at beta = 0,
hand-computed losses, the masked entropy, the learned coefficient, save/load, bad input."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from helpers import PPO_CARTPOLE
from sb3_contrib import TRPO, MaskablePPO
from sb3_contrib.common.envs import InvalidActionEnvDiscrete
from sb3_contrib.common.maskable.evaluation import evaluate_policy as evaluate_masked_policy
from stable_baselines3 import A2C
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import SimpleMultiObsEnv
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_maxent import MaxEntA2C, MaxEntMaskablePPO, MaxEntPPO, MaxEntTRPO
from sb3_maxent.common.on_policy import MaxEntOnPolicyMixin

TINY = {"net_arch": [16]}
#: algorithm -> (its parent, small settings for a few-thousand-step run, modes it offers)
FAMILY: dict[type[BaseAlgorithm], tuple[type[BaseAlgorithm], dict[str, Any], tuple[str, ...]]] = {
    MaxEntA2C: (A2C, {"n_steps": 16}, ("soft_return",)),
    MaxEntMaskablePPO: (MaskablePPO, {"n_steps": 256, "batch_size": 64, "n_epochs": 2}, ("one_step", "soft_return")),
    MaxEntTRPO: (TRPO, {"n_steps": 256, "batch_size": 64, "n_critic_updates": 2}, ("one_step", "soft_return")),
}
CASES = [(algo, mode) for algo, (_, _, modes) in FAMILY.items() for mode in modes]
IDS = [f"{algo.__name__}-{mode}" for algo, mode in CASES]


class MaskedIdentity(InvalidActionEnvDiscrete):
    """sb3-contrib's identity task with 4 of 8 actions masked at every step; counts masked actions taken."""

    def __init__(self) -> None:
        super().__init__(dim=8, ep_length=50, n_invalid_actions=4)
        self.masked_taken = 0

    def step(self, action: int):  # type: ignore[override]
        self.masked_taken += int(action in self.invalid_actions)
        return super().step(action)


def make_env(algo: type[BaseAlgorithm]) -> Any:
    """CartPole, or the masked identity task for the algorithm that needs masks."""
    return DummyVecEnv([MaskedIdentity]) if algo is MaxEntMaskablePPO else "CartPole-v1"


def parameters(model: BaseAlgorithm) -> dict[str, th.Tensor]:
    return {name: param.detach().clone() for name, param in model.policy.state_dict().items()}


# ------------------------------------------------------------------ rollout entropy: the hook and the pass
class CallsPolicy(BaseCallback):
    """Calls the policy once more at every step: the hook then sees more calls than steps."""

    def _on_step(self) -> bool:
        with th.no_grad():
            self.model.policy(obs_as_tensor(self.model._last_obs, self.model.device))  # type: ignore[union-attr]
        return True


ENTROPY_CASES = {
    "PPO-Discrete": (MaxEntPPO, "MlpPolicy", lambda: "CartPole-v1", {"n_steps": 32, "batch_size": 32}),
    "PPO-gSDE": (MaxEntPPO, "MlpPolicy", lambda: "Pendulum-v1", {"n_steps": 32, "batch_size": 32, "use_sde": True}),
    "PPO-Dict": (MaxEntPPO, "MultiInputPolicy", lambda: SimpleMultiObsEnv(random_start=False),
                 {"n_steps": 32, "batch_size": 32}),
    "MaskablePPO-masked": (MaxEntMaskablePPO, "MlpPolicy", lambda: DummyVecEnv([MaskedIdentity] * 2),
                           {"n_steps": 32, "batch_size": 32}),
    "TRPO-Discrete": (MaxEntTRPO, "MlpPolicy", lambda: "CartPole-v1", {"n_steps": 32, "batch_size": 32}),
}  # fmt: skip


@pytest.mark.parametrize("extra_calls", [False, True], ids=["hook", "fallback"])
@pytest.mark.parametrize("case", list(ENTROPY_CASES))
def test_rollout_entropy_from_the_collection_equals_the_batched_pass(case: str, extra_calls: bool) -> None:
    """
    The entropies the forward hook reads during collection (masked for MaskablePPO) equal a separate batched pass
    over the stored observations with the same parameters; where a callback calls the policy in between, the
    batched pass is used instead. Both give the soft_return bonus added to the rewards.
    """
    algo, policy, env, settings = ENTROPY_CASES[case]
    model = algo(policy, env(), maxent_coef=0.1, maxent_mode="soft_return", policy_kwargs=TINY, seed=0, **settings)
    model.set_logger(Logger(folder=None, output_formats=[]))
    used: list[np.ndarray] = []
    use = model._use_rollout_entropy
    model._use_rollout_entropy = lambda entropy, buffer: (used.append(entropy.copy()), use(entropy, buffer))[1]
    batched: list[np.ndarray] = []
    rollout_entropy = model._rollout_entropy
    model._rollout_entropy = lambda buffer: (batched.append(rollout_entropy(buffer)), batched[-1])[1]
    _, callback = model._setup_learn(settings["n_steps"], callback=CallsPolicy() if extra_calls else None)
    callback.on_training_start(locals(), globals())
    rewards_before = []
    buffer = model.rollout_buffer
    original_add = buffer.add

    def add(*args: Any, **kwargs: Any) -> None:
        original_add(*args, **kwargs)
        rewards_before.append(buffer.rewards[buffer.pos - 1].copy())

    buffer.add = add  # type: ignore[method-assign]
    assert model.collect_rollouts(model.env, callback, buffer, settings["n_steps"])
    assert len(used) == 1
    assert used[0].shape == (settings["n_steps"], model.n_envs)
    assert len(batched) == int(extra_calls)  # the batched pass runs only as the fallback
    expected = rollout_entropy(buffer)  # same parameters: nothing was trained
    np.testing.assert_allclose(used[0], expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(buffer.rewards - np.stack(rewards_before), 0.1 * expected, rtol=1e-5, atol=1e-6)
    if algo is MaxEntMaskablePPO:
        assert (used[0] <= math.log(4) + 1e-6).all()  # masked: at most log(valid actions)


# -------------------------------------------------------------------------------------------------- beta = 0
@pytest.mark.parametrize(("algo", "mode"), CASES, ids=IDS)
def test_beta_zero_reproduces_parent(algo: type[BaseAlgorithm], mode: str) -> None:
    parent, settings, _ = FAMILY[algo]
    th.set_num_threads(1)
    kwargs = {"seed": 3, "policy_kwargs": TINY, "device": "cpu", **settings}
    expected = parameters(parent("MlpPolicy", make_env(algo), **kwargs).learn(1024))
    got = parameters(algo("MlpPolicy", make_env(algo), maxent_coef=0.0, maxent_mode=mode, **kwargs).learn(1024))
    for name, param in got.items():
        assert th.equal(param, expected[name]), name
    # not trivial: training moved the parameters, and beta > 0 moves them elsewhere
    fresh = parameters(parent("MlpPolicy", make_env(algo), **kwargs))
    assert not all(th.equal(fresh[name], param) for name, param in expected.items())
    other = parameters(algo("MlpPolicy", make_env(algo), maxent_coef=0.2, maxent_mode=mode, **kwargs).learn(1024))
    assert not all(th.equal(other[name], param) for name, param in expected.items())


# ---------------------------------------------------------------------------------------------- bad input
def test_a2c_refuses_one_step_and_says_why() -> None:
    with pytest.raises(ValueError, match=r"MaxEntA2C has no maxent_mode='one_step': A2C's loss .* no importance ratio"):
        MaxEntA2C("MlpPolicy", "CartPole-v1", maxent_mode="one_step")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"maxent_coef": -0.1}, "maxent_coef"),
        ({"maxent_coef": "automatic"}, "maxent_coef must be .*'auto'"),
        ({"maxent_coef": "auto_x"}, "maxent_coef must be .*'auto_<initial value>'"),
        ({"maxent_coef": "auto_0"}, "initial value of a learned beta must be > 0"),
        ({"maxent_coef": 0.1, "target_entropy": 0.3}, "only used by a learned beta: pass maxent_coef='auto'"),
        ({"maxent_coef": "auto", "target_entropy": 5.0}, r"strictly between 0 and log\|A\| = 0.6931"),
        ({"maxent_coef": "auto", "target_entropy": "high"}, "target_entropy must be 'auto' or a float"),
        ({"maxent_coef": "auto", "maxent_coef_lr": 0.0}, "maxent_coef_lr"),
        ({"maxent_mode": "soft"}, "maxent_mode must be one of"),
        ({"maxent_grad": "yes"}, "maxent_grad must be True or False"),
    ],
)
@pytest.mark.parametrize("algo", [MaxEntPPO, MaxEntTRPO])
def test_bad_input(algo: type[BaseAlgorithm], kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        algo("MlpPolicy", "CartPole-v1", **kwargs)


@pytest.mark.parametrize("algo", list(FAMILY))
def test_refuses_the_parents_files(algo: type[BaseAlgorithm], tmp_path: Path) -> None:
    parent = FAMILY[algo][0]
    parent("MlpPolicy", make_env(algo), policy_kwargs=TINY).save(tmp_path / "parent.zip")
    with pytest.raises(ValueError, match=f"saved by {parent.__name__}, not by {algo.__name__}"):
        algo.load(tmp_path / "parent.zip")


# -------------------------------------------------------------------------- masks: never sampled, masked H
def test_masked_actions_never_sampled_and_entropy_is_the_masked_one() -> None:
    env = DummyVecEnv([MaskedIdentity])
    model = MaxEntMaskablePPO(
        "MlpPolicy", env, n_steps=128, batch_size=64, n_epochs=2, maxent_coef=0.5, maxent_mode="soft_return", seed=0
    )
    model.set_logger(Logger(folder=None, output_formats=[]))
    model.learn(512, log_interval=10**6)  # no dump: the rollout's keys stay readable
    assert env.envs[0].unwrapped.masked_taken == 0  # type: ignore[attr-defined]
    # the entropy pass equals -sum p log p of the softmax over the unmasked logits, computed here
    buffer = model.rollout_buffer
    obs = th.as_tensor(buffer.observations.reshape(-1, buffer.observations.shape[-1]))
    masks = th.as_tensor(buffer.action_masks.reshape(-1, 8)).bool()
    assert (masks.sum(dim=1) == 4).all()
    with th.no_grad():
        logits = model.policy.action_net(model.policy.mlp_extractor.forward_actor(model.policy.extract_features(obs)))
    log_p = th.log_softmax(logits.masked_fill(~masks, -math.inf), dim=1)
    hand = -(log_p.exp() * log_p.masked_fill(~masks, 0.0)).sum(dim=1)
    got = model._rollout_entropy(buffer).reshape(-1)
    np.testing.assert_allclose(got, hand.numpy(), rtol=0, atol=1e-6)
    assert (hand <= math.log(4) + 1e-6).all()  # the maximum is log(valid actions), not log|A|
    # logged from the last rollout (before its update): also at most log 4
    assert 1.0 < model.logger.name_to_value["rollout/policy_entropy"] <= math.log(4) + 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["one_step", "soft_return"])
def test_maskable_learns_the_masked_task(mode: str) -> None:
    """Identity over 8 actions, 4 masked at each step: a uniform valid policy scores 50/4 per episode."""
    th.set_num_threads(1)
    env = DummyVecEnv([MaskedIdentity] * 4)
    model = MaxEntMaskablePPO("MlpPolicy", env, n_steps=64, batch_size=64, n_epochs=4, maxent_mode=mode, seed=0)
    model.learn(6_000)
    assert all(e.unwrapped.masked_taken == 0 for e in env.envs)  # type: ignore[attr-defined]
    eval_env = DummyVecEnv([MaskedIdentity])
    mean_reward, _ = evaluate_masked_policy(model, eval_env, n_eval_episodes=10, deterministic=True)
    assert mean_reward >= 45.0
    assert eval_env.envs[0].unwrapped.masked_taken == 0  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------- minibatch loss by hand
def _fixed_buffer_model(algo: type[BaseAlgorithm], mode: str, beta: float) -> tuple[Any, dict[str, np.ndarray]]:
    """A model whose buffer holds a fixed random batch; SGD with lr 1 and no gradient clipping, one update."""
    n_steps, _n_obs = 32, 4
    env = DummyVecEnv([MaskedIdentity]) if algo is MaxEntMaskablePPO else DummyVecEnv([lambda: gym.make("CartPole-v1")])
    settings: dict[str, Any] = {"n_steps": n_steps, "seed": 0, "policy_kwargs": {"net_arch": [8]}}
    if algo is MaxEntMaskablePPO:
        settings.update(batch_size=n_steps, n_epochs=1, max_grad_norm=1e9, learning_rate=0.0)
    elif algo is MaxEntA2C:
        settings.update(max_grad_norm=1e9, learning_rate=0.0, normalize_advantage=True)
    else:
        settings.update(batch_size=n_steps)
    model = algo("MlpPolicy", env, maxent_coef=beta, maxent_mode=mode, **settings)
    model.set_logger(Logger(folder=None, output_formats=[]))
    rng = np.random.default_rng(7)
    if algo is MaxEntMaskablePPO:  # Discrete observations, stored as indices (one-hot inside the policy)
        obs = rng.integers(0, 8, (n_steps, 1, 1)).astype(np.float32)
    else:
        obs = rng.uniform(-1, 1, (n_steps, 1, 4)).astype(np.float32)
    n_actions = int(env.action_space.n)  # type: ignore[attr-defined]
    masks = np.ones((n_steps, n_actions), bool)
    if algo is MaxEntMaskablePPO:
        for row in masks:
            row[rng.choice(n_actions, 3, replace=False)] = False
    actions = np.array([rng.choice(np.flatnonzero(row)) for row in masks])
    batch = {
        "obs": obs,
        "actions": actions,
        "masks": masks,
        "old_log_prob": rng.normal(-1.0, 0.4, n_steps).astype(np.float32),
        "advantages": rng.normal(0.3, 1.5, n_steps).astype(np.float32),
        "returns": rng.normal(1.0, 1.0, n_steps).astype(np.float32),
        "values": rng.normal(0.0, 1.0, n_steps).astype(np.float32),
    }
    buffer = model.rollout_buffer
    buffer.reset()
    for t in range(n_steps):
        extra = {"action_masks": masks[t][None]} if algo is MaxEntMaskablePPO else {}
        buffer.add(obs[t], actions[t].reshape(1, 1), np.zeros(1), np.zeros(1), th.tensor([batch["values"][t]]),
                   th.tensor([batch["old_log_prob"][t]]), **extra)  # fmt: skip
    buffer.advantages = batch["advantages"][:, None].copy()
    buffer.returns = batch["returns"][:, None].copy()
    model._last_episode_starts = np.zeros(1, dtype=bool)  # the rollout did not end on a reset (soft_return's GAE)
    return model, batch


def _hand_terms(model: Any, batch: dict[str, np.ndarray]) -> tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor]:
    """log pi(a_t|s_t), H(pi(.|s_t)) (masked softmax), V(s_t) and the normalised advantages, written out here."""
    policy = model.policy
    obs = th.as_tensor(batch["obs"][:, 0])
    latent_pi, latent_vf = policy.mlp_extractor(policy.extract_features(obs))
    logits = policy.action_net(latent_pi).masked_fill(~th.as_tensor(batch["masks"]), -1e8)
    log_p = logits - th.logsumexp(logits, dim=1, keepdim=True)
    entropy = -(log_p.exp() * log_p).sum(dim=1)
    log_prob = log_p.gather(1, th.as_tensor(batch["actions"])[:, None]).squeeze(1)
    advantages = th.as_tensor(batch["advantages"])
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    return log_prob, entropy, policy.value_net(latent_vf).flatten(), advantages


LOSS_CASES = [(MaxEntA2C, "soft_return"), (MaxEntMaskablePPO, "one_step"), (MaxEntMaskablePPO, "soft_return")]


@pytest.mark.parametrize(("algo", "mode"), LOSS_CASES, ids=[f"{a.__name__}-{m}" for a, m in LOSS_CASES])
def test_minibatch_gradient_by_hand(algo: type[BaseAlgorithm], mode: str) -> None:
    beta = 0.4
    model, batch = _fixed_buffer_model(algo, mode, beta)
    log_prob, entropy, values, advantages = _hand_terms(model, batch)
    returns = th.as_tensor(batch["returns"])
    if algo is MaxEntA2C:  # -(A log pi) - beta * H + vf_coef * (V - R)^2
        # MaxEntA2C takes soft_return's reward bonus from its training pass (no entropy pass after collection): A and
        # R gain the GAE of beta * H, here with no episode end in the batch: sum_k>=t (gamma lambda)^(k-t) beta H_k
        discount, bonus_h = model.gamma * model.gae_lambda, beta * entropy.detach().double()
        bonus = th.stack(
            [sum(discount ** (k - t) * bonus_h[k] for k in range(t, len(bonus_h))) for t in range(len(bonus_h))]
        )
        soft_advantages = th.as_tensor(batch["advantages"]) + bonus.float()
        advantages = (soft_advantages - soft_advantages.mean()) / (soft_advantages.std() + 1e-8)
        returns = returns + bonus.float()
        loss = -(advantages * log_prob).mean() - beta * entropy.mean() + 0.5 * ((values - returns) ** 2).mean()
    else:
        ratio = th.exp(log_prob - th.as_tensor(batch["old_log_prob"]))
        if mode == "one_step":  # A + beta * H (through H), value target R + beta * H (detached)
            advantages, returns = advantages + beta * entropy, returns + beta * entropy.detach()
        surrogate = th.minimum(ratio * advantages, th.clamp(ratio, 0.8, 1.2) * advantages).mean()
        entropy_term = beta * entropy.mean() if mode == "soft_return" else 0.0
        loss = -surrogate - entropy_term + 0.5 * ((values - returns) ** 2).mean()
    params = [p for p in model.policy.parameters() if p.requires_grad]
    expected = th.autograd.grad(loss, params)
    captured: list[list[th.Tensor]] = []
    step = model.policy.optimizer.step

    def capture(*args: Any, **kwargs: Any) -> Any:
        captured.append([p.grad.clone() for p in params])
        return step(*args, **kwargs)

    model.policy.optimizer.step = capture
    model.train()
    assert len(captured) == 1
    for ref, got in zip(expected, captured[0], strict=True):
        th.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)
    if algo is MaxEntA2C:
        assert model.logger.name_to_value["train/policy_loss"] == pytest.approx(
            -(advantages * log_prob).mean().item(), abs=1e-6
        )
        assert "_get_samples" not in vars(model.rollout_buffer)  # the recording wrapper is gone after train
    else:
        assert model.logger.name_to_value["train/policy_gradient_loss"] == pytest.approx(-surrogate.item(), abs=1e-6)


@pytest.mark.parametrize("mode", ["one_step", "soft_return"])
@pytest.mark.parametrize("maxent_grad", [True, False])
def test_trpo_surrogate_by_hand(mode: str, maxent_grad: bool) -> None:
    beta = 0.4
    model, batch = _fixed_buffer_model(MaxEntTRPO, mode, beta)
    model.maxent_grad = maxent_grad
    log_prob, entropy, _, advantages = _hand_terms(model, batch)
    ratio = th.exp(log_prob - th.as_tensor(batch["old_log_prob"]))
    if mode == "one_step":
        h = entropy if maxent_grad else entropy.detach()
        expected = (ratio * (advantages + beta * h)).mean()
    else:  # maxent_grad=False keeps only the reward bonus: TRPO's own surrogate
        expected = (ratio * advantages).mean() + (beta * entropy.mean() if maxent_grad else 0.0)
    distribution = model.policy.get_distribution(th.as_tensor(batch["obs"][:, 0]))
    got_log_prob = distribution.log_prob(th.as_tensor(batch["actions"]))
    got_ratio = th.exp(got_log_prob - th.as_tensor(batch["old_log_prob"]))
    got = model._surrogate(advantages, got_ratio, distribution, got_log_prob, beta)
    assert got.item() == pytest.approx(expected.item(), abs=1e-6)
    params = list(model.policy.action_net.parameters())
    for ref, grad in zip(th.autograd.grad(expected, params), th.autograd.grad(got, params), strict=True):
        th.testing.assert_close(grad, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["one_step", "soft_return"])
def test_trpo_critic_target_by_hand(mode: str) -> None:
    """The critic regresses on R_t + beta * H(pi(.|s_t)) after the policy step (one_step) or on R_t (soft_return)."""
    beta = 0.4
    model, batch = _fixed_buffer_model(MaxEntTRPO, mode, beta)
    model.n_critic_updates = 2
    model._last_rollout_entropy = 0.0  # set by collect_rollouts, which this buffer did not come from
    buffer, samples = model.rollout_buffer, []
    get = buffer.get

    def recording_get(batch_size: int | None = None) -> Any:
        for data in get(batch_size):
            if batch_size is not None:  # the critic's minibatches (the policy step takes the whole buffer)
                samples.append((data.observations.clone(), data.returns.clone()))
            yield data

    buffer.get = recording_get  # type: ignore[method-assign]
    model.train()
    assert len(samples) == 2
    # the actor after the policy step (the critic's updates do not change it), written out by hand
    _, entropy, _, _ = _hand_terms(model, batch)
    rows = {tuple(o): i for i, o in enumerate(batch["obs"][:, 0].tolist())}
    for observations, returns in samples:
        index = [rows[tuple(o)] for o in observations.tolist()]
        expected = th.as_tensor(batch["returns"])[index]
        if mode == "one_step":
            expected = expected + beta * entropy.detach()[index]
        th.testing.assert_close(returns, expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(buffer.returns.flatten(), batch["returns"])  # restored for the logs


# ------------------------------------------------------------------------------- learned beta, save/load
@pytest.mark.parametrize("algo", [MaxEntPPO, *FAMILY])
def test_auto_coef_steps_and_saves_with_its_optimizer(algo: type[BaseAlgorithm], tmp_path: Path) -> None:
    settings = {**FAMILY[algo][1]} if algo in FAMILY else {"n_steps": 128, "batch_size": 64, "n_epochs": 1}
    model = algo("MlpPolicy", make_env(algo), maxent_coef="auto_0.05", policy_kwargs=TINY, seed=0, **settings)
    assert isinstance(model, MaxEntOnPolicyMixin)
    assert model._current_maxent_coef() == pytest.approx(0.05)
    model.learn(512)
    beta = model._current_maxent_coef()
    assert beta != pytest.approx(0.05)  # the dual step ran
    model.save(tmp_path / "model.zip")
    loaded = algo.load(tmp_path / "model.zip")
    assert isinstance(loaded, MaxEntOnPolicyMixin)
    assert loaded._current_maxent_coef() == beta
    assert loaded.target_entropy == model.target_entropy
    assert loaded.maxent_coef_optimizer is not None
    assert model.maxent_coef_optimizer is not None
    # projected SGD on beta (see MaxEntOnPolicyMixin._update_maxent_coef): its state is its step size
    assert isinstance(loaded.maxent_coef_optimizer, th.optim.SGD)
    saved_state, loaded_state = model.maxent_coef_optimizer.state_dict(), loaded.maxent_coef_optimizer.state_dict()
    assert loaded_state["param_groups"] == saved_state["param_groups"]
    assert loaded_state["param_groups"][0]["lr"] == model.maxent_coef_lr
    obs = np.stack([loaded.observation_space.sample() for _ in range(8)])
    kwargs = {"action_masks": np.ones((8, 8), bool)} if algo is MaxEntMaskablePPO else {}
    np.testing.assert_array_equal(
        model.predict(obs, deterministic=True, **kwargs)[0], loaded.predict(obs, deterministic=True, **kwargs)[0]
    )


def test_auto_coef_dual_step_is_projected_and_proportional() -> None:
    """beta <- max(0, beta - lr * max(beta, beta_0) * (H - target)): proportional to the error, stops at 0, leaves 0."""
    model = MaxEntPPO("MlpPolicy", "CartPole-v1", maxent_coef="auto_0.1", maxent_coef_lr=2.0, target_entropy=0.4)
    model.set_logger(Logger(folder=None, output_formats=[]))
    model._update_maxent_coef(0.3)  # 0.1 nats below the target: + 2 * 0.1 * 0.1
    assert model._current_maxent_coef() == pytest.approx(0.12)
    model._update_maxent_coef(0.35)  # half the error, half the relative step (Adam's normalised step would not shrink)
    assert model._current_maxent_coef() == pytest.approx(0.132)
    model._update_maxent_coef(0.69)  # above the target: a relative step down, 0.132 * (1 - 2 * 0.29)
    assert model._current_maxent_coef() == pytest.approx(0.132 * 0.42)
    model._update_maxent_coef(0.69)  # below beta_0 an absolute step: projected onto 0, no wind-up below it
    assert model._current_maxent_coef() == 0.0
    model._update_maxent_coef(0.35)  # below the target again: back up in one step (a log-space beta would crawl)
    assert model._current_maxent_coef() == pytest.approx(0.01)


#: steps of the target-entropy run (rl-zoo's PPO CartPole-v1 settings, 8 x 32 steps per rollout: 118 dual steps);
#: the run is benchmarks/auto_coef.py's MaxEntPPO seed 0
AUTO_BUDGET = 30_000


@pytest.mark.slow
def test_auto_coef_settles_on_target_entropy() -> None:
    """
    MaxEntPPO, CartPole-v1, seed 0, target 0.6 nats (the policy's own entropy falls to about 0.2 by then, so beta
    has to rise about 40-fold and hold it up): the mean rollout entropy over the last 5 rollouts is within 10% of
    the target. A dual step that does not settle (bang-bang, wound up, too slow, wrong sign) misses the band.
    """
    th.set_num_threads(1)
    env = make_vec_env("CartPole-v1", n_envs=8, seed=0)
    model = MaxEntPPO("MlpPolicy", env, maxent_coef="auto", target_entropy=0.6, seed=0, **PPO_CARTPOLE)
    entropies: list[float] = []

    class Record(BaseCallback):
        def _on_rollout_start(self) -> None:
            if hasattr(self.model, "_last_rollout_entropy"):
                entropies.append(self.model._last_rollout_entropy)

        def _on_step(self) -> bool:
            return True

    model.learn(AUTO_BUDGET, callback=Record())
    entropies.append(model._last_rollout_entropy)
    final = float(np.mean(entropies[-5:]))
    assert abs(final - 0.6) <= 0.06, (final, model._current_maxent_coef())


def test_auto_target_entropy_defaults() -> None:
    assert MaxEntPPO("MlpPolicy", "CartPole-v1", maxent_coef="auto").target_entropy == pytest.approx(0.5 * math.log(2))
    assert MaxEntTRPO("MlpPolicy", "Pendulum-v1", maxent_coef="auto").target_entropy == -1.0
    assert MaxEntA2C("MlpPolicy", "CartPole-v1", maxent_coef="auto").learned_maxent_coef is not None
    assert MaxEntA2C("MlpPolicy", "CartPole-v1").learned_maxent_coef is None


# ------------------------------------------------------------------------------ logs, dict obs and gSDE
@pytest.mark.parametrize(("algo", "mode"), CASES, ids=IDS)
def test_logged_keys(algo: type[BaseAlgorithm], mode: str) -> None:
    _, settings, _ = FAMILY[algo]
    model = algo("MlpPolicy", make_env(algo), maxent_coef=0.1, maxent_mode=mode, policy_kwargs=TINY, **settings)
    model.set_logger(Logger(folder=None, output_formats=[]))
    model.learn(settings["n_steps"], log_interval=10**6)
    logged = model.logger.name_to_value
    assert logged["train/maxent_coef"] == pytest.approx(0.1)
    assert logged["rollout/policy_entropy"] > 0.0
    assert logged["train/maxent_bonus"] > 0.0


@pytest.mark.parametrize("algo", [MaxEntA2C, MaxEntTRPO])
def test_dict_observations_and_gsde(algo: type[BaseAlgorithm]) -> None:
    mode = "soft_return"
    settings = {"n_steps": 64} if algo is MaxEntA2C else {"n_steps": 64, "batch_size": 32, "n_critic_updates": 1}
    algo("MultiInputPolicy", SimpleMultiObsEnv(random_start=False), maxent_coef=0.1, maxent_mode=mode,
         policy_kwargs=TINY, **settings).learn(128)  # fmt: skip
    for squash in (False, True):
        model = algo("MlpPolicy", "Pendulum-v1", maxent_coef=0.1, maxent_mode=mode, use_sde=True, sde_sample_freq=4,
                     policy_kwargs={**TINY, "squash_output": squash}, **settings)  # fmt: skip
        model.set_logger(Logger(folder=None, output_formats=[]))
        model.learn(128, log_interval=10**6)
        assert math.isfinite(model.logger.name_to_value["rollout/policy_entropy"])
