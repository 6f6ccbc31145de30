"""DiscreteSAC's learned temperature: which target entropy, as a ratio of log|A|, should ``"auto"`` mean?

DiscreteSAC with ``ent_coef="auto"`` (alpha learned from 1.0) and ``target_entropy=f"auto_{ratio}"``, i.e. a
target of ``ratio * log|A|`` nats, for several ratios (the SAC-discrete paper's 0.98, CleanRL's 0.89 and lower
ones), on the tasks of ``zoo_configs/discrete_sac.yml``: CartPole-v1 (2 actions) and GridWorld-v0 (9 actions),
each with its zoo settings and budget (``n_timesteps``; GridWorld's fixed ``ent_coef`` replaced by ``"auto"``).
Per run, at the end of training:

* the task score of 20 deterministic episodes: CartPole's mean return (a separately seeded env), GridWorld's
  success rate (``evaluate_success``);
* the final alpha, and the largest alpha seen during training (a temperature that runs away shows there);
* the mean entropy of the actor's policy over the last 1,000 states the agent visited, against the target.

Every ``--eval-every`` steps alpha and that entropy are recorded (the curves of the PNG). Each run is stored in
the JSON as soon as it ends and a rerun skips the runs already there, so the script can be stopped and resumed.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/discrete_sac_target_entropy.py           # full: 3 seeds
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/discrete_sac_target_entropy.py --quick   # ~1 minute
    .venv/bin/python benchmarks/discrete_sac_target_entropy.py --report                    # re-render md/png

Writes ``benchmarks/results/discrete_sac_target_entropy{,_quick}.json``, ``.md`` and ``.png``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import harness
import numpy as np
import torch as th
from matplotlib.figure import Figure
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

import sb3_maxent  # noqa: F401  (registers GridWorld-v0)
from sb3_maxent.common.evaluation import evaluate_success
from sb3_maxent.common.soft_math import entropy_from_log_policy
from sb3_maxent.discrete_sac import DiscreteSAC
from sb3_maxent.envs.plotting import save_figure

NAME = "discrete_sac_target_entropy"
ENVS: tuple[str, ...] = ("CartPole-v1", "GridWorld-v0")
#: How each task is scored over 20 deterministic episodes
SCORES: dict[str, str] = {"CartPole-v1": "return", "GridWorld-v0": "success"}
FULL: dict[str, Any] = {
    "seeds": 3,
    "envs": list(ENVS),
    "ratios": [0.3, 0.5, 0.7, 0.89, 0.98],
    "steps": None,  # the zoo entry's n_timesteps
    "eval_every": 1_000,
}
QUICK: dict[str, Any] = {"seeds": 1, "envs": list(ENVS), "ratios": [0.5, 0.98], "steps": 1_500, "eval_every": 500}
N_EVAL_EPISODES = 20
#: Entropy measured on this many of the last visited states (the replay buffer's newest entries)
RECENT_STATES = 1_000


def settings(env_id: str) -> dict[str, Any]:
    """The zoo settings of DiscreteSAC for ``env_id``, with a learned ``ent_coef`` (the ratio is set per run)."""
    return {**harness.zoo_settings("discrete_sac", env_id), "ent_coef": "auto"}


def recent_entropy(model: DiscreteSAC) -> float:
    """Mean entropy of the actor's policy on the last ``RECENT_STATES`` observations of the replay buffer."""
    buffer = model.replay_buffer
    assert buffer is not None
    size = buffer.buffer_size if buffer.full else buffer.pos
    last = np.arange(buffer.pos - min(RECENT_STATES, size), buffer.pos) % buffer.buffer_size
    observations = th.as_tensor(buffer.observations[last, 0], device=model.device)
    if model.observation_space.shape == ():  # Discrete observations: indices, one-hot encoded by the policy
        observations = observations.long()
    with th.no_grad():
        return float(entropy_from_log_policy(model.actor.log_probs(observations)).mean())


class TemperatureCallback(BaseCallback):
    """Every ``eval_every`` steps, record alpha and the policy's recent entropy; track the largest alpha."""

    def __init__(self, eval_every: int) -> None:
        super().__init__()
        self.eval_every = eval_every
        self.steps: list[int] = []
        self.alphas: list[float] = []
        self.entropies: list[float] = []
        self.max_alpha = 0.0

    def _on_step(self) -> bool:
        model: DiscreteSAC = self.model  # type: ignore[assignment]
        alpha = model._current_ent_coef().item()
        self.max_alpha = max(self.max_alpha, alpha)
        if self.num_timesteps % self.eval_every == 0:
            self.steps.append(self.num_timesteps)
            self.alphas.append(alpha)
            self.entropies.append(recent_entropy(model))
        return True


