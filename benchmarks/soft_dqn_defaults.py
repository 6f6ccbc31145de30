r"""SoftDQN's default temperature against DQN's defaults, and the target entropy of ``temperature="auto"``.

SB3 users swap ``DQN`` for ``SoftDQN`` and keep every other argument. This script measures candidate
temperature settings under exactly that swap, seed by seed, next to SB3's DQN:

* ``identity<N>``: ``IdentityEnv(N)`` from ``stable_baselines3.common.envs`` (the observation names the rewarded
  action; 100 steps per episode, so a deterministic evaluation return is out of 100), SB3's identity-test
  settings (``gamma=0.4``, ``learning_starts=0``) with ``learning_rate=0.002`` and a short budget;
  10 deterministic evaluation episodes on a separately seeded env;
* ``cartpole``: ``CartPole-v1`` with rl-zoo's DQN settings (``hyperparams/dqn.yml``); DQN keeps rl-zoo's
  epsilon (1 -> 0.04 over 16%), SoftDQN gets no exploration argument; every 1,000 steps, once the last 5
  training episodes average >= 300, 20 deterministic evaluation episodes, and the run stops at a mean >= 475
  (the criterion of ``tests/test_soft_dqn_learning.py``);
* ``gridworld`` / ``gridworld_3e4``: ``GridWorld-v0`` with the ``GridWorld-v0`` entry of ``zoo_configs/soft_dqn.yml``
  (1e4 steps, or 3e4), the temperature replaced by the candidate's; success rate of 20 deterministic episodes.

Agents (``--agents``): ``dqn`` (SB3's DQN, its own exploration defaults), ``default`` (SoftDQN with no temperature
argument: whatever the installed version defaults to), and the named SoftDQN candidates of ``CANDIDATES``:
constant temperatures, linear/exponential annealing from a high value (DQN's ``exploration_fraction``
schedule for the temperature), a temperature relative to the spread of Q (``relative_*``, a prototype
subclass below), and learned temperatures with a target entropy of r * log|A| starting at SAC's 1.0
(``auto_r<r>``) or at 0.1 (``auto0.1_r<r>``).

Every run is stored as soon as it ends, and a rerun skips the runs already in the JSON, so the script can be
stopped and resumed. The runs behind docs/algos/soft_dqn.md, from the repository root:

    export OMP_NUM_THREADS=1
    python=.venv/bin/python script=benchmarks/soft_dqn_defaults.py
    $python $script --tasks identity4 identity10 identity2 --seeds 3 0 1 \
        --agents dqn const_0.03 lin_1_0.01 lin_1_0.03 relative_1_0.01 exp_1_0.01
    $python $script --tasks identity10 --agents dqn lin_1_0.01 lin_1_0.03 --seeds 2 4 5
    $python $script --tasks cartpole --agents lin_1_0.01 dqn lin_1_0.03 auto0.1_r0.5 --seeds 0 1 2
    $python $script --tasks gridworld --agents auto_r0.98 auto_r0.89 auto_r0.5 auto_r0.3 --seeds 0 1 2
    $python $script --tasks gridworld_3e4 --agents auto_r0.5 --seeds 0 1
    $python $script --tasks gridworld --seeds 0 1 2 \
        --agents auto0.1_r0.5 auto0.1_r0.89 auto0.1_r0.3 auto0.1_r0.75 auto0.1_r0.98
    $python $script --report      # re-render the Markdown tables from the JSON

Writes ``benchmarks/results/soft_dqn_defaults.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness
import numpy as np
import torch as th
from stable_baselines3 import DQN
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import IdentityEnv
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.type_aliases import PyTorchObs, ReplayBufferSamples

import sb3_maxent  # noqa: F401  (registers GridWorld-v0)
from sb3_maxent import SoftDQN
from sb3_maxent.common import evaluate_success, exponential_schedule
from sb3_maxent.soft_dqn.soft_dqn import _FLOAT64_TINY, boltzmann_log_policy, entropy_from_log_policy

RESULTS = harness.result_path("soft_dqn_defaults", quick=False)


class RelativeTemperatureSoftDQN(SoftDQN):
    """
    Prototype: the temperature is ``c * spread(Q)``, with ``c`` the configured temperature (a schedule of the
    progress) and spread(Q) = max_a Q - min_a Q, per state for the Boltzmann draw, averaged over the batch's
    next states for the soft target (one global temperature per update).
    """

    def _compute_target(self, replay_data: ReplayBufferSamples, temperature: float) -> tuple[th.Tensor, th.Tensor]:
        with th.no_grad():
            q_values = self.q_net_target(replay_data.next_observations)
            spread = (q_values.max(dim=1).values - q_values.min(dim=1).values).mean().item()
        return super()._compute_target(replay_data, temperature * max(spread, 1e-6))

    def _boltzmann_action(self, observation: PyTorchObs, temperature: float) -> tuple[np.ndarray, np.ndarray]:
        with th.no_grad():
            q_values = self.q_net(observation).cpu().numpy().astype(np.float64)
        spread = q_values.max(axis=1, keepdims=True) - q_values.min(axis=1, keepdims=True)
        scaled = (q_values - q_values.max(axis=1, keepdims=True)) / (temperature * np.maximum(spread, 1e-6))
        log_pi = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        exponentials = np.maximum(np.random.standard_exponential(log_pi.shape), _FLOAT64_TINY)  # noqa: NPY002
        return np.argmax(log_pi - np.log(exponentials), axis=1), log_pi


@dataclass(frozen=True)
class Candidate:
    algo: type[BaseAlgorithm]
    #: SoftDQN temperature arguments (for the ``auto_r*`` ones, a callable of log|A| -> kwargs)
    kwargs: dict[str, Any] | Callable[[int], dict[str, Any]]


def _auto(ratio: float, initial: float) -> Candidate:
    return Candidate(SoftDQN, lambda n: dict(temperature=f"auto_{initial}", target_entropy=ratio * math.log(n)))


CANDIDATES: dict[str, Candidate] = {
    "dqn": Candidate(DQN, {}),
    "default": Candidate(SoftDQN, {}),
    "const_0.03": Candidate(SoftDQN, dict(temperature=0.03)),
    "lin_1_0.01": Candidate(SoftDQN, dict(temperature_initial=1.0, temperature_final=0.01, temperature_fraction=0.1)),
    "lin_1_0.03": Candidate(SoftDQN, dict(temperature_initial=1.0, temperature_final=0.03, temperature_fraction=0.1)),
    "lin_1_0.001": Candidate(SoftDQN, dict(temperature_initial=1.0, temperature_final=0.001, temperature_fraction=0.1)),
    "exp_1_0.01": Candidate(SoftDQN, dict(temperature=exponential_schedule(1.0, 0.01, 0.1))),
    "relative_1_0.01": Candidate(
        RelativeTemperatureSoftDQN, dict(temperature_initial=1.0, temperature_final=0.01, temperature_fraction=0.1)
    ),
    # learned temperature starting at SAC's 1.0 (auto_r<ratio>) or at 0.1 (auto0.1_r<ratio>)
    **{f"auto_r{ratio}": _auto(ratio, 1.0) for ratio in (0.98, 0.89, 0.5, 0.3)},
    **{f"auto0.1_r{ratio}": _auto(ratio, 0.1) for ratio in (0.98, 0.89, 0.75, 0.5, 0.3)},
}


# --------------------------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------------------------
IDENTITY: dict[str, Any] = dict(gamma=0.4, learning_rate=0.002, learning_starts=0)
IDENTITY_BUDGETS = {2: 1_000, 4: 1_200, 10: 2_500}
CARTPOLE_ZOO: dict[str, Any] = dict(
    learning_rate=2.3e-3,
    batch_size=64,
    buffer_size=100_000,
    learning_starts=1000,
    gamma=0.99,
    target_update_interval=10,
    train_freq=256,
    gradient_steps=128,
    policy_kwargs=dict(net_arch=[256, 256]),
)
CARTPOLE_DQN_EXPLORATION: dict[str, Any] = dict(exploration_fraction=0.16, exploration_final_eps=0.04)


def gridworld_settings() -> dict[str, Any]:
    """The GridWorld-v0 entry of zoo_configs/soft_dqn.yml without its temperature, policy and zoo-only keys."""
    settings = harness.zoo_settings("soft_dqn", "GridWorld-v0")
    return {key: value for key, value in settings.items() if key not in ("policy", "temperature")}


def run_identity(n_actions: int, agent: str, seed: int) -> dict[str, Any]:
    env = make_vec_env(lambda: IdentityEnv(n_actions), n_envs=1, seed=seed)
    model = build(agent, env, n_actions, IDENTITY, seed)
    model.learn(IDENTITY_BUDGETS[n_actions])
    eval_env = IdentityEnv(n_actions)
    eval_env.action_space.seed(seed + 1000)  # IdentityEnv draws its states from its space's generator
    mean_return, _ = evaluate_policy(model, eval_env, n_eval_episodes=10, deterministic=True)
    return {"return": float(mean_return), "budget": IDENTITY_BUDGETS[n_actions]}


class SolvedCallback(BaseCallback):
    """tests/test_soft_dqn_learning.py's criterion: stop at a 20-episode deterministic mean >= 475."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=seed + 1000)
        self.solved_at: int | None = None
        self.evaluations: list[tuple[int, float]] = []

    def _on_step(self) -> bool:
        if self.num_timesteps % 1000 != 0:
            return True
        recent = [info["r"] for info in list(self.model.ep_info_buffer or [])[-5:]]
        if len(recent) < 5 or np.mean(recent) < 300:
            return True
        mean_return, _ = evaluate_policy(self.model, self.eval_env, n_eval_episodes=20, deterministic=True)
        self.evaluations.append((self.num_timesteps, float(mean_return)))  # type: ignore[arg-type]
        if float(mean_return) >= 475:  # type: ignore[arg-type]
            self.solved_at = self.num_timesteps
            return False
        return True


