"""Settings and assertions shared by the on-policy tests (not a test module)."""

from __future__ import annotations

from typing import Any

import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

#: CartPole-v1's bar: a mean deterministic evaluation return of 475 over 20 episodes (its reward threshold)
CARTPOLE_THRESHOLD = 475.0

#: rl-zoo's PPO CartPole-v1 entry (hyperparams/ppo.yml), used by 8 environments
PPO_CARTPOLE: dict[str, Any] = {
    "n_steps": 32,
    "batch_size": 256,
    "gae_lambda": 0.8,
    "gamma": 0.98,
    "n_epochs": 20,
    "learning_rate": 1e-3,
}


#: Tolerance for the gSDE fixture case, written on another machine: a CPU with other float kernels
#: (AVX-512 against the fixture machine's) differs in the last bits, and a few thousand training steps grow that
#: to about 1e-6 relative, 1.1e-4 on the largest (Pendulum, gSDE, MaxEntA2C; measured on an AVX-512 Xeon).
FIXTURE_RTOL, FIXTURE_ATOL = 1e-3, 1e-5


def assert_same_parameters(
    params: dict[str, th.Tensor],
    reference: dict[str, th.Tensor],
    exact: bool = True,
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> None:
    """``torch.equal`` per tensor (``exact``), or equal within ``rtol`` / ``atol`` (by default float rounding)."""
    assert params.keys() == reference.keys()
    for name, param in params.items():
        if exact:
            assert th.equal(param, reference[name]), name
        else:
            th.testing.assert_close(param, reference[name], rtol=rtol, atol=atol, msg=name)


class SolvedCallback(BaseCallback):
    """
    Evaluates during training, as rl-zoo's EvalCallback does, and stops it once the task is solved. Every
    ``eval_freq`` environment steps: ``gate_episodes`` deterministic episodes on a separate env (seed + 1000), a
    cheap gate; when they average >= ``threshold``, ``n_eval_episodes`` episodes, and training stops when those
    average >= ``threshold``. Evaluations use their own env and the deterministic policy, so they do not change the
    training run. ``solved_at``: the step of the solving evaluation (None: not within the budget);
    ``evaluations``: every (step, mean return) measured.
    """

    def __init__(
        self,
        seed: int,
        eval_freq: int,
        env_id: str = "CartPole-v1",
        threshold: float = CARTPOLE_THRESHOLD,
        n_eval_episodes: int = 20,
        gate_episodes: int = 3,
    ) -> None:
        super().__init__()
        self.eval_env = make_vec_env(env_id, n_envs=1, seed=seed + 1000)
        self.eval_freq = eval_freq
        self.threshold = threshold
        self.episodes = (gate_episodes, n_eval_episodes)
        self.solved_at: int | None = None
        self.evaluations: list[tuple[int, float]] = []
        self._next_evaluation = eval_freq

    def _on_step(self) -> bool:
        if self.num_timesteps < self._next_evaluation:
            return True
        while self._next_evaluation <= self.num_timesteps:
            self._next_evaluation += self.eval_freq
        for n_episodes in self.episodes:
            mean_return, _ = evaluate_policy(self.model, self.eval_env, n_eval_episodes=n_episodes, deterministic=True)
            assert isinstance(mean_return, float)
            self.evaluations.append((self.num_timesteps, mean_return))
            if mean_return < self.threshold:
                return True
        self.solved_at = self.num_timesteps
        return False
