"""Wall-time overhead of the maximum-entropy algorithms against their SB3 parents.

Each case trains a candidate and its baseline on the same settings and seed, in one process, in
``learn(chunk, reset_num_timesteps=False)`` calls that alternate between the two models (A B, B A, ...),
so that the machine's drift hits both alike. A repeat's ratio is candidate_time / baseline_time summed
over its chunks; the reported ratio is the median over repeats. Target: <= 1.05.

    python benchmarks/overhead.py            # full: 7 repeats per case (the measurement)
    python benchmarks/overhead.py --quick    # smoke run for make bench: 1 repeat of two chunks per case
    python benchmarks/overhead.py --only MaxEntA2C --update   # re-measure some cases, keep the other rows

Each row records when it was measured and the load average at its start.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
import torch as th
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import FakeImageEnv

from sb3_maxent import MaxEntPPO

RESULTS = harness.result_path("overhead", quick=False)


@dataclass
class Case:
    """One side-by-side comparison: ``candidate`` vs ``baseline`` on the same env and settings."""

    name: str
    candidate: type[BaseAlgorithm]
    baseline: type[BaseAlgorithm]
    policy: str
    make_env: Callable[[], Any]
    settings: dict[str, Any]
    timesteps: int
    #: steps per ``learn()`` call; the two models alternate at this granularity
    chunk: int
    candidate_kwargs: dict[str, Any] = field(default_factory=dict)


def _image_env() -> Any:
    # Procgen-sized frames (64x64x3 uint8) with NatureCNN: the Cnn task
    return make_vec_env(lambda: FakeImageEnv(screen_height=64, screen_width=64, n_channels=3), n_envs=4, seed=0)


#: --quick: steps per repeat, in chunks (one A-B and one B-A pair: a smoke run, not a measurement)
QUICK_CHUNKS = 2
QUICK_REPEATS = 1


def build_cases(quick: bool) -> list[Case]:
    """Every case at its full budget; ``quick`` cuts each to :data:`QUICK_CHUNKS` chunks."""
    cases = _cases()
    if quick:
        for case in cases:
            case.timesteps = min(case.timesteps, QUICK_CHUNKS * case.chunk)
    return cases


def _cases() -> list[Case]:
    ppo_mlp = dict(n_steps=512, batch_size=64, n_epochs=10)
    ppo_cnn = dict(n_steps=128, batch_size=128, n_epochs=3)
    cases = []
    for mode in ("one_step", "soft_return"):
        kwargs = dict(maxent_mode=mode, maxent_coef=0.1)
        cases.append(
            Case(
                f"MaxEntPPO[{mode}]/PPO mlp CartPole-v1",
                MaxEntPPO,
                PPO,
                "MlpPolicy",
                lambda: make_vec_env("CartPole-v1", n_envs=4, seed=0),
                ppo_mlp,
                8192,
                2048,  # one PPO iteration (4 envs x 512 steps)
                kwargs,
            )
        )
        cases.append(
            Case(
                f"MaxEntPPO[{mode}]/PPO cnn 64x64x3",
                MaxEntPPO,
                PPO,
                "CnnPolicy",
                _image_env,
                ppo_cnn,
                2048,
                512,  # one PPO iteration (4 envs x 128 steps)
                kwargs,
            )
        )
    cases += family_cases()
    try:
        from sb3_maxent.soft_dqn import SoftDQN
    except ImportError:
        return cases
    # rl-zoo's DQN CartPole-v1 settings, shortened: same replay/train cadence on both sides
    dqn_mlp = dict(harness.DQN_CARTPOLE_SETTINGS)
    cases.append(
        Case(
            "SoftDQN/DQN mlp CartPole-v1",
            SoftDQN,
            DQN,
            "MlpPolicy",
            lambda: make_vec_env("CartPole-v1", n_envs=1, seed=0),
            dqn_mlp,
            10240,
            1024,  # four collect-and-train cycles (train_freq 256)
        )
    )
    return cases


def family_cases() -> list[Case]:
    """MaxEntA2C, MaxEntTRPO and MaxEntMaskablePPO against their parents, CartPole-v1, both modes where offered."""
    from sb3_contrib import TRPO, MaskablePPO
    from stable_baselines3 import A2C

    from sb3_maxent import MaxEntA2C, MaxEntMaskablePPO, MaxEntTRPO
    from sb3_maxent.envs.wrappers import AllActionsValid

    def masked_cartpole() -> Any:
        return make_vec_env("CartPole-v1", n_envs=4, seed=0, wrapper_class=AllActionsValid)

    def cartpole() -> Any:
        return make_vec_env("CartPole-v1", n_envs=4, seed=0)

    family = [  # candidate, parent, env, settings, chunk (one iteration or more), modes
        (MaxEntA2C, A2C, cartpole, dict(n_steps=5), 400, ("soft_return",)),
        (MaxEntTRPO, TRPO, cartpole, dict(n_steps=512, batch_size=128), 2048, ("one_step", "soft_return")),
        (MaxEntMaskablePPO, MaskablePPO, masked_cartpole, dict(n_steps=512, batch_size=64, n_epochs=10), 2048,
         ("one_step", "soft_return")),
    ]  # fmt: skip
    return [
        Case(
            f"{candidate.__name__}[{mode}]/{parent.__name__} mlp CartPole-v1",
            candidate,
            parent,
            "MlpPolicy",
            make_env,
            settings,
            8192,
            chunk,
            dict(maxent_mode=mode, maxent_coef=0.1),
        )
        for candidate, parent, make_env, settings, chunk, modes in family
        for mode in modes
    ]


def build(algo: type[BaseAlgorithm], case: Case, kwargs: dict[str, Any], seed: int) -> BaseAlgorithm:
    return algo(case.policy, case.make_env(), seed=seed, **case.settings, **kwargs)


def timed_learn(model: BaseAlgorithm, steps: int) -> tuple[float, float]:
    """Wall time and CPU time of this process for one ``learn()`` chunk that continues the run."""
    return harness.timed(lambda: model.learn(steps, reset_num_timesteps=False))


def measure(case: Case, repeats: int) -> dict[str, Any]:
    """
    One ratio per repeat. Within a repeat both models train ``case.timesteps`` steps in chunks of
    ``case.chunk`` steps, alternating candidate and baseline chunk by chunk (the side that goes first
    alternates too), so the machine's drift over seconds falls on both sides alike.
    """
    ratios, cpu_ratios, candidate_times, baseline_times = [], [], [], []
    measured = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()[0]
    # one warm-up pair, not counted (first-touch allocations, lazy imports)
    for algo, kwargs in ((case.candidate, case.candidate_kwargs), (case.baseline, {})):
        timed_learn(build(algo, case, kwargs, seed=0), case.chunk)
    for repeat in range(repeats):
        candidate = build(case.candidate, case, case.candidate_kwargs, seed=repeat)
        baseline = build(case.baseline, case, {}, seed=repeat)
        wall, cpu = {"candidate": 0.0, "baseline": 0.0}, {"candidate": 0.0, "baseline": 0.0}
        for chunk in range(case.timesteps // case.chunk):
            order = [("candidate", candidate), ("baseline", baseline)]
            for side, model in order if (chunk + repeat) % 2 == 0 else order[::-1]:
                chunk_wall, chunk_cpu = timed_learn(model, case.chunk)
                wall[side] += chunk_wall
                cpu[side] += chunk_cpu
        candidate_times.append(wall["candidate"])
        baseline_times.append(wall["baseline"])
        ratios.append(wall["candidate"] / wall["baseline"])
        cpu_ratios.append(cpu["candidate"] / cpu["baseline"])
    return {
        "case": case.name,
        "measured": measured,
        "load_before": load_before,
        "platform": platform.platform(),
        "timesteps": case.timesteps,
        "chunk": case.chunk,
        "repeats": repeats,
        "median_ratio": statistics.median(ratios),
        "ratios": ratios,
        "median_cpu_ratio": statistics.median(cpu_ratios),
        "cpu_ratios": cpu_ratios,
        "candidate_seconds": candidate_times,
        "baseline_seconds": baseline_times,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_REPEATS} repeats of {QUICK_CHUNKS} chunks per case"
    )
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--only", default="", help="run only cases whose name contains this string")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 keeps timings stable)")
    parser.add_argument("--output", type=Path, default=None, help="default: results/overhead[_quick].json")
    parser.add_argument(
        "--update", action="store_true", help="replace only the measured cases' rows of --output, keep the others"
    )
    args = parser.parse_args()
    if args.output is None:
        # the quick run never overwrites the full results that the docs include
        args.output = harness.result_path("overhead", args.quick)
    th.set_num_threads(args.threads)
    repeats = args.repeats or (QUICK_REPEATS if args.quick else 7)

    results = []
    for case in build_cases(args.quick):
        if args.only not in case.name:
            continue
        result = measure(case, repeats)
        results.append(result)
        print(
            f"{case.name:<40} median ratio {result['median_ratio']:.3f}  "
            f"(ratios {', '.join(f'{r:.3f}' for r in result['ratios'])})",
            flush=True,
        )

    print(f"\n{'case':<40} {'wall ratio':>10} {'cpu ratio':>10}  (medians; target <= 1.05)")
    for result in results:
        verdict = "ok" if result["median_ratio"] <= 1.05 else "OVER"
        print(f"{result['case']:<40} {result['median_ratio']:>10.3f} {result['median_cpu_ratio']:>10.3f}  {verdict}")
    meta = {"machine": hardware(), "torch_threads": args.threads, "quick": args.quick, "repeats": repeats}
    if args.update and args.output.exists():
        previous = harness.read_json(args.output)
        if {key: previous["meta"][key] for key in meta} != meta:
            raise SystemExit(f"--update: {args.output} was measured with {previous['meta']}, not {meta}")
        results = merge_rows(previous["results"], results, [case.name for case in build_cases(args.quick)])
    harness.write_json(args.output, {"meta": meta, "results": results}, indent=2, newline=False)
    args.output.with_suffix(".md").write_text(markdown_table(results, meta))
    print(f"wrote {args.output} and {args.output.with_suffix('.md')}")


def hardware() -> str:
    """
    The machine as --update compares it: CPU model, CPUs available, OS and architecture. Not ``platform.platform()``,
    whose kernel build id changes from one boot of the same virtual machine type to the next (each row keeps it).
    """
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        model = names[0] if names else model
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cpus} CPUs, {platform.system()} {platform.machine()}"


def merge_rows(previous: list[dict[str, Any]], new: list[dict[str, Any]], order: list[str]) -> list[dict[str, Any]]:
    """``previous`` rows with those of the re-measured cases replaced by ``new``, in the cases' order."""
    rows = {row["case"]: row for row in previous} | {row["case"]: row for row in new}
    return [rows[name] for name in order if name in rows] + [row for name, row in rows.items() if name not in order]


def markdown_table(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The docs' overhead table, written from the measurements themselves."""
    lines = [
        "| case | timesteps | wall-time ratio (median) | CPU-time ratio (median) | target | measured | load at start |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        verdict = "met" if result["median_ratio"] <= 1.05 else "missed"
        load = f"{result['load_before']:.2f}" if "load_before" in result else "not recorded"
        lines.append(
            f"| {result['case']} | {result['timesteps']:,} | {result['median_ratio']:.3f} "
            f"| {result['median_cpu_ratio']:.3f} | <= 1.05: {verdict} | {result.get('measured', 'not recorded')} "
            f"| {load} |"
        )
    lines.append("")
    lines.append(
        f"Median over {meta['repeats']} interleaved repeats, {meta['torch_threads']} torch thread(s), "
        f"`benchmarks/overhead.py{' --quick' if meta['quick'] else ''}` on {meta['machine']}."
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