def run_cartpole(agent: str, seed: int) -> dict[str, Any]:
    env = make_vec_env("CartPole-v1", n_envs=1, seed=seed)
    settings = {**CARTPOLE_ZOO, **(CARTPOLE_DQN_EXPLORATION if agent == "dqn" else {})}
    model = build(agent, env, 2, settings, seed)
    callback = SolvedCallback(seed)
    model.learn(50_000, callback=callback)
    best = max((r for _, r in callback.evaluations), default=None)
    return {"solved_at": callback.solved_at, "best_evaluation": best, "evaluations": callback.evaluations}


def run_gridworld(budget: int, agent: str, seed: int) -> dict[str, Any]:
    env = make_vec_env("GridWorld-v0", n_envs=1, seed=seed)
    model = build(agent, env, 9, gridworld_settings(), seed)
    model.learn(budget)
    result: dict[str, Any] = {"success": evaluate_success(model, "GridWorld-v0"), "budget": budget}
    if isinstance(model, SoftDQN):
        temperature = model._current_temperature()
        with th.no_grad():
            q_values = model.q_net(th.arange(int(model.observation_space.n)))  # type: ignore[attr-defined]
        entropy = entropy_from_log_policy(boltzmann_log_policy(q_values, temperature)).mean().item()
        result.update(final_temperature=temperature, final_entropy_ratio=entropy / math.log(9))
    return result


