"""MaxEntPPO runs with every PPO feature: spaces, policies, gSDE, VecNormalize, target_kl, callbacks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.callbacks import CheckpointCallback, EvalCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import (
    FakeImageEnv,
    IdentityEnv,
    IdentityEnvBox,
    IdentityEnvMultiBinary,
    IdentityEnvMultiDiscrete,
    SimpleMultiObsEnv,
)
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import KVWriter, Logger
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sb3_maxent import MaxEntPPO
from sb3_maxent.common import linear_schedule

MODES = ["one_step", "soft_return"]


class RecordingWriter(KVWriter):
    """Keeps every dump of the logger (rollout/ keys are dumped before train() runs)."""

    def __init__(self) -> None:
        self.records: list[dict] = []

    def write(self, key_values, key_excluded, step=0) -> None:
        self.records.append(dict(key_values))


def recording_logger() -> tuple[Logger, RecordingWriter]:
    writer = RecordingWriter()
    return Logger(folder=None, output_formats=[writer]), writer


TINY = dict(n_steps=32, batch_size=16, n_epochs=2, policy_kwargs=dict(net_arch=[16]))

# env factory per action / observation space (a dict, not an if/elif chain)
ENVS = {
    "discrete": (lambda: IdentityEnv(4), "MlpPolicy"),
    "multidiscrete": (lambda: IdentityEnvMultiDiscrete(3), "MlpPolicy"),
    "multibinary": (lambda: IdentityEnvMultiBinary(3), "MlpPolicy"),
    "box": (lambda: IdentityEnvBox(eps=0.5), "MlpPolicy"),
    "dict": (lambda: SimpleMultiObsEnv(random_start=True), "MultiInputPolicy"),
    "image": (lambda: FakeImageEnv(screen_height=36, screen_width=36, n_channels=1), "CnnPolicy"),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("maxent_grad", [True, False])
@pytest.mark.parametrize("space", sorted(ENVS))
def test_spaces_and_policies(space: str, mode: str, maxent_grad: bool) -> None:
    env_fn, policy = ENVS[space]
    kwargs = dict(TINY)
    if space == "image":
        kwargs["policy_kwargs"] = dict(net_arch=[16], features_extractor_kwargs=dict(features_dim=16))
    model = MaxEntPPO(policy, env_fn(), maxent_coef=0.1, maxent_mode=mode, maxent_grad=maxent_grad, seed=0, **kwargs)
    model.learn(64)
    assert model.num_timesteps == 64
    obs, _ = env_fn().reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    assert model.action_space.contains(np.asarray(action).reshape(model.action_space.shape))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("squash", [False, True])
def test_gsde(mode: str, squash: bool) -> None:
    # Squashed gSDE has no closed-form entropy: the single-sample estimate -log pi(a_t|s_t) is used.
    model = MaxEntPPO(
        "MlpPolicy",
        "Pendulum-v1",
        use_sde=True,
        sde_sample_freq=4,
        maxent_coef=0.05,
        maxent_mode=mode,
        policy_kwargs=dict(net_arch=[16], squash_output=squash),
        seed=0,
        **{k: v for k, v in TINY.items() if k != "policy_kwargs"},
    )
    logger, writer = recording_logger()
    model.set_logger(logger)
    model.learn(64)
    assert np.isfinite(writer.records[-1]["train/maxent_bonus"])
    assert np.isfinite(writer.records[-1]["rollout/policy_entropy"])


@pytest.mark.parametrize("mode", MODES)
def test_logged_keys(mode: str) -> None:
    model = MaxEntPPO("MlpPolicy", "CartPole-v1", maxent_coef=0.2, maxent_mode=mode, seed=0, **TINY)
    logger, writer = recording_logger()
    model.set_logger(logger)
    model.learn(96)
    values = writer.records[-1]  # rollout keys of the last rollout, train keys of the update before
    for key in ("train/maxent_coef", "train/maxent_bonus", "train/entropy", "rollout/policy_entropy"):
        assert key in values, key
    assert values["train/maxent_coef"] == pytest.approx(0.2)
    # CartPole has 2 actions: entropy in (0, log 2]; the bonus is beta times an entropy
    assert 0 < values["rollout/policy_entropy"] <= np.log(2) + 1e-6
    assert 0 < values["train/maxent_bonus"] <= 0.2 * np.log(2) + 1e-6


@pytest.mark.parametrize("mode", MODES)
def test_vecnormalize_target_kl_callbacks_progress_bar(mode: str, tmp_path) -> None:
    env = VecNormalize(make_vec_env("Pendulum-v1", n_envs=2, seed=0))
    eval_env = VecNormalize(make_vec_env("Pendulum-v1", n_envs=1, seed=1), training=False, norm_reward=False)
    model = MaxEntPPO("MlpPolicy", env, maxent_coef=0.1, maxent_mode=mode, target_kl=0.01, seed=0, **TINY)
    callbacks = [
        CheckpointCallback(save_freq=32, save_path=str(tmp_path / "ckpt")),
        EvalCallback(eval_env, eval_freq=32, n_eval_episodes=1, log_path=str(tmp_path / "eval")),
    ]
    model.learn(128, callback=callbacks, progress_bar=True)
    assert list((tmp_path / "ckpt").glob("*.zip"))
    assert (tmp_path / "eval" / "evaluations.npz").exists()
    mean_reward, _ = evaluate_policy(model, eval_env, n_eval_episodes=2)
    assert np.isfinite(mean_reward)


def test_ent_coef_combined_with_maxent() -> None:
    # The paper's "regularisation + maximisation" agent: both terms at once.
    model = MaxEntPPO("MlpPolicy", "CartPole-v1", ent_coef=0.01, maxent_coef=0.1, seed=0, **TINY)
    model.learn(64)


def test_defaults() -> None:
    model = MaxEntPPO("MlpPolicy", "CartPole-v1")
    assert model.ent_coef == 0.0
    assert model.maxent_mode == "one_step"
    assert model.maxent_grad is True


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(maxent_coef=-0.1), "maxent_coef"),
        (dict(maxent_coef=float("nan")), "maxent_coef"),
        (dict(maxent_coef=float("inf")), "maxent_coef"),
        (dict(maxent_coef="lin_0.3"), "maxent_coef"),
        (dict(maxent_coef=linear_schedule(0.1, -0.1)), r"maxent_coef\(0.0\)"),
        (dict(maxent_coef=lambda _: float("nan")), "maxent_coef"),
        (dict(maxent_mode="full"), r"maxent_mode must be one of \('one_step', 'soft_return'\)"),
        (dict(maxent_grad="yes"), "maxent_grad"),
        (dict(ent_coef=-1.0), "ent_coef"),
    ],
)
def test_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MaxEntPPO("MlpPolicy", "CartPole-v1", **kwargs)


def test_schedule_turning_negative_mid_training() -> None:
    # Valid at progress 1 and 0 (probed at construction), negative in between: caught when used.
    model = MaxEntPPO("MlpPolicy", "CartPole-v1", maxent_coef=lambda p: 0.1 if p in (0.0, 1.0) else -1.0, **TINY)
    with pytest.raises(ValueError, match="maxent_coef"):
        model.learn(96)


def test_custom_policy_forward_is_respected() -> None:
    # A policy that overrides forward() is called as is (the entropy is then read from a second pass).
    from stable_baselines3.common.policies import ActorCriticPolicy

    calls = {"n": 0}

    class CountingPolicy(ActorCriticPolicy):
        def forward(self, obs, deterministic=False):
            calls["n"] += 1
            return super().forward(obs, deterministic)

    model = MaxEntPPO(CountingPolicy, DummyVecEnv([lambda: gym.make("CartPole-v1")]), maxent_coef=0.1, **TINY)
    model.learn(32)
    assert calls["n"] >= 32
