"""Do the packaged FruitBot configurations learn? Each FruitBot-v0 entry of ``zoo_configs/`` trained by
``sb3-maxent train`` for a short budget, compared with the uniform random policy.

For every algorithm (``--algos``) and seed (``--seeds``): ``sb3-maxent train --algo A --env FruitBot-v0
--seed S -n BUDGET --num-threads 1 --eval-freq -1`` with the packaged configuration (training only: the
rl-zoo evaluation is off), then the *train return*: the mean of the last 100 training episodes of the run's
monitor file (raw FruitBot rewards on the training levels). The random policy plays the same training
levels (uniform actions, ``--random-episodes`` episodes). Verdict per algorithm: *learns* if the mean train
return over seeds exceeds the random policy's by more than two seed standard deviations (ddof 1). The report also
gives each run's learning curve, the mean train return of each tenth of the budget: where a run leaves the
random policy's level, and whether it was still rising at the end.

Writes ``benchmarks/results/zoo_fruitbot_learns.{json,md}`` after every run; finished runs are kept (the
runs live in ``--log-folder``; without ``--resume-freq`` a run without a finished model is started again).
Seeds may run in parallel, one process each (``--seeds 0`` and ``--seeds 1``): each merges the runs the others
wrote before writing.

With ``--resume-freq N`` every run checkpoints every N steps, and a run cut by the end of a session continues
from its last checkpoint when the same command is run again (``sb3-maxent train --resume``, the same episodes
as an uninterrupted run); without it an interrupted run starts again.

A run's record may carry a ``note`` (written by hand, shown under the commands): where a run was trained
before the entry took its overrides (a sweep's candidate that became the entry), the note says so and how the
two were shown to be the same run.

``--hyperparams`` changes the packaged entry for a sweep (passed on to ``sb3-maxent train --hyperparams``, e.g.
``temperature:0.1``): such runs live in their own log folder, are told apart from the entry's own runs and get
their own row; write them to their own ``--out``.

.. code-block:: bash

    python benchmarks/zoo_fruitbot_learns.py --algos ppo maxent_ppo --seeds 0 1
    python benchmarks/zoo_fruitbot_learns.py --random-only   # only the random policy's return
    python benchmarks/zoo_fruitbot_learns.py --algos soft_dqn --seeds 0 --hyperparams temperature:0.1 \
        --out benchmarks/results/zoo_fruitbot_soft_dqn_sweep.json
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import harness
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 311_296  # 19 rollouts of 64 x 256 steps: the FruitBot comparison's stage-1 budget
ENV_ID = "FruitBot-v0"
WINDOWS = 10  # the learning curves of the report: mean train return per tenth of the budget


def random_policy_return(episodes: int, seed: int = 0) -> dict[str, float]:
    """Uniform random actions on the training levels of the packaged entry (all entries share them)."""
    from sb3_maxent.envs.procgen import ProcgenVecEnv

    env_kwargs = yaml.safe_load((ROOT / "zoo_configs" / "ppo.yml").read_text())[ENV_ID]["env_kwargs"]
    env = ProcgenVecEnv(num_envs=64, seed=seed, num_threads=1, **env_kwargs)
    rng = np.random.default_rng(seed)
    env.reset()
    # The first `quota` episodes of every environment: taking the first N episodes to end over all
    # environments would favour short ones (an early death ends first).
    quota = math.ceil(episodes / env.num_envs)
    returns: list[list[float]] = [[] for _ in range(env.num_envs)]
    running = np.zeros(env.num_envs)
    while min(len(env_returns) for env_returns in returns) < quota:
        _, rewards, dones, _ = env.step(rng.integers(0, env.action_space.n, size=env.num_envs))
        running += rewards
        for index in np.flatnonzero(dones):
            returns[index].append(float(running[index]))
            running[index] = 0.0
    env.close()
    array = np.asarray([value for env_returns in returns for value in env_returns[:quota]])
    return {
        "episodes": len(array),
        "mean": float(array.mean()),
        "episode_std": float(array.std(ddof=1)),
        "standard_error": float(array.std(ddof=1) / math.sqrt(len(array))),
        "env_kwargs": env_kwargs,
    }


def monitor_episodes(run_dir: Path) -> list[tuple[float, int]]:
    """(return, length) of each episode of a run, in the order the episodes ended (rl-zoo's monitor files)."""
    rows: list[tuple[float, float, int]] = []
    for path in sorted(run_dir.glob("*monitor.csv")):
        with open(path) as handle:
            handle.readline()  # the JSON header line
            rows += [(float(row["t"]), float(row["r"]), int(row["l"])) for row in csv.DictReader(handle)]
    return [(reward, length) for _, reward, length in sorted(rows)]


def learning_curve(episodes: list[tuple[float, int]], budget: int, windows: int = WINDOWS) -> list[float | None]:
    """
    Mean return of the episodes that ended in each of ``windows`` equal step windows of ``budget``; a run's
    step count at an episode's end is taken as the summed lengths of the episodes ended so far (exact with one
    environment; with several it leaves out the steps of the episodes still running). ``None``: no episode
    ended in the window. Episodes past the budget count in the last window.
    """
    ends = np.cumsum([length for _, length in episodes])
    index = np.minimum((ends * windows - 1) // budget, windows - 1)  # the window (k/w, (k+1)/w] of the budget
    returns = np.array([reward for reward, _ in episodes])
    return [float(returns[index == k].mean()) if np.any(index == k) else None for k in range(windows)]


def seed_folder(log_folder: Path, seed: int, hyperparams: list[str]) -> Path:
    """``seed<S>``, or ``seed<S>-<overrides>`` for a run that changes the packaged entry."""
    suffix = "".join(f"-{item.replace(':', '_')}" for item in hyperparams)
    if not all(char.isalnum() or char in "-_." for char in suffix):
        raise ValueError(f"--hyperparams {hyperparams}: use plain KEY:VALUE items (letters, digits, '.', '_')")
    return log_folder / f"seed{seed}{suffix}"


def run_dir_of(log_folder: Path, algo: str, seed: int, hyperparams: list[str] = []) -> Path:  # noqa: B006
    return seed_folder(log_folder, seed, hyperparams) / algo / f"{ENV_ID}_1"


def run_key(run: dict[str, Any]) -> tuple[str, int, int, tuple[str, ...]]:
    return run["algo"], run["seed"], run["budget"], tuple(run.get("hyperparams", []))


def train(
    algo: str, seed: int, budget: int, log_folder: Path, hyperparams: list[str], resume_freq: int = 0
) -> dict[str, Any]:
    from sb3_maxent.zoo.resume import latest_checkpoint

    run_dir = run_dir_of(log_folder, algo, seed, hyperparams)
    command = [
        "sb3-maxent", "train", "--algo", algo, "--env", ENV_ID, "--seed", str(seed), "-n", str(budget),
        "--num-threads", "1", "--eval-freq", "-1", "-f", str(seed_folder(log_folder, seed, hyperparams)),
    ]  # fmt: skip
    if hyperparams:
        command += ["--hyperparams", *hyperparams]
    if resume_freq:
        command += ["--resume-freq", str(resume_freq)]
    # A run is finished when its model is saved and no resume checkpoint is left (rl-zoo also saves the model
    # of a run stopped by Ctrl-C; sb3-maxent removes the checkpoints of a finished run)
    resumable = latest_checkpoint(run_dir) is not None
    resumed = resumable and bool(resume_freq)
    if resumable or not (run_dir / f"{ENV_ID}.zip").exists():
        if run_dir.exists() and not resumed:  # an interrupted run without checkpoint: start it again
            subprocess.run(["rm", "-rf", str(run_dir)], check=True)
        start = time.perf_counter()
        executable = Path(sys.executable).with_name("sb3-maxent")
        argv = [str(executable), *command[1:], *(["--resume"] if resumed else [])]
        subprocess.run(argv, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
        wall = time.perf_counter() - start
    else:
        wall = float("nan")
    episodes = monitor_episodes(run_dir)
    returns = [reward for reward, _ in episodes]
    return {
        "algo": algo,
        "seed": seed,
        "budget": budget,
        "hyperparams": hyperparams,
        "command": " ".join(command),
        "episodes": len(returns),
        "train_return_last100": float(np.mean(returns[-100:])),
        "curve": learning_curve(episodes, budget),
        "wall_s": round(wall, 1),  # of the last part only when the run was resumed
        "resumed": resumed,
    }


def merge_runs(runs: list[dict[str, Any]], others: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``runs`` plus the runs of ``others`` that ``runs`` lacks (same algorithm, seed, budget and overrides:
    ``runs``' own)."""
    known = {run_key(run) for run in runs}
    return runs + [run for run in others if run_key(run) not in known]


def setting(run: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """What a report row stands for: the algorithm and the overrides of its packaged entry."""
    return run["algo"], tuple(run.get("hyperparams", []))


def label(run: dict[str, Any]) -> str:
    """A run's setting as the reports write it: ``dqn n_steps:3``."""
    return " ".join([run["algo"], *run.get("hyperparams", [])])


def notes_markdown(data: dict[str, Any]) -> list[str]:
    """The runs' notes, one line per setting and note: ``- dqn seeds 0, 1: ...``."""
    seeds: dict[tuple[str, str], list[int]] = {}
    for run in sorted(data["runs"], key=lambda run: (setting(run), run["seed"])):
        if run.get("note"):
            seeds.setdefault((label(run), run["note"]), []).append(run["seed"])
    lines = [
        f"- {name} seed{'s' if len(numbers) > 1 else ''} {', '.join(map(str, numbers))}: {note}"
        for (name, note), numbers in seeds.items()
    ]
    return ["Notes:", "", *lines, ""] if lines else []


def markdown(data: dict[str, Any]) -> str:
    rand = data["random"]
    lines = [
        f"`sb3-maxent train` with each packaged FruitBot-v0 entry, "
        f"{data['budget']:,d} steps, training only; *train return*: mean of the run's last 100 training episodes. "
        f"Uniform random policy on the same levels: **{rand['mean']:.2f}** (± {rand['standard_error']:.2f} standard "
        f"error, {rand['episodes']:,d} episodes, episode std {rand['episode_std']:.2f}).",
        "",
    ]
    rows = []
    for algo, hyperparams in sorted({setting(run) for run in data["runs"]}):
        runs = sorted((run for run in data["runs"] if setting(run) == (algo, hyperparams)), key=lambda run: run["seed"])
        values = np.array([run["train_return_last100"] for run in runs])
        std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        margin = float(values.mean()) - rand["mean"]
        learns = "n/a (1 seed)" if math.isnan(std) else ("**yes**" if margin > 2 * std else "**no**")
        per_seed = ", ".join(f"{value:.2f}" for value in values)
        rows.append(
            [
                " ".join([algo, *hyperparams]),
                len(runs),
                per_seed,
                f"{values.mean():.2f} ± {std:.2f}",
                f"{margin:+.2f}",
                f"{2 * std:.2f}",
                learns,
            ]
        )
    header = ["algorithm", "seeds", "train return per seed", "mean ± std", "margin over random", "2 std", "learns"]
    lines += harness.md_table(header, rows, align="lrlrrrl")
    if not data["runs"]:
        return "\n".join([*lines, "| no run finished yet | | | | | | |", ""])
    lines += curves_markdown(data)
    lines += ["", "Commands:", "", "```bash", *sorted({run["command"] for run in data["runs"]}), "```", ""]
    lines += notes_markdown(data)
    return "\n".join(lines)


def curves_markdown(data: dict[str, Any]) -> list[str]:
    """The learning curves: one row per run, the mean train return of each tenth of the budget."""
    runs = sorted(
        (run for run in data["runs"] if "curve" in run),
        key=lambda run: (setting(run), run["seed"]),
    )
    if not runs:
        return []
    windows = len(runs[0]["curve"])
    ends = [f"{round((k + 1) * data['budget'] / windows / 1000):d}k" for k in range(windows)]
    rows = [
        [label(run), run["seed"]] + ["n/a" if value is None else f"{value:.2f}" for value in run["curve"]]
        for run in runs
    ]
    missing = [f"{label(run)} seed {run['seed']}" for run in data["runs"] if "curve" not in run]
    note = f" No curve for {', '.join(sorted(missing))}: recorded before the curves were kept." if missing else ""
    return [
        "",
        f"Learning curves: mean train return of the episodes that ended in each tenth of the budget (column: the "
        f"tenth's last step; steps counted as the summed lengths of the episodes ended so far). Random policy: "
        f"{data['random']['mean']:.2f}.{note}",
        "",
        *harness.md_table(["algorithm", "seed", *ends], rows, align="lr" + "r" * windows),
    ]


def add_missing_curves(data: dict[str, Any], log_folder: Path) -> None:
    """Give the runs recorded before the learning curves were their curve, read from the run's monitor files
    when they are still in ``log_folder`` and hold the recorded run (the same last-100 train return)."""
    for run in data["runs"]:
        if "curve" in run:
            continue
        episodes = monitor_episodes(run_dir_of(log_folder, run["algo"], run["seed"], run.get("hyperparams", [])))
        returns = [reward for reward, _ in episodes]
        if returns and math.isclose(float(np.mean(returns[-100:])), run["train_return_last100"], abs_tol=1e-9):
            run["curve"] = learning_curve(episodes, run["budget"])


def write_results(out: Path, data: dict[str, Any]) -> None:
    harness.write_json(out, data)
    harness.write_text(out.with_suffix(".md"), markdown(data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--algos",
        nargs="+",
        default=["ppo", "maxent_ppo", "soft_dqn", "dqn", "discrete_sac"],
        help="algorithms (default: every one with a FruitBot-v0 entry in zoo_configs/)",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--budget", type=int, default=BUDGET)
    parser.add_argument("--random-episodes", type=int, default=2000)
    parser.add_argument("--log-folder", type=Path, default=ROOT / "logs" / "zoo_fruitbot_learns")
    parser.add_argument("--out", type=Path, default=harness.result_path("zoo_fruitbot_learns", quick=False))
    parser.add_argument("--random-only", action="store_true", help="measure the random policy only")
    parser.add_argument(
        "--hyperparams", nargs="+", default=[], metavar="KEY:VALUE", help="change the packaged entry (a sweep)"
    )
    parser.add_argument(
        "--resume-freq",
        type=int,
        default=0,
        metavar="STEPS",
        help="runs checkpoint every STEPS steps (sb3-maxent train --resume-freq); an interrupted run then resumes",
    )
    args = parser.parse_args()
    data: dict[str, Any] = harness.read_json(args.out, default={"runs": []})
    data["budget"] = args.budget
    add_missing_curves(data, args.log_folder)
    if "random" not in data or data["random"]["episodes"] < args.random_episodes:
        data["random"] = random_policy_return(args.random_episodes)
        print(f"random policy: {data['random']}", flush=True)
    for algo in [] if args.random_only else args.algos:
        for seed in args.seeds:
            if (algo, seed, args.budget, tuple(args.hyperparams)) in {run_key(run) for run in data["runs"]}:
                continue
            result = train(algo, seed, args.budget, args.log_folder, args.hyperparams, args.resume_freq)
            print(json.dumps(result), flush=True)
            # runs that another process (other seeds started alongside) wrote meanwhile are kept
            data["runs"] = merge_runs(data["runs"], harness.read_json(args.out, default={"runs": []})["runs"])
            data["runs"].append(result)
            write_results(args.out, data)
    write_results(args.out, data)
    print(markdown(data))


if __name__ == "__main__":
    main()
