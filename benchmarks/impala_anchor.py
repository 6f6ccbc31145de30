"""The IMPALA anchor against the Procgen paper's published FruitBot runs, point by point.

*Ours*: ``benchmarks/results/fruitbot_impala_anchor.json``, written by ``fruitbot_paper.py`` (PPO with
``ent_coef`` 0.01, ``ImpalaCnnPolicy``, FruitBot easy mode on 200 training levels, 64 environments x 256
steps per rollout), finished or still in progress; or, with ``--ours``, other such runs: the seeds of one
set-up, in one results file or several, compared through their mean (each seed's value beside it).
*Published*: the raw training logs of the Procgen paper's generalisation runs on 200 easy levels (Cobbe et
al. 2020, three seeds), committed in openai/train-procgen as
``train_procgen/results/easy-200-run{0,1,2}/progress-fruitbot-{train,test}.csv`` and extracted once
(``--extract PATH_TO_A_CHECKOUT``) into ``benchmarks/results/procgen_fruitbot_easy200.json``.

Those runs come from ``mpiexec -np 2 python -m train_procgen.train --num_levels 200 --distribution_mode easy
--test_worker_interval 2`` (the repository's README): one training worker with 64 environments x 256 steps,
the same 16,384-step grid as ours, and one test worker that plays the full level distribution with the same
parameters and no weight in the update. The quantities compared:

* **train return**: the mean return of the last 100 training episodes after each rollout, raw rewards; in
  baselines' ppo2 ``eprewmean`` (a deque of the last 100 ``VecMonitor`` episodes), here the curve's
  ``ep_return_mean100`` (the last 100 ``VecMonitor`` episodes, below ``VecNormalize``): the same definition on
  the same grid, so every rollout is a point of comparison;
* **test return**: published, the test worker's ``eprewmean`` (full distribution, during training); ours,
  ``--eval-episodes`` episodes on levels 200-399 at each evaluation point (stochastic policy);
* **entropy**: published, ``loss/policy_entropy`` (mean over the update's minibatches); ours, the mean
  closed-form entropy over the rollout before the update;
* **episode length and update size** (a table of their own): the mean episode length, and each update's clip
  fraction, approximate KL and explained variance (ppo2's ``eplenmean``, ``loss/clipfrac``, ``loss/approxkl``,
  ``misc/explained_variance``; ours from the run's ``update_curve``, which runs started before it existed lack).

The verdict the issue asks for is taken at 999,424 steps: our train return (with several seeds, their mean)
*inside the published spread* if it is within one standard deviation (ddof 1, three runs) of the published mean.
Each row also says how many published standard deviations separate the two, and the range of the three runs.

.. code-block:: bash

    python benchmarks/impala_anchor.py                 # tables and figure from the two JSON files
    git clone https://github.com/openai/train-procgen /tmp/train-procgen
    python benchmarks/impala_anchor.py --extract /tmp/train-procgen   # re-extract the published curves
    # the Glorot-init runs (fruitbot_paper.py --policy impala_glorot, seeds 0 and 1), with the default-init
    # anchor and the vf_coef 0.25 variant beside them
    python benchmarks/impala_anchor.py --ours benchmarks/results/fruitbot_impala_glorot_anchor.json \\
        benchmarks/results/fruitbot_impala_glorot_anchor_seed1.json \\
        --beside benchmarks/results/fruitbot_impala_anchor.json benchmarks/results/fruitbot_impala_glorot_vf025.json
"""

from __future__ import annotations

import argparse
import csv
import math
import subprocess
from pathlib import Path
from typing import Any

import harness
import numpy as np

