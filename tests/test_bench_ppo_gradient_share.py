"""benchmarks/ppo_gradient_share.py: ppo2's value loss against a hand computation, SB3's total gradient against
the one SB3's ``PPO.train`` applies, and the norms, clipping factors and cosines of the report."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import ppo_gradient_share as share


def test_ppo2_value_loss_by_hand() -> None:
    values = th.tensor([1.0, 2.0, 0.0])
    old_values = th.tensor([0.5, 2.5, 0.0])
    returns = th.tensor([2.0, 1.0, 1.0])
    # clipped predictions 0.7, 2.3, 0.0; squared errors unclipped 1, 1, 1, clipped 1.69, 1.69, 1
    assert float(share.ppo2_value_loss(values, old_values, returns, 0.2)) == pytest.approx(0.5 * 4.38 / 3)
    # inside the clip range the two errors are the same: half the MSE
    assert float(share.ppo2_value_loss(values, values - 0.1, returns, 0.2)) == pytest.approx(0.5)


def test_sb3_total_is_the_gradient_ppo_train_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_vec_env("CartPole-v1", n_envs=4, seed=0)
    # one minibatch of the whole rollout, one epoch, no clipping: train() applies exactly the loss's gradient
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=128, n_epochs=1, ent_coef=0.01, max_grad_norm=1e9, seed=0)
    share.collect(model)
    (data,) = list(model.rollout_buffer.get(128))
    gradients = share.minibatch_gradients(model, data, 0.2)
    recorded: list[th.Tensor] = []
    clip = th.nn.utils.clip_grad_norm_

    def spy(parameters: Any, max_norm: float, *args: Any, **kwargs: Any) -> th.Tensor:
        parameters = list(parameters)
        recorded.append(th.cat([param.grad.flatten() for param in parameters]))
        return clip(parameters, max_norm, *args, **kwargs)

    monkeypatch.setattr(th.nn.utils, "clip_grad_norm_", spy)
    model.train()
    (applied,) = recorded
    th.testing.assert_close(gradients["policy"] + gradients["value_sb3"], applied, rtol=1e-5, atol=1e-7)
    assert not th.allclose(gradients["policy"] + gradients["value_ppo2"], applied)  # a different loss


def test_norms_clip_factors_and_cosines() -> None:
    gradients = {
        "policy": th.tensor([3.0, 0.0]),
        "value_sb3": th.tensor([0.0, 4.0]),
        "value_ppo2": th.tensor([3.0, 2.0]),
    }
    row = share.share(gradients, max_grad_norm=0.5)
    assert row["norm_policy"] == pytest.approx(3.0)
    assert row["norm_value_sb3"] == pytest.approx(4.0)
    assert row["norm_total_sb3"] == pytest.approx(5.0)
    assert row["clip_factor_sb3"] == pytest.approx(0.1)
    assert row["cosine_sb3"] == pytest.approx(0.0)
    assert row["norm_total_ppo2"] == pytest.approx(math.hypot(6.0, 2.0))
    assert row["clip_factor_ppo2"] == pytest.approx(0.5 / math.hypot(6.0, 2.0))
    assert row["cosine_ppo2"] == pytest.approx(3.0 / math.hypot(3.0, 2.0))
    assert share.share(gradients, max_grad_norm=100.0)["clip_factor_sb3"] == 1.0