def run_one(env_id: str, ratio: float, seed: int, steps: int, eval_every: int) -> dict[str, Any]:
    """Train DiscreteSAC with target ``ratio * log|A|`` on ``env_id`` and score it."""
    kwargs = settings(env_id)
    env = make_vec_env(env_id, n_envs=1, seed=seed)
    model = DiscreteSAC(kwargs.pop("policy"), env, seed=seed, target_entropy=f"auto_{ratio}", **kwargs)
    callback = TemperatureCallback(eval_every)
    start = time.perf_counter()
    model.learn(steps, callback=callback)
    seconds = time.perf_counter() - start
    if SCORES[env_id] == "success":
        score = evaluate_success(model, env_id, n_episodes=N_EVAL_EPISODES)
    else:
        eval_env = make_vec_env(env_id, n_envs=1, seed=seed + 1000)
        mean_return, _ = evaluate_policy(model, eval_env, n_eval_episodes=N_EVAL_EPISODES, deterministic=True)
        score = float(mean_return)  # type: ignore[arg-type]
    return {
        "env_id": env_id,
        "ratio": ratio,
        "seed": seed,
        "steps": steps,
        "target_entropy": float(model.target_entropy),
        "score": score,
        "final_alpha": model._current_ent_coef().item(),
        "max_alpha": callback.max_alpha,
        "final_entropy": recent_entropy(model),
        "train_seconds": seconds,
        "curve": {"steps": callback.steps, "alpha": callback.alphas, "entropy": callback.entropies},
    }


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------
def paths(quick: bool) -> dict[str, Path]:
    return {key: harness.result_path(NAME, quick, f".{key}") for key in ("json", "md", "png")}


def runs_of(data: dict[str, Any], env_id: str, ratio: float) -> list[dict[str, Any]]:
    return sorted((r for r in data["runs"] if r["env_id"] == env_id and r["ratio"] == ratio), key=lambda r: r["seed"])


def fmt(values: Sequence[float], digits: int) -> str:
    """``mean ± std`` over seeds; a single run's value alone (no spread to show)."""
    return f"{values[0]:.{digits}f}" if len(values) == 1 else harness.fmt(values, digits=digits)


def per_seed(values: Sequence[float], digits: str) -> str:
    return ", ".join(f"{v:{digits}}" for v in values)


def render_markdown(data: dict[str, Any], quick: bool) -> str:
    lines = [f"## DiscreteSAC: the target entropy of a learned alpha{' (quick run)' if quick else ''}", ""]
    commands = data["commands"]
    lines += ["Command" + ("s (each adds runs to the JSON)" if len(commands) > 1 else "") + ":", "", "```bash"]
    lines += [*commands, "```", ""]
    seconds = sum(r["train_seconds"] for r in data["runs"])
    lines += [
        'DiscreteSAC, `ent_coef="auto"` (alpha learned from 1.0, Adam at the networks\' learning rate, clamped to '
        '[1e-8, 1e4]) with `target_entropy="auto_<ratio>"` = ratio x log|A| nats; every other setting from '
        '`zoo_configs/discrete_sac.yml` (GridWorld-v0\'s fixed `ent_coef` replaced by `"auto"`). Score over '
        f"{N_EVAL_EPISODES} deterministic episodes at the end (CartPole-v1: mean return, a separately seeded env; "
        "GridWorld-v0: success rate). Entropy: the actor's mean entropy over the last "
        f"{RECENT_STATES:,} visited states, at the end. Values: mean ± sample std over seeds (a single seed's "
        "value alone); alpha, which spreads over orders of magnitude, seed by seed (seed order). "
        f"{seconds / 60:.1f} min of training in total on {data['machine']}.",
        "",
    ]
    header = [
        "task",
        "ratio",
        "target (nats)",
        "steps",
        "seeds",
        "score",
        "final alpha (per seed)",
        "max alpha during training (per seed)",
        "final entropy",
        "entropy / target",
        "wall time per run (s)",
    ]
    rows = []
    for env_id in data["envs"]:
        for ratio in data["ratios"]:
            runs = runs_of(data, env_id, ratio)
            if not runs:
                continue
            score = fmt([r["score"] for r in runs], digits=1 if SCORES[env_id] == "return" else 2)
            rows.append(
                [
                    env_id,
                    f"{ratio:g}",
                    f"{runs[0]['target_entropy']:.3f}",
                    f"{runs[0]['steps']:,}",
                    len(runs),
                    f"{SCORES[env_id]} {score}",
                    per_seed([r["final_alpha"] for r in runs], ".3g"),
                    per_seed([r["max_alpha"] for r in runs], ".3g"),
                    fmt([r["final_entropy"] for r in runs], digits=3),
                    fmt([r["final_entropy"] / r["target_entropy"] for r in runs], digits=2),
                    f"{np.mean([r['train_seconds'] for r in runs]):.0f}",
                ]
            )
    lines += harness.md_table(header, rows)
    lines += ["", f"![alpha and entropy vs steps]({paths(quick)['png'].name})", ""]
    return "\n".join(lines)