TASKS: dict[str, Callable[[str, int], dict[str, Any]]] = {
    **{f"identity{n}": (lambda agent, seed, n=n: run_identity(n, agent, seed)) for n in IDENTITY_BUDGETS},
    "cartpole": run_cartpole,
    "gridworld": lambda agent, seed: run_gridworld(10_000, agent, seed),
    "gridworld_3e4": lambda agent, seed: run_gridworld(30_000, agent, seed),
}


def build(agent: str, env: Any, n_actions: int, settings: dict[str, Any], seed: int) -> BaseAlgorithm:
    candidate = CANDIDATES[agent]
    kwargs = candidate.kwargs(n_actions) if callable(candidate.kwargs) else candidate.kwargs
    return candidate.algo("MlpPolicy", env, seed=seed, **settings, **kwargs)


# --------------------------------------------------------------------------------------------------------------
# Storage and report
# --------------------------------------------------------------------------------------------------------------
def metric(task: str, run: dict[str, Any]) -> float:
    if task.startswith("identity"):
        return run["return"]
    if task.startswith("gridworld"):
        return run["success"]
    return 1.0 if run["solved_at"] is not None else 0.0


TASK_TITLES = {
    "identity2": "IdentityEnv(2), 1,000 steps: deterministic evaluation return out of 100 (10 episodes)",
    "identity4": "IdentityEnv(4), 1,200 steps: deterministic evaluation return out of 100 (10 episodes)",
    "identity10": "IdentityEnv(10), 2,500 steps: deterministic evaluation return out of 100 (10 episodes)",
    "cartpole": "CartPole-v1, rl-zoo's DQN settings, 5e4 steps: step at which 20 deterministic episodes first "
    "averaged >= 475",
    "gridworld": "GridWorld-v0, zoo settings, 1e4 steps: success rate of 20 deterministic episodes "
    "(final temperature; mean entropy of the final policy over the 64 cells / log 9)",
    "gridworld_3e4": "GridWorld-v0, zoo settings, 3e4 steps: success rate of 20 deterministic episodes "
    "(final temperature; mean entropy of the final policy over the 64 cells / log 9)",
}