RESULTS = harness.RESULTS_DIR
OURS = RESULTS / "fruitbot_impala_anchor.json"
PUBLISHED = RESULTS / "procgen_fruitbot_easy200.json"
OUT = RESULTS / "fruitbot_impala_anchor_vs_published"
CLEANRL = RESULTS / "cleanrl_fruitbot_easy200.json"  # seed 0; seed k in cleanrl_fruitbot_easy200_seed<k>.json
SOURCE = "https://github.com/openai/train-procgen"
RUN_FILES = "train_procgen/results/easy-200-run{run}/progress-fruitbot-{split}.csv"
LAST_STEP = 2_000_000  # the extract keeps the first 2M steps (the stage-2 budget) of the 25M-step runs
WINDOW = 65_536  # 4 rollouts: the windows of the smoothed comparison
VERDICT_STEP = 999_424
# The training worker's other columns kept by the extract (our name: ppo2's column): the entropy, the mean
# length of the last 100 episodes, and each update's size and value fit.
TRAIN_COLUMNS = {
    "entropy": "loss/policy_entropy",
    "episode_length": "eplenmean",
    "approx_kl": "loss/approxkl",
    "clip_fraction": "loss/clipfrac",
    "explained_variance": "misc/explained_variance",
}
# CleanRL's update statistics (its TensorBoard tag under losses/: our name).
CLEANRL_LOSSES = {
    "entropy": "entropy",
    "clipfrac": "clip_fraction",
    "approx_kl": "approx_kl",
    "explained_variance": "explained_variance",
}
# The columns of the episode-length and update-size table: key, heading, decimals.
UPDATE_COLUMNS = (
    ("episode_length", "episode length", 1),
    ("clip_fraction", "clip fraction", 3),
    ("approx_kl", "approx. KL", 4),
    ("explained_variance", "explained variance", 3),
)


def extract(checkout: Path) -> dict[str, Any]:
    """The first ``LAST_STEP`` steps of the three published runs, from a checkout of openai/train-procgen."""
    runs = []
    for run in range(3):
        curves: dict[str, Any] = {}
        for split in ("train", "test"):
            with open(checkout / RUN_FILES.format(run=run, split=split)) as handle:
                rows = [row for row in csv.DictReader(handle) if float(row["misc/total_timesteps"]) <= LAST_STEP]
            curves[split] = {
                "timesteps": [int(float(row["misc/total_timesteps"])) for row in rows],
                "ep_return_mean100": [float(row["eprewmean"]) for row in rows],
            }
            if split == "train":
                for key, column in TRAIN_COLUMNS.items():
                    curves[split][key] = [float(row[column]) for row in rows]
        runs.append(curves)
    commit = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "source": SOURCE,
        "commit": commit or "unknown",
        "files": RUN_FILES,
        "license": "MIT License, Copyright (c) 2019 OpenAI (the repository's LICENSE)",
        "command": "mpiexec -np 2 python -m train_procgen.train --env_name fruitbot --num_levels 200 "
        "--distribution_mode easy --test_worker_interval 2",
        "columns": "misc/total_timesteps, eprewmean; train only: "
        + ", ".join(TRAIN_COLUMNS.values())
        + "; first 2M steps",
        "runs": runs,
    }


def cleanrl_curve(run_dir: Path, rollout: int = 16_384) -> dict[str, Any]:
    """
    A CleanRL ``ppo_procgen.py`` run (its TensorBoard folder ``runs/<name>``) on our grid: after every rollout
    of ``rollout`` steps, the mean return of the last 100 episodes that ended by then (``charts/episodic_return``,
    raw rewards, in the order they were logged), the entropy, clip fraction, approximate KL and explained
    variance the update logged (``losses/*``), and the number and summed length of the episodes logged by then
    (``charts/episodic_length``). CleanRL logs at most one episode per vector step (the first of ``info`` that
    ended), a subsample blind to returns. A resumed run's TensorBoard purge is applied (the events a cut run
    logged after its checkpoint are dropped).
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    episodes = [(event.step, event.value) for event in events.Scalars("charts/episodic_return")]
    lengths = [(event.step, event.value) for event in events.Scalars("charts/episodic_length")]
    logged = {
        tag: {event.step: float(event.value) for event in events.Scalars(f"losses/{tag}")} for tag in CLEANRL_LOSSES
    }
    steps = sorted(step for step in logged["entropy"] if step % rollout == 0)
    returns, ended_counts, ended_steps = [], [], []
    for step in steps:
        ended = [value for episode_step, value in episodes if episode_step <= step]
        returns.append(float(np.mean(ended[-100:])) if ended else math.nan)
        ended_lengths = [value for episode_step, value in lengths if episode_step <= step]
        ended_counts.append(len(ended_lengths))
        ended_steps.append(float(np.sum(ended_lengths)))
    return {
        "timesteps": steps,
        "ep_return_mean100": returns,
        **{CLEANRL_LOSSES[tag]: [logged[tag][step] for step in steps] for tag in CLEANRL_LOSSES},
        "episodes_ended": ended_counts,
        "episode_steps": ended_steps,
        "episodes": len(episodes),
    }


def published_at(published: dict[str, Any], split: str, key: str, step: int) -> list[float]:
    """The three runs' values at ``step`` (a multiple of 16,384 that every run logged)."""
    values = []
    for run in published["runs"]:
        curve = run[split]
        values.append(curve[key][curve["timesteps"].index(step)])
    return values