def render_plot(data: dict[str, Any], quick: bool) -> Path:
    """Per task: alpha (log scale) and the recent policy entropy (target dashed) vs steps, one colour per ratio."""
    envs = [e for e in data["envs"] if any(r["env_id"] == e for r in data["runs"])]
    figure = Figure(figsize=(12, 3.8 * max(len(envs), 1)), layout="constrained")
    axes = np.atleast_2d(figure.subplots(max(len(envs), 1), 2, squeeze=False))
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for row, env_id in zip(axes, envs, strict=False):
        for colour, ratio in zip(colours, data["ratios"], strict=False):
            for index, run in enumerate(runs_of(data, env_id, ratio)):
                curve = run["curve"]
                label = f"ratio {ratio:g}" if index == 0 else None
                row[0].plot(curve["steps"], curve["alpha"], color=colour, alpha=0.8, label=label)
                row[1].plot(curve["steps"], curve["entropy"], color=colour, alpha=0.8, label=label)
                if index == 0:
                    row[1].axhline(run["target_entropy"], color=colour, linestyle="--", linewidth=0.8)
        row[0].set_yscale("log")
        row[0].set_title(f"{env_id}: learned alpha (one line per seed)")
        row[1].set_title(f"{env_id}: policy entropy, last {RECENT_STATES:,} states (dashed: targets)")
        for ax in row:
            ax.set_xlabel("environment steps")
            ax.grid(alpha=0.3, which="both")
        row[0].legend(fontsize=8)
    return save_figure(figure, paths(quick)["png"])


def write_report(data: dict[str, Any], quick: bool) -> None:
    harness.write_report(paths(quick)["md"], render_markdown(data, quick), lambda: render_plot(data, quick))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_run_arguments(parser, "tiny run (1 seed, ratios 0.5 and 0.98, 1500 steps): writes *_quick.* files")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (default 0 1 2)")
    parser.add_argument("--envs", nargs="+", choices=ENVS, default=None, help="tasks (default: both)")
    parser.add_argument("--ratios", type=float, nargs="+", default=None, help=f"ratios (default {FULL['ratios']})")
    parser.add_argument("--steps", type=int, default=None, help="env steps per run (default: the zoo budget)")
    args = parser.parse_args(argv)

    out = paths(args.quick)
    if harness.report_requested(args, out["json"], write_report):
        return

    budget = harness.budget(FULL, QUICK, args.quick, envs=args.envs, ratios=args.ratios, steps=args.steps)
    th.set_num_threads(1)
    seeds = args.seeds if args.seeds is not None else list(range(budget["seeds"]))
    data: dict[str, Any] = harness.read_json(out["json"]) if out["json"].exists() else {"runs": [], "commands": []}
    data["commands"] = [*data["commands"], harness.command_line()]
    # envs and ratios of all the commands, in the order of the first
    data["envs"] = [e for e in ENVS if e in {*data.get("envs", []), *budget["envs"]}]
    data["ratios"] = sorted({*data.get("ratios", []), *budget["ratios"]})
    data.update(machine=harness.machine(), versions=harness.versions("sb3_maxent", "stable_baselines3", "torch"))
    data["settings"] = {env_id: settings(env_id) for env_id in data["envs"]}
    done = {(r["env_id"], r["ratio"], r["seed"], r["steps"]) for r in data["runs"]}
    for seed in seeds:
        for env_id in budget["envs"]:
            steps = int(budget["steps"] or harness.zoo_timesteps("discrete_sac", env_id))
            for ratio in budget["ratios"]:
                if (env_id, ratio, seed, steps) in done:
                    print(f"{env_id} ratio {ratio} seed {seed}: already in {out['json'].name}, skipped")
                    continue
                record = run_one(env_id, ratio, seed, steps, budget["eval_every"])
                data["runs"].append(record)
                harness.write_json(out["json"], data)  # stored as soon as it ends (resumable)
                print(
                    f"{env_id} ratio {ratio} seed {seed} ({record['train_seconds']:.0f} s): {SCORES[env_id]} "
                    f"{record['score']:.3g}, alpha {record['final_alpha']:.3g} (max {record['max_alpha']:.3g}), "
                    f"entropy {record['final_entropy']:.3f} / target {record['target_entropy']:.3f}",
                    flush=True,
                )
    harness.write_json(out["json"], data)
    write_report(data, args.quick)


if __name__ == "__main__":
    main()