def describe(task: str, run: dict[str, Any]) -> str:
    if task == "cartpole":
        return f"{run['solved_at']:,}" if run["solved_at"] is not None else "not solved"
    if task.startswith("gridworld") and "final_temperature" in run:
        extra = f"; {run['final_entropy_ratio']:.2f}" if "final_entropy_ratio" in run else ""
        return f"{metric(task, run):g} (τ {run['final_temperature']:.3g}{extra})"
    return f"{metric(task, run):g}"


def markdown(store: dict[str, Any]) -> str:
    """One table per task: an agent per row, its result per seed and the mean (CartPole: seeds solved)."""
    by_task: dict[str, dict[str, dict[int, dict[str, Any]]]] = {}
    for key, run in store["runs"].items():
        task, agent, seed = key.split("|")
        by_task.setdefault(task, {}).setdefault(agent, {})[int(seed)] = run
    lines: list[str] = []
    for task in [t for t in TASK_TITLES if t in by_task]:
        agents = by_task[task]
        seeds = sorted({seed for runs in agents.values() for seed in runs})
        rows = []
        for agent in [a for a in CANDIDATES if a in agents]:
            runs = agents[agent]
            cells = [describe(task, runs[seed]) if seed in runs else "" for seed in seeds]
            if task == "cartpole":
                mean = f"{sum(r['solved_at'] is not None for r in runs.values())}/{len(runs)} solved"
            else:
                mean = f"{statistics.mean(metric(task, r) for r in runs.values()):.3g}"
            rows.append([f"`{agent}`", *cells, mean])
        header = ["agent", *(f"seed {seed}" for seed in seeds), "mean"]
        lines += [f"**{TASK_TITLES[task]}**", "", *harness.md_table(header, rows), ""]
    meta = store.get("meta", {})
    lines.append(
        f"Generated by `benchmarks/soft_dqn_defaults.py` (one torch thread, {meta.get('machine', '?')}); agents: "
        "`dqn` SB3's DQN with its own exploration defaults, `const_<τ>` a constant temperature, `lin_<start>_<end>` "
        "linear annealing over the first 10%, `exp_1_0.01` exponential annealing over the first 10%, "
        "`relative_1_0.01` τ = c · (max_a Q - min_a Q) with c annealed 1 → 0.01 over 10%, `auto_r<r>` / "
        "`auto0.1_r<r>` a learned temperature starting at 1.0 / 0.1 with target entropy r · log|A|. SoftDQN's "
        'defaults are `lin_1_0.03` and, for `temperature="auto"`, `auto0.1_r0.5`. Means are over the seeds run; '
        "empty cells were not run."
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["identity2", "identity4", "identity10"], choices=list(TASKS))
    parser.add_argument("--agents", nargs="+", default=["dqn", "default"], choices=list(CANDIDATES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[3, 0, 1])
    parser.add_argument("--output", type=Path, default=RESULTS)
    harness.add_run_arguments(parser, quick_help=None, report_help="only re-render the Markdown table from the JSON")
    args = parser.parse_args()
    store = harness.read_json(args.output, default={"meta": {}, "runs": {}})
    if not args.report:
        th.set_num_threads(1)
        store["meta"] = {"machine": platform.platform(), "torch_threads": 1}
        for task in args.tasks:
            for agent in args.agents:
                for seed in args.seeds:
                    key = f"{task}|{agent}|{seed}"
                    if key in store["runs"]:
                        continue
                    start = time.perf_counter()
                    run = TASKS[task](agent, seed)
                    run["seconds"] = round(time.perf_counter() - start, 1)
                    store["runs"][key] = run
                    print(key, {k: v for k, v in run.items() if k != "evaluations"}, flush=True)
                    harness.write_json(args.output, store, newline=False)
    harness.write_text(args.output.with_suffix(".md"), markdown(store))
    print(markdown(store))


if __name__ == "__main__":
    main()
