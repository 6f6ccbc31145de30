"""Settings and assertions shared by the on-policy tests (not a test module)."""

from __future__ import annotations

from typing import Any

import torch as th

#: rl-zoo's PPO CartPole-v1 entry (hyperparams/ppo.yml), used by 8 environments
PPO_CARTPOLE: dict[str, Any] = {
    "n_steps": 32,
    "batch_size": 256,
    "gae_lambda": 0.8,
    "gamma": 0.98,
    "n_epochs": 20,
    "learning_rate": 1e-3,
}


def assert_same_parameters(params: dict[str, th.Tensor], reference: dict[str, th.Tensor], exact: bool = True) -> None:
    """``torch.equal`` per tensor (``exact``), or equal within float rounding (rtol 1e-5, atol 1e-6)."""
    assert params.keys() == reference.keys()
    for name, param in params.items():
        if exact:
            assert th.equal(param, reference[name]), name
        else:
            th.testing.assert_close(param, reference[name], rtol=1e-5, atol=1e-6, msg=name)
