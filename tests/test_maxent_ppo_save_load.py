"""Save/load round trips and schedules that continue across learn() calls."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import Logger

from sb3_maxent import MaxEntPPO
from sb3_maxent.common import ExponentialSchedule, linear_schedule

MODES = ["one_step", "soft_return"]
TINY = dict(n_steps=32, batch_size=32, n_epochs=2, policy_kwargs=dict(net_arch=[16]))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_save_load_same_predictions(mode: str, env_id: str, tmp_path) -> None:
    schedule = ExponentialSchedule(0.3, 0.01)
    model = MaxEntPPO("MlpPolicy", env_id, maxent_coef=schedule, maxent_mode=mode, maxent_grad=False, seed=0, **TINY)
    model.learn(128)
    observations = np.stack([model.observation_space.sample() for _ in range(50)])
    for deterministic in (True, False):
        th.manual_seed(7)
        before, _ = model.predict(observations, deterministic=deterministic)
        model.save(tmp_path / "model")
        loaded = MaxEntPPO.load(tmp_path / "model", device="cpu")
        th.manual_seed(7)
        after, _ = loaded.predict(observations, deterministic=deterministic)
        np.testing.assert_array_equal(before, after)
    assert loaded.maxent_mode == mode
    assert loaded.maxent_grad is False
    assert loaded.maxent_coef(0.5) == pytest.approx(schedule(0.5))
    for p, q in zip(model.policy.parameters(), loaded.policy.parameters(), strict=True):
        assert th.equal(p, q)

    # the loaded model trains on, and evaluate_policy works on it
    loaded.set_env(make_vec_env(env_id, n_envs=1, seed=1))
    loaded.learn(64, reset_num_timesteps=False)
    assert loaded.num_timesteps == 128 + 64
    mean, _ = evaluate_policy(loaded, loaded.get_env(), n_eval_episodes=1)
    assert np.isfinite(mean)


def _logged_betas(model: MaxEntPPO, total: int, reset: bool) -> list[float]:
    betas: list[float] = []
    original_train = model.train

    def recording_train() -> None:
        original_train()
        betas.append(model.logger.name_to_value["train/maxent_coef"])

    model.train = recording_train  # type: ignore[method-assign]
    model.learn(total, reset_num_timesteps=reset)
    del model.train  # the instance attribute would otherwise be saved with the model
    return betas


def test_schedule_continues_after_reset_num_timesteps_false(tmp_path) -> None:
    model = MaxEntPPO("MlpPolicy", "CartPole-v1", maxent_coef=linear_schedule(1.0, 0.0), **TINY)
    model.set_logger(Logger(folder=None, output_formats=[]))
    first = _logged_betas(model, 320, reset=True)  # 10 updates
    model.save(tmp_path / "model")
    loaded = MaxEntPPO.load(tmp_path / "model", env=make_vec_env("CartPole-v1", n_envs=1))
    loaded.set_logger(Logger(folder=None, output_formats=[]))
    second = _logged_betas(loaded, 320, reset=False)
    # first call: 1 -> 0 over its 320 steps; second call: SB3 extends the total to 640 steps, so
    # progress_remaining restarts at 0.5 and the schedule goes on from there instead of restarting at 1.
    assert first == pytest.approx([1 - 32 * (i + 1) / 320 for i in range(10)])
    assert second == pytest.approx([1 - (320 + 32 * (i + 1)) / 640 for i in range(10)])
    assert second[0] < first[0]
