"""A learned beta (``maxent_coef="auto"``) settles on its target entropy: every on-policy MaxEnt algorithm, 3 seeds.

Task: CartPole-v1 (MaskablePPO's with every action valid), ``target_entropy=0.6`` nats (87% of log 2). The policy's
own entropy falls well below that as it learns (to about 0.2 with PPO at these settings, about 0.5 with A2C), so
beta has to rise and then hold the entropy up: the constraint is active. Settings: rl-zoo's CartPole-v1 entries of
the parents (PPO's for MaskablePPO; TRPO's with 128-step rollouts, so that the run has as many dual steps as PPO's),
``soft_return``, ``maxent_coef="auto"`` (initial beta 0.01), the default ``maxent_coef_lr``.

Reported per run: the mean ``rollout/policy_entropy`` over the last 5% of the rollouts (at least 5) against the
target, and beta over the run (does it settle?).

    python benchmarks/auto_coef.py            # 4 algorithms x 3 seeds, 60k steps each (A2C 120k)
    python benchmarks/auto_coef.py --quick    # 1 seed, 10k steps (A2C 20k)
"""

from __future__ import annotations

import argparse
from typing import Any

import harness
import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

from sb3_maxent import MaxEntA2C, MaxEntMaskablePPO, MaxEntPPO, MaxEntTRPO
from sb3_maxent.envs.wrappers import AllActionsValid

TARGET_ENTROPY = 0.6
PPO_CARTPOLE = dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, learning_rate=1e-3)
#: algorithm -> (n_envs, settings)
ALGOS: dict[str, tuple[type[Any], int, dict[str, Any]]] = {
    "MaxEntPPO": (MaxEntPPO, 8, PPO_CARTPOLE),
    "MaxEntA2C": (MaxEntA2C, 8, {}),
    "MaxEntTRPO": (MaxEntTRPO, 2, dict(n_steps=128, batch_size=256, cg_damping=1e-3, gae_lambda=0.98, gamma=0.99,
                                       learning_rate=1e-3, n_critic_updates=20)),
    "MaxEntMaskablePPO": (MaxEntMaskablePPO, 8, PPO_CARTPOLE),
}  # fmt: skip
FULL = {"seeds": [0, 1, 2], "timesteps": 60_000}
QUICK = {"seeds": [0], "timesteps": 10_000}
#: A2C's learned beta takes a tenth of the family's dual step (MaxEntA2C's default maxent_coef_lr): twice the steps
TIMESTEPS_FACTOR = {"MaxEntA2C": 2}


class _Trajectory(BaseCallback):
    """(timesteps, mean rollout entropy, beta) at the start of every rollout after the first."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[int, float, float]] = []

    def _on_rollout_start(self) -> None:
        if hasattr(self.model, "_last_rollout_entropy"):
            self.record()

    def record(self) -> None:
        model: Any = self.model
        self.rows.append((model.num_timesteps, model._last_rollout_entropy, model._current_maxent_coef()))

    def _on_step(self) -> bool:
        return True


def run(name: str, seed: int, timesteps: int) -> dict[str, Any]:
    algo, n_envs, settings = ALGOS[name]
    wrapper = AllActionsValid if algo is MaxEntMaskablePPO else None
    env = make_vec_env("CartPole-v1", n_envs=n_envs, seed=seed, wrapper_class=wrapper)
    model = algo("MlpPolicy", env, seed=seed, maxent_coef="auto", target_entropy=TARGET_ENTROPY, **settings)
    trajectory = _Trajectory()
    model.learn(timesteps, callback=trajectory)
    trajectory.record()
    return {"algo": name, "seed": seed, "timesteps": timesteps, "target": TARGET_ENTROPY, "trajectory": trajectory.rows}


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """Final entropy (last 5% of the rollouts, at least 5), its relative error, and beta at 50/75/100% of the run."""
    rows = result["trajectory"]
    entropy = np.array([h for _, h, _ in rows])
    beta = np.array([b for _, _, b in rows])
    n = len(rows)
    final = float(entropy[-max(5, n // 20) :].mean())
    last_quarter = slice(3 * n // 4, n)
    return {
        "final_entropy": final,
        "relative_error": (final - result["target"]) / abs(result["target"]),
        "within_10pct_last_quarter": float(
            np.mean(np.abs(entropy[last_quarter] - result["target"]) <= 0.1 * result["target"])
        ),
        "beta_50_75_100": [float(beta[n // 2]), float(beta[3 * n // 4]), float(beta[-1])],
        "rollouts": n,
    }


def markdown(results: list[dict[str, Any]], command: str) -> str:
    rows = []
    for result in results:
        summary = summarise(result)
        rows.append([
            result["algo"], result["seed"], f"{result['timesteps']:,}", f"{result['target']:.3f}",
            f"{summary['final_entropy']:.3f}",
            f"{100 * summary['relative_error']:+.1f}%", f"{100 * summary['within_10pct_last_quarter']:.0f}%",
            " / ".join(f"{b:.4f}" for b in summary["beta_50_75_100"]), summary["rollouts"],
        ])  # fmt: skip
    header = ["algorithm", "seed", "steps", "target (nats)", "final entropy", "relative error",
              "last quarter within 10%", "beta at 50% / 75% / 100%", "rollouts"]  # fmt: skip
    return "\n".join([*harness.command_block(command), *harness.md_table(header, rows), ""]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    harness.add_run_arguments(parser, "1 seed, 10k steps")
    args = parser.parse_args()
    path = harness.result_path("auto_coef", args.quick)
    if args.report:
        data = harness.read_json(path)
    else:
        th.set_num_threads(1)
        budget = QUICK if args.quick else FULL
        results = []
        for name in ALGOS:
            for seed in budget["seeds"]:
                results.append(run(name, seed, budget["timesteps"] * TIMESTEPS_FACTOR.get(name, 1)))
                summary = summarise(results[-1])
                error = 100 * summary["relative_error"]
                print(f"{name} seed {seed}: entropy {summary['final_entropy']:.3f} (target {TARGET_ENTROPY}, "
                      f"{error:+.1f}%), beta {summary['beta_50_75_100']}", flush=True)  # fmt: skip
        data = {"command": harness.command_line(), "machine": harness.machine(), "results": results}
        harness.write_json(path, data)
    text = markdown(data["results"], data["command"])
    harness.write_text(path.with_suffix(".md"), text)
    print(text)


if __name__ == "__main__":
    main()