def published_window(published: dict[str, Any], key: str, steps: list[int]) -> list[float]:
    """Each published run's mean of a train-split column over the rollouts ``steps``."""
    values = zip(*(published_at(published, "train", key, step) for step in steps), strict=True)
    return [float(np.mean(run_values)) for run_values in values]


def our_runs(data: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    """Every run record of a ``fruitbot_paper.py`` results file (one per seed), each with whether it finished."""
    finished = [(record, True) for record in data.get("runs", [])]
    return finished + [(record, False) for record in data.get("in_progress", {}).values()]


def seeds_of(files: list[dict[str, Any]]) -> list[tuple[dict[str, Any], bool]]:
    """The runs of one set-up, gathered from one or more results files (one seed each, or several in one file),
    ordered by seed; a ``SystemExit`` names the problem if the files are not one set-up or repeat a seed."""
    first = files[0]["settings"]
    for data in files[1:]:
        wrong = {
            key: (first.get(key), data["settings"].get(key))
            for key in ("policy", "hyperparameters", "reward_norm_gamma", "n_envs", "timesteps", "eval_every")
            if first.get(key) != data["settings"].get(key)
        }
        if wrong:
            raise SystemExit(
                f"--ours takes the seeds of one set-up; these files differ (first, other): {wrong}. "
                "Compare another set-up with --beside."
            )
    runs = sorted((run for data in files for run in our_runs(data)), key=lambda run: int(run[0]["seed"]))
    seeds = [int(record["seed"]) for record, _ in runs]
    if len(set(seeds)) != len(seeds):
        raise SystemExit(f"--ours holds seed(s) {sorted({s for s in seeds if seeds.count(s) > 1})} twice")
    return runs


def ours_cell(values: list[float]) -> str:
    """One seed's value, or the seeds' mean ± std (ddof 1) followed by each seed's value."""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{harness.fmt(values)} ({', '.join(f'{value:.2f}' for value in values)})"


def spread(ours: float, values: list[float]) -> tuple[str, float]:
    mean, std, _ = harness.mean_std(values)
    return f"{mean:.2f} ± {std:.2f} ({min(values):.2f} to {max(values):.2f})", (ours - mean) / std


def curve_of(record: dict[str, Any]) -> dict[str, Any]:
    """A ``fruitbot_paper.py`` run record as a curve beside ours: the train return and entropy after every rollout."""
    entropy = dict(zip(record["entropy_curve"]["timesteps"], record["entropy_curve"]["entropy"], strict=True))
    steps = [step for step in record["train_curve"]["timesteps"] if step in entropy]
    returns = dict(zip(record["train_curve"]["timesteps"], record["train_curve"]["ep_return_mean100"], strict=True))
    return {
        "timesteps": steps,
        "ep_return_mean100": [returns[step] for step in steps],
        "entropy": [entropy[step] for step in steps],
    }


def init_label(record: dict[str, Any]) -> str:
    """How a run's IMPALA layers were initialised, from the network its record describes."""
    weight_init = record.get("network", {}).get("weight_init")
    return "SB3 orthogonal init" if weight_init is None else f"{weight_init} init"


def run_label(data: dict[str, Any], record: dict[str, Any]) -> str:
    """A run beside ours, told apart by its initialisation, the hyperparameters its file overrode, the discount of
    its reward normalisation if it was set, and its seed."""
    overrides = data["settings"].get("overrides") or {}
    parts = [init_label(record), *(f"{key} {value}" for key, value in overrides.items())]
    if data["settings"].get("reward_norm_gamma") is not None:
        parts.append(f"reward-norm gamma {data['settings']['reward_norm_gamma']}")
    return f"ours, {', '.join(parts)}, seed {record['seed']}"


def beside_cells(curve: dict[str, Any], steps: list[int], published_runs: list[float]) -> list[str]:
    """Another run's window mean, its distance from the published runs' window means and its entropy."""
    index = {step: position for position, step in enumerate(curve["timesteps"])}
    if not all(step in index for step in steps):
        return ["", "", ""]
    mean = float(np.mean([curve["ep_return_mean100"][index[step]] for step in steps]))
    _, d = spread(mean, [float(value) for value in published_runs])
    entropy = float(np.mean([curve["entropy"][index[step]] for step in steps]))
    return [f"{mean:.2f}", f"{d:+.1f}", f"{entropy:.2f}"]


def window_mean(curve: dict[str, Any], key: str, steps: list[int]) -> float:
    """Mean of ``curve[key]`` over the rollouts ``steps`` (NaN if the curve lacks the key or one of the rollouts)."""
    index = {step: position for position, step in enumerate(curve["timesteps"])}
    if key not in curve or not all(step in index for step in steps):
        return math.nan
    return float(np.mean([curve[key][index[step]] for step in steps]))


def window_length(curve: dict[str, Any], total_steps: str, episodes: str, steps: list[int]) -> float:
    """Mean length of the episodes that ended during the rollouts ``steps``: the growth over the window of the
    cumulative ``curve[total_steps]`` over that of the cumulative ``curve[episodes]`` (NaN without them)."""
    index = {step: position for position, step in enumerate(curve["timesteps"])}
    if episodes not in curve or not all(step in index for step in steps):
        return math.nan
    first, last = index[steps[0]], index[steps[-1]]
    before_steps, before_episodes = (curve[total_steps][first - 1], curve[episodes][first - 1]) if first else (0, 0)
    ended = curve[episodes][last] - before_episodes
    return (curve[total_steps][last] - before_steps) / ended if ended else math.nan


def window_episode_length(record: dict[str, Any], steps: list[int]) -> float:
    """Mean length of our episodes that ended during the rollouts ``steps`` (steps over episodes)."""
    return window_length(record["train_curve"], "timesteps", "episodes", steps)


def window_update_stat(record: dict[str, Any], key: str, steps: list[int]) -> float:
    """Mean of an update statistic over the updates made on the rollouts ``steps`` (NaN if one is missing)."""
    return window_mean(record.get("update_curve") or {"timesteps": []}, key, steps)


def cleanrl_window(cleanrl: dict[str, Any], key: str, steps: list[int]) -> float:
    """CleanRL's mean of an update statistic over the rollouts ``steps``, or for ``episode_length`` the mean length
    of the episodes it logged in them; NaN where the run has not reached them or its extract predates the key."""
    if key == "episode_length":
        return window_length(cleanrl, "episode_steps", "episodes_ended", steps)
    return window_mean(cleanrl, key, steps)


def cleanrl_path(seed: int) -> Path:
    """Where the extract of CleanRL's run with ``seed`` is kept."""
    return CLEANRL if seed == 0 else CLEANRL.with_name(f"{CLEANRL.stem}_seed{seed}.json")


def cleanrl_runs() -> list[dict[str, Any]]:
    """Every CleanRL extract kept (:func:`cleanrl_path`), ordered by seed."""
    extracts = [CLEANRL, *CLEANRL.parent.glob(f"{CLEANRL.stem}_seed*.json")]
    runs = [harness.read_json(path) for path in extracts if path.exists()]
    return sorted(runs, key=lambda run: int(run["seed"]))


def cleanrl_labels(cleanrl: list[dict[str, Any]]) -> list[str]:
    """Column labels of CleanRL's runs: "CleanRL" for one run, "CleanRL seed <k>" for each of several."""
    return ["CleanRL"] if len(cleanrl) == 1 else [f"CleanRL seed {run['seed']}" for run in cleanrl]


def update_table(
    records: list[dict[str, Any]],
    published: dict[str, Any],
    steps_all: list[int],
    cleanrl: list[dict[str, Any]] | None = None,
) -> list[str]:
    """Window table of episode lengths and of how far each update moved the policy, ours (and each CleanRL run's,
    if given) beside ppo2's logs."""
    cleanrl = cleanrl or []
    lines = [
        f"**Episode length and update size, in windows of {WINDOW:,d} steps.** Episode length: ours, the window's "
        "steps over the episodes that ended in it; published, ppo2's `eplenmean` (the last 100 episodes) averaged "
        "over the window. Clip fraction: the share of samples whose probability ratio left [0.8, 1.2] in the update "
        "(the same definition on both sides). Approximate KL: SB3's estimate mean((r - 1) - log r), ppo2's "
        "mean((log r)^2) / 2, both second-order approximations of the KL divergence the update made. Explained "
        "variance of the value predictions over the rollout's returns. Ours: the mean over seeds (n/a where a run "
        "did not record it); published: mean ± std of the three runs.",
        "",
    ]
    if cleanrl:
        lines[0] += (
            " CleanRL: the mean length of the episodes it logged in the window; its approximate KL is SB3's "
            "estimator on the last minibatch of each update (SB3's is the mean over all minibatches)."
        )
    rows = []
    last = steps_all[-1]
    for start in range(0, last, WINDOW):
        steps = [step for step in steps_all if start < step <= start + WINDOW]
        row = [f"{steps[0]:,d} to {steps[-1]:,d}"]
        for key, _, digits in UPDATE_COLUMNS:
            if key == "episode_length":
                ours = [window_episode_length(record, steps) for record in records]
            else:
                ours = [window_update_stat(record, key, steps) for record in records]
            mean, _, count = harness.mean_std(ours)
            row.append(f"{mean:.{digits}f}" if count == len(ours) else "n/a")
            for run in cleanrl:
                value = cleanrl_window(run, key, steps)
                row.append("" if math.isnan(value) else f"{value:.{digits}f}")
            row.append(harness.fmt(published_window(published, key, steps), digits))
        rows.append(row)
    header = ["steps"]
    for _, name, _ in UPDATE_COLUMNS:
        header += [f"{name} (ours)", *cleanrl_labels(cleanrl), "published"]
    return [*lines, *harness.md_table(header, rows, "r" * len(header)), ""]


def render(
    ours_files: list[dict[str, Any]],
    published: dict[str, Any],
    command: str,
    cleanrl: list[dict[str, Any]] | None = None,
    beside: dict[str, dict[str, Any]] | None = None,
) -> str:
    """The markdown report on ours, the seeds of one set-up gathered from ``ours_files`` (see :func:`seeds_of`;
    with several seeds every number of ours is their mean, followed by each seed's); each run of ``cleanrl`` (see
    :func:`cleanrl_curve`) adds its columns to the window tables and its verdict line, and each entry of
    ``beside`` (label: :func:`curve_of` another run) its own columns."""
    cleanrl = cleanrl or []
    others = dict(beside or {})
    others.update(zip(cleanrl_labels(cleanrl), cleanrl, strict=True))
    runs = seeds_of(ours_files)
    records = [record for record, _ in runs]
    running = [
        dict(zip(r["train_curve"]["timesteps"], r["train_curve"]["ep_return_mean100"], strict=True)) for r in records
    ]
    our_entropy = [
        dict(zip(r["entropy_curve"]["timesteps"], r["entropy_curve"]["entropy"], strict=True)) for r in records
    ]
    # the rollouts every seed has reached
    steps_all = sorted(set.intersection(*(set(curve) for curve in running)))
    last = steps_all[-1]
    timesteps = ours_files[0]["settings"]["timesteps"]
    states = [
        f"seed {record['seed']} "
        + ("finished" if finished else f"in progress: {max(curve):,d} of {timesteps:,d} steps")
        for (record, finished), curve in zip(runs, running, strict=True)
    ]
    lines = harness.command_block(command)
    first = ours_files[0]
    if "title" in first:
        lines += [f"Ours: {first['title']} (network: `{first['settings']['policy']}`).", ""]
    count = "one seed" if len(runs) == 1 else f"{len(runs)} seeds, their mean ± std (ddof 1) and each seed's value"
    compared = "ours" if len(runs) == 1 else "ours (the seeds' mean)"
    lines += [
        f"Ours: {count} ({'; '.join(states)}). Published: three runs of openai/train-procgen "
        f"(commit {published['commit'][:7]}). *d*: {compared} minus the published mean, in published standard "
        "deviations (ddof 1).",
        "",
    ]
    for label, run in zip(cleanrl_labels(cleanrl), cleanrl, strict=True):
        lines += [
            f"{label}: `ppo_procgen.py` of vwxyzjn/cleanrl (commit {run['commit'][:7]}) with its training "
            f"levels set to 200, seed {run['seed']}, on this machine: {run['timesteps'][-1]:,d} steps "
            f"so far ({run['episodes']:,d} episodes); its train return is computed the same way from the "
            "episodes it logs.",
            "",
        ]
    for label in beside or {}:
        lines += [f"{label}: another run of `fruitbot_paper.py` beside ours (its settings in its JSON).", ""]
    lines += [
        "**At our evaluation points.** Train return = mean of the last 100 training episodes (the same "
        "definition on both sides); train-level and test evaluations are ours only (the published test "
        "return is the test worker's running return on the full level distribution).",
        "",
    ]
    points = [{point["timesteps"]: point for point in record["checkpoints"]} for record in records]
    rows = []
    for step in sorted(set.intersection(*(set(seed_points) for seed_points in points))):
        if step == 0 or step not in steps_all:
            continue
        train = [curve[step] for curve in running]
        test = [seed_points[step]["test_return_mean"] for seed_points in points]
        train_levels = [seed_points[step]["train_levels_return_mean"] for seed_points in points]
        pub_train, d_train = spread(float(np.mean(train)), published_at(published, "train", "ep_return_mean100", step))
        pub_test, d_test = spread(float(np.mean(test)), published_at(published, "test", "ep_return_mean100", step))
        rows.append(
            [
                f"{step:,d}",
                ours_cell(train),
                pub_train,
                f"{d_train:+.1f}",
                ours_cell(train_levels),
                ours_cell(test),
                pub_test,
                f"{d_test:+.1f}",
            ]
        )
    lines += harness.md_table(
        [
            "steps",
            "train return (ours)",
            "published train",
            "d",
            "train-level eval (ours)",
            "test eval (ours)",
            "published test",
            "d (test)",
        ],
        rows,
        "rrrrrrrr",
    )
    lines += [
        "",
        f"**Every rollout, in windows of {WINDOW:,d} steps** (means over the window's rollouts; entropy in nats, "
        "uniform over 15 actions: 2.71).",
        "",
    ]
    rows = []
    for start in range(0, last, WINDOW):
        steps = [step for step in steps_all if start < step <= start + WINDOW]
        seed_means = [float(np.mean([curve[step] for step in steps])) for curve in running]
        per_run = published_window(published, "ep_return_mean100", steps)
        pub_text, d = spread(float(np.mean(seed_means)), per_run)
        pub_entropy = float(np.mean([published_at(published, "train", "entropy", step) for step in steps]))
        rows.append(
            [
                f"{steps[0]:,d} to {steps[-1]:,d}",
                ours_cell(seed_means),
                pub_text,
                f"{d:+.1f}",
                f"{np.mean([entropy[step] for entropy in our_entropy for step in steps]):.2f}",
                f"{pub_entropy:.2f}",
            ]
        )
        for curve in others.values():
            rows[-1] += beside_cells(curve, steps, per_run)
    header = ["steps", "train return (ours)", "published train", "d", "entropy (ours)", "published entropy"]
    for label in others:
        header += [f"{label} train return", f"d ({label})", f"entropy ({label})"]
    lines += harness.md_table(header, rows, "r" * len(header))
    lines += [""]
    if "episode_length" in published["runs"][0]["train"]:
        lines += update_table(records, published, steps_all, cleanrl)
    mean, std, _ = harness.mean_std(published_at(published, "train", "ep_return_mean100", VERDICT_STEP))
    if VERDICT_STEP in steps_all:
        finals = [curve[VERDICT_STEP] for curve in running]
        ours_mean = float(np.mean(finals))
        inside = abs(ours_mean - mean) <= std
        what = "train return" if len(finals) == 1 else f"train return (mean of {len(finals)} seeds)"
        lines += [
            f"**At {VERDICT_STEP:,d} steps: {what} {ours_mean:.2f} against {mean:.2f} ± {std:.2f}: "
            f"{'inside' if inside else 'outside'} the published spread.**",
            "",
        ]
        if len(finals) > 1:
            each = ", ".join(
                f"seed {record['seed']} {value:.2f} (d {(value - mean) / std:+.1f})"
                for record, value in zip(records, finals, strict=True)
            )
            lines += [f"Each seed: {each}.", ""]
    else:
        lines += [f"No verdict yet: not every seed has reached {VERDICT_STEP:,d} steps.", ""]
    for label, run in zip(cleanrl_labels(cleanrl), cleanrl, strict=True):
        if VERDICT_STEP not in run["timesteps"]:
            continue
        value = run["ep_return_mean100"][run["timesteps"].index(VERDICT_STEP)]
        lines += [
            f"**{label} at {VERDICT_STEP:,d} steps: train return {value:.2f} against {mean:.2f} ± {std:.2f} "
            f"(d {(value - mean) / std:+.1f}): {'inside' if abs(value - mean) <= std else 'outside'} the published "
            "spread.**",
            "",
        ]
    return "\n".join(lines)


def plot(
    ours_files: list[dict[str, Any]],
    published: dict[str, Any],
    path: Path,
    cleanrl: list[dict[str, Any]] | None = None,
    beside: dict[str, dict[str, Any]] | None = None,
) -> Path:
    import matplotlib.pyplot as plt

    others = dict(beside or {})
    cleanrl = cleanrl or []
    others.update((f"{label} ppo_procgen.py", run) for label, run in zip(cleanrl_labels(cleanrl), cleanrl, strict=True))

    records = [record for record, _ in seeds_of(ours_files)]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    panels = [
        ("train", "ep_return_mean100", "train return (last 100 episodes)"),
        ("test", "ep_return_mean100", "test return"),
        ("train", "entropy", "policy entropy (nats)"),
    ]
    end = max(VERDICT_STEP, *(record["train_curve"]["timesteps"][-1] for record in records))
    for axis, (split, key, title) in zip(axes, panels, strict=True):
        for index, run in enumerate(published["runs"]):
            curve = run[split]
            shown = sum(step <= end for step in curve["timesteps"])
            axis.plot(
                np.asarray(curve["timesteps"][:shown]) / 1e6,
                curve[key][:shown],
                color="0.6",
                lw=0.8,
                label="published (3 runs)" if index == 0 else None,
            )
        axis.set_title(title)
        axis.set_xlabel("steps (M)")
    styles = ["-", "--", ":", "-."]
    for index, record in enumerate(records):
        name = "ours" if len(records) == 1 else f"ours, seed {record['seed']}"
        style = styles[index % len(styles)]
        for axis, curve, key in ((axes[0], "train_curve", "ep_return_mean100"), (axes[2], "entropy_curve", "entropy")):
            axis.plot(np.asarray(record[curve]["timesteps"]) / 1e6, record[curve][key], style, color="C0", label=name)
        points = record["checkpoints"]
        axes[1].plot(
            [p["timesteps"] / 1e6 for p in points],
            [p["test_return_mean"] for p in points],
            f"o{style}",
            color="C0",
            label=f"{name} (levels 200-399)",
        )
    for color, (label, curve) in enumerate(others.items(), start=1):
        steps = np.asarray(curve["timesteps"]) / 1e6
        axes[0].plot(steps, curve["ep_return_mean100"], color=f"C{color}", label=label)
        axes[2].plot(steps, curve["entropy"], color=f"C{color}", label=label)
    for axis in axes:
        axis.set_xlim(0, end / 1e6)
        axis.legend()
    policy = ours_files[0].get("settings", {}).get("policy", "impala")
    fig.suptitle(
        f"FruitBot easy, 200 levels, PPO ent_coef 0.01, IMPALA CNN: ours ({policy}) against the Procgen paper's runs"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--extract",
        type=Path,
        metavar="CHECKOUT",
        help=f"re-extract {PUBLISHED.name} from a checkout of openai/train-procgen first",
    )
    parser.add_argument(
        "--cleanrl",
        type=Path,
        metavar="RUN_DIR",
        help=f"read a CleanRL ppo_procgen.py run (its runs/<name> TensorBoard folder, see "
        f"benchmarks/cleanrl_anchor.sh) into {CLEANRL.name} (seed 0) or {CLEANRL.stem}_seed<k>.json first; "
        "every extract there is shown",
    )
    parser.add_argument(
        "--ours",
        type=Path,
        nargs="+",
        default=[OURS],
        metavar="JSON",
        help=f"the runs of fruitbot_paper.py to compare, the seeds of one set-up in one file or several (default "
        f"{OURS.name}; for instance the Glorot-init runs, fruitbot_impala_glorot_anchor.json and "
        "fruitbot_impala_glorot_anchor_seed1.json)",
    )
    parser.add_argument(
        "--beside",
        type=Path,
        nargs="+",
        default=[],
        metavar="JSON",
        help="other fruitbot_paper.py runs, each a column group of the window table (labelled by their "
        "initialisation, the hyperparameters they override and their seed)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="STEM",
        help=f"report path without suffix (default {OUT.name} for the default --ours, <first --ours>_vs_published "
        "otherwise)",
    )
    args = parser.parse_args()
    first = args.ours[0]
    out = args.out or (OUT if args.ours == [OURS] else first.with_name(f"{first.stem}_vs_published"))
    if args.extract is not None:
        harness.write_json(PUBLISHED, extract(args.extract), indent=None)
        print(f"wrote {PUBLISHED}")
    if args.cleanrl is not None:
        seed = int(args.cleanrl.name.split("__")[2])  # CleanRL names runs <env>__<script>__<seed>__<time>
        curve = cleanrl_curve(args.cleanrl)
        if not curve["timesteps"]:
            raise SystemExit(
                f"{args.cleanrl}: no update logged at a multiple of 16,384 steps (64 environments x 256 steps) yet"
            )
        commit_file = args.cleanrl.parent.parent / "COMMIT"  # written by cleanrl_anchor.sh
        commit = commit_file.read_text().strip() if commit_file.exists() else "unknown"
        path = cleanrl_path(seed)
        harness.write_json(path, {"commit": commit, "seed": seed, "run": args.cleanrl.name, **curve})
        print(f"wrote {path}")
    ours, published = [harness.read_json(path) for path in args.ours], harness.read_json(PUBLISHED)
    seeds_of(ours)  # a clear error before any report is written
    cleanrl = cleanrl_runs()
    beside = {}
    for path in args.beside:
        data = harness.read_json(path)
        for record, _ in our_runs(data):
            beside[run_label(data, record)] = curve_of(record)
    harness.write_report(
        out.with_suffix(".md"),
        render(ours, published, harness.command_line(), cleanrl, beside),
        lambda: plot(ours, published, out.with_suffix(".png"), cleanrl, beside),
    )


if __name__ == "__main__":
    main()
