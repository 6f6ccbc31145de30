"""Training frames/s of the maximum-entropy algorithms against their SB3 parents, and the environment's ceiling.

Everything runs in ONE process. Each suite builds its contenders once, gives each an untimed warm-up
iteration (first-touch allocations, oneDNN kernels built for every new shape), then runs interleaved rounds:
every contender trains for the same fixed number of environment frames per round (one ``learn()`` call that
continues the same model), in an order that rotates and reverses from round to round, so that the load of
the shared machine hits every contender alike. Ratios are medians of per-round ratios of frames/s (both
sides measured in the same round): 1.00 is the same speed, 0.95 is 5% slower (a time overhead of
1 / 0.95 - 1 = 5.3%).

Suites:

(1) ``fruitbot_ppo``: FruitBot, 64 environments (one native ``ProcgenVecEnv``). The ceiling: the same
    ``ProcgenVecEnv`` stepped with random actions and nothing else. Then SB3's PPO, MaxEntPPO ``one_step``
    and MaxEntPPO ``soft_return`` with the IMPALA CNN (``ImpalaCnnPolicy``) and with SB3's NatureCNN
    (``"CnnPolicy"``): one rollout of ``n_steps`` steps and one update (``n_epochs`` epochs) per round. Same
    hyper-parameters on every side (the Procgen paper's, ``benchmarks/throughput_fruitbot.py``), except the
    entropy terms: PPO ``ent_coef=0.01`` (the Procgen paper's), MaxEntPPO ``maxent_coef=0.3`` (the
    maximum-entropy PPO paper's FruitBot value) with ``ent_coef=0``; neither changes what is computed.
(2) ``fruitbot_dqn``: FruitBot, a few environments, small replay buffer: SB3's DQN against SoftDQN with
    ``ImpalaCnnQPolicy`` and with ``"CnnPolicy"``; one gradient step (minibatch 32) every 4 frames, the
    Atari cadence.
(3) ``cartpole_dqn``: CartPole-v1, ``MlpPolicy``: DQN against SoftDQN and DiscreteSAC with
    ``benchmarks/overhead.py``'s settings (rl-zoo's, shortened): same network, replay buffer, minibatch and
    update cadence; DiscreteSAC trains an actor and two critics of that network (its own target updates:
    Polyak 0.005 per gradient step).

Command (writes benchmarks/results/throughput.json and the markdown section throughput.md next to it):

.. code-block:: bash

    # START-COMMAND
    python benchmarks/throughput.py            # 7 rounds: about 9 minutes on 2 shared cores (load 3-6)
    python benchmarks/throughput.py --quick    # about a minute, tiny sizes: writes throughput_quick.*
    python benchmarks/throughput.py --report   # only re-write the markdown from the JSON
    python benchmarks/throughput.py --suite cartpole_dqn --output /tmp/cartpole.json  # one suite
    # END-COMMAND
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
import numpy as np
import stable_baselines3
import torch as th
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from sb3_maxent import DiscreteSAC, MaxEntPPO
from sb3_maxent.common.torch_layers import ImpalaCnnPolicy, ImpalaCnnQPolicy
from sb3_maxent.envs.procgen import ProcgenVecEnv, make_procgen_vec_env
from sb3_maxent.soft_dqn import SoftDQN

RESULTS_JSON = harness.result_path("throughput", quick=False)
QUICK_JSON = harness.result_path("throughput", quick=True)

CEILING = "ProcgenVecEnv, random actions"


# ----------------------------------------------------------------------------- sizes


@dataclass
class Sizes:
    """What one round costs: environments, frames and update sizes of every suite."""

    ppo_n_envs: int = 64
    ppo_n_steps: int = 8  # frames per round: ppo_n_envs * ppo_n_steps
    ppo_batch_size: int = 256
    ppo_n_epochs: int = 3
    ceiling_frames: int = 64 * 200
    dqn_n_envs: int = 4
    dqn_frames: int = 128  # per round, FruitBot: 32 gradient steps
    dqn_buffer_size: int = 5_000
    dqn_learning_starts: int = 500
    cartpole_frames: int = 1_024  # per round: 4 cycles of train_freq=256

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            ppo_n_envs=16,
            ppo_n_steps=8,
            ppo_batch_size=64,
            ppo_n_epochs=1,
            ceiling_frames=16 * 100,
            dqn_n_envs=2,
            dqn_frames=32,
            dqn_buffer_size=500,
            dqn_learning_starts=64,
            cartpole_frames=512,
        )


# ----------------------------------------------------------------------------- contenders


class Contender:
    """A timed set-up: ``warm_up()`` once (untimed), then ``iterate()`` -> (wall, cpu, update) seconds."""

    def __init__(self, name: str, frames: int) -> None:
        self.name = name
        self.frames = frames

    def warm_up(self) -> None:
        self.iterate()

    def iterate(self) -> tuple[float, float, float]:
        raise NotImplementedError

    def close(self) -> None:
        """Free the environments."""


class RandomActions(Contender):
    """The ceiling: a ``ProcgenVecEnv`` stepped with uniformly random actions, no network."""

    def __init__(self, n_envs: int, frames: int, seed: int) -> None:
        super().__init__(CEILING, frames)
        self.venv = ProcgenVecEnv(num_envs=n_envs, seed=seed)
        self.venv.reset()
        self.rng = np.random.default_rng(seed)
        self.n_steps = max(frames // n_envs, 1)
        self.frames = self.n_steps * n_envs

    def iterate(self) -> tuple[float, float, float]:
        actions = self.rng.integers(0, self.venv.action_space.n, (self.n_steps, self.venv.num_envs))  # type: ignore[attr-defined]

        def run() -> None:
            for action in actions:
                self.venv.step(action)

        wall, cpu = harness.timed(run)
        return wall, cpu, 0.0

    def close(self) -> None:
        self.venv.close()


class Training(Contender):
    """
    An SB3 algorithm that keeps training the same model: each ``iterate()`` is one
    ``learn(frames, reset_num_timesteps=False)`` call; the time spent in ``train()`` (the update) is
    recorded, the rest is collection (rollout, replay insertion, logging).
    """

    def __init__(
        self, name: str, make: Callable[[], OnPolicyAlgorithm | OffPolicyAlgorithm], frames: int, warm_up_frames: int
    ) -> None:
        super().__init__(name, frames)
        self.model = make()
        self.warm_up_frames = warm_up_frames
        self.update_time = 0.0
        original_train: Callable[..., None] = self.model.train

        def train_and_time(*args: Any, **kwargs: Any) -> None:
            start = time.perf_counter()
            original_train(*args, **kwargs)
            self.update_time += time.perf_counter() - start

        self.model.train = train_and_time  # type: ignore[method-assign]

    def warm_up(self) -> None:
        self.model.learn(self.warm_up_frames)

    def iterate(self) -> tuple[float, float, float]:
        before = self.update_time
        wall, cpu = harness.timed(lambda: self.model.learn(self.frames, reset_num_timesteps=False))
        return wall, cpu, self.update_time - before

    def close(self) -> None:
        env = self.model.get_env()
        if env is not None:
            env.close()


@dataclass
class Suite:
    """Contenders measured in the same rounds, and the ratios (candidate, baseline) reported."""

    name: str
    description: str
    settings: dict[str, Any]
    build: Callable[[], list[Contender]]
    pairs: list[tuple[str, str]] = field(default_factory=list)


def _procgen_env(n_envs: int, seed: int) -> Callable[[], VecEnv]:
    return lambda: make_procgen_vec_env(n_envs=n_envs, seed=seed)


def ppo_suite(sizes: Sizes, seed: int) -> Suite:
    n_envs = sizes.ppo_n_envs
    frames = n_envs * sizes.ppo_n_steps
    settings: dict[str, Any] = dict(
        n_steps=sizes.ppo_n_steps,
        batch_size=sizes.ppo_batch_size,
        n_epochs=sizes.ppo_n_epochs,
        **harness.FRUITBOT_PPO_SETTINGS,
    )
    networks: dict[str, Any] = {"IMPALA": ImpalaCnnPolicy, "NatureCNN": "CnnPolicy"}
    variants: list[tuple[str, type[PPO], dict[str, Any]]] = [
        ("PPO", PPO, dict(ent_coef=0.01)),
        ("MaxEntPPO[one_step]", MaxEntPPO, dict(maxent_mode="one_step", maxent_coef=0.3)),
        ("MaxEntPPO[soft_return]", MaxEntPPO, dict(maxent_mode="soft_return", maxent_coef=0.3)),
    ]

    def build() -> list[Contender]:
        contenders: list[Contender] = [RandomActions(n_envs, sizes.ceiling_frames, seed)]
        for network, policy in networks.items():
            for variant, algo, kwargs in variants:

                def make(algo: type[PPO] = algo, policy: Any = policy, kwargs: dict[str, Any] = kwargs) -> PPO:
                    env = _procgen_env(n_envs, seed)()
                    return algo(policy, env, seed=seed, device="cpu", **settings, **kwargs)

                contenders.append(Training(f"{variant} {network}", make, frames, warm_up_frames=frames))
        return contenders

    pairs = [(f"{variant} {network}", f"PPO {network}") for network in networks for variant, _, _ in variants[1:]]
    pairs += [(f"PPO {network}", CEILING) for network in networks]
    return Suite(
        "fruitbot_ppo",
        f"FruitBot, {n_envs} envs x {sizes.ppo_n_steps} steps per rollout, minibatch {sizes.ppo_batch_size}, "
        f"{sizes.ppo_n_epochs} epochs (PPO ent_coef=0.01; MaxEntPPO maxent_coef=0.3, ent_coef=0)",
        {**settings, "n_envs": n_envs, "frames_per_round": frames, "ceiling_frames_per_round": sizes.ceiling_frames},
        build,
        pairs,
    )


def dqn_fruitbot_suite(sizes: Sizes, seed: int) -> Suite:
    n_envs = sizes.dqn_n_envs
    settings: dict[str, Any] = dict(
        buffer_size=sizes.dqn_buffer_size,
        learning_starts=sizes.dqn_learning_starts,
        batch_size=32,
        train_freq=max(4 // n_envs, 1),  # one gradient step every 4 frames
        gradient_steps=1,
        target_update_interval=1_000,
        learning_rate=1e-4,
    )
    networks: dict[str, Any] = {"IMPALA": ImpalaCnnQPolicy, "NatureCNN": "CnnPolicy"}

    def build() -> list[Contender]:
        contenders: list[Contender] = []
        for network, policy in networks.items():
            for algo in (DQN, SoftDQN):

                def make(algo: type[DQN] = algo, policy: Any = policy) -> DQN:
                    return algo(policy, _procgen_env(n_envs, seed)(), seed=seed, device="cpu", **settings)

                # warm-up: fill the buffer past learning_starts and train as long as a round
                warm_up = sizes.dqn_learning_starts + sizes.dqn_frames
                contenders.append(Training(f"{algo.__name__} {network}", make, sizes.dqn_frames, warm_up))
        return contenders

    return Suite(
        "fruitbot_dqn",
        f"FruitBot, {n_envs} envs, replay buffer {sizes.dqn_buffer_size:,}, minibatch 32, one gradient step "
        "every 4 frames (SoftDQN: constant temperature 0.03)",
        {**settings, "n_envs": n_envs, "frames_per_round": sizes.dqn_frames},
        build,
        [(f"SoftDQN {network}", f"DQN {network}") for network in networks],
    )


def dqn_cartpole_suite(sizes: Sizes, seed: int) -> Suite:
    # benchmarks/overhead.py's SoftDQN/DQN case: same environment and settings
    settings = harness.DQN_CARTPOLE_SETTINGS
    learning_starts = int(settings["learning_starts"])

    # DiscreteSAC: the same network, replay and update settings; DQN's target_update_interval (env steps, hard
    # copy) has no DiscreteSAC counterpart of the same meaning, so DiscreteSAC keeps its own target updates
    sac_settings = {key: value for key, value in settings.items() if key != "target_update_interval"}

    def build() -> list[Contender]:
        contenders: list[Contender] = []
        for algo in (DQN, SoftDQN):

            def make(algo: type[DQN] = algo) -> DQN:
                env = make_vec_env("CartPole-v1", n_envs=1, seed=0)
                return algo("MlpPolicy", env, seed=seed, device="cpu", **settings)

            warm_up = learning_starts + sizes.cartpole_frames
            contenders.append(Training(f"{algo.__name__} MLP", make, sizes.cartpole_frames, warm_up))

        def make_sac() -> DiscreteSAC:
            env = make_vec_env("CartPole-v1", n_envs=1, seed=0)
            return DiscreteSAC("MlpPolicy", env, seed=seed, device="cpu", **sac_settings)

        contenders.append(
            Training("DiscreteSAC MLP", make_sac, sizes.cartpole_frames, learning_starts + sizes.cartpole_frames)
        )
        return contenders

    return Suite(
        "cartpole_dqn",
        f"CartPole-v1, 1 env, MlpPolicy {settings['policy_kwargs']['net_arch']}, "
        f"{settings['gradient_steps']} gradient steps every {settings['train_freq']} frames "
        "(benchmarks/overhead.py's settings)",
        {**settings, "n_envs": 1, "frames_per_round": sizes.cartpole_frames},
        build,
        [("SoftDQN MLP", "DQN MLP"), ("DiscreteSAC MLP", "DQN MLP")],
    )


# ----------------------------------------------------------------------------- measurement


def round_order(contenders: list[Contender], round_idx: int) -> list[Contender]:
    """Rotate by one every two rounds and reverse every other round: no contender always runs first."""
    shift = (round_idx // 2) % len(contenders)
    order = contenders[shift:] + contenders[:shift]
    return order[::-1] if round_idx % 2 else order


def run_suite(suite: Suite, rounds: int) -> dict[str, Any]:
    print(f"\n[{suite.name}] {suite.description}", flush=True)
    start = time.perf_counter()
    contenders = suite.build()
    for contender in contenders:
        warm_start = time.perf_counter()
        contender.warm_up()
        print(f"  warm-up  {contender.name:<32} {time.perf_counter() - warm_start:6.1f} s", flush=True)
    records: dict[str, dict[str, Any]] = {
        c.name: {"frames_per_round": c.frames, "fps": [], "cpu_fps": [], "update_s": [], "collect_s": []}
        for c in contenders
    }
    for round_idx in range(rounds):
        for contender in round_order(contenders, round_idx):
            wall, cpu, update = contender.iterate()
            record = records[contender.name]
            record["fps"].append(contender.frames / wall)
            record["cpu_fps"].append(contender.frames / cpu)
            record["update_s"].append(update)
            record["collect_s"].append(wall - update)
            print(
                f"  round {round_idx + 1}  {contender.name:<32} {contender.frames / wall:9.1f} frames/s "
                f"(update {update:5.1f} s, collect {wall - update:5.1f} s, load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    for contender in contenders:
        contender.close()
    for record in records.values():
        for key in ("fps", "cpu_fps", "update_s", "collect_s"):
            record[f"{key}_median"] = statistics.median(record[key])
    ratios = []
    for candidate, baseline in suite.pairs:
        per_round = [a / b for a, b in zip(records[candidate]["fps"], records[baseline]["fps"], strict=True)]
        cpu_per_round = [
            a / b for a, b in zip(records[candidate]["cpu_fps"], records[baseline]["cpu_fps"], strict=True)
        ]
        ratios.append(
            {
                "candidate": candidate,
                "baseline": baseline,
                "median": statistics.median(per_round),
                "per_round": per_round,
                "cpu_median": statistics.median(cpu_per_round),
                "cpu_per_round": cpu_per_round,
            }
        )
    return {
        "name": suite.name,
        "description": suite.description,
        "settings": suite.settings,
        "rounds": rounds,
        "seconds": time.perf_counter() - start,
        "contenders": records,
        "ratios": ratios,
    }


# ----------------------------------------------------------------------------- report


def _ratio(value: float) -> str:
    """Three decimals, four below 0.1 (training / ceiling ratios)."""
    return f"{value:.3f}" if value >= 0.1 else f"{value:.4f}"


def _settings_text(settings: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in settings.items())


def update_ratio(suite: dict[str, Any], ratio: dict[str, Any]) -> str:
    """Median per-round ratio of update speed (baseline update seconds / candidate's); "-" without an update."""
    candidate, baseline = (suite["contenders"][ratio[side]]["update_s"] for side in ("candidate", "baseline"))
    if min(baseline) <= 0 or min(candidate) <= 0:
        return "-"
    return _ratio(statistics.median(b / c for b, c in zip(baseline, candidate, strict=True)))


def markdown(data: dict[str, Any]) -> str:
    """The markdown section (table, ratios, command, machine), generated from the JSON only."""
    machine = data["machine"]
    command = data["command"]
    if machine["omp_num_threads"] != "unset":
        command = f"OMP_NUM_THREADS={machine['omp_num_threads']} {command}"
    lines = [
        "**Training throughput: MaxEntPPO vs PPO, SoftDQN vs DQN** "
        "(`benchmarks/throughput.py`; frames/s are environment frames per wall-clock second of training, "
        "rollout and update together)",
        "",
        "| comparison | frames/s ratio (median) | per-round ratios | CPU-time ratio (median) | "
        "update-speed ratio (median) |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    for suite in data["suites"]:
        for ratio in suite["ratios"]:
            lines.append(
                f"| {ratio['candidate']} / {ratio['baseline']} | **{_ratio(ratio['median'])}** | "
                + ", ".join(_ratio(r) for r in ratio["per_round"])
                + f" | {_ratio(ratio['cpu_median'])} | {update_ratio(suite, ratio)} |"
            )
    lines += [
        "",
        "Ratios are candidate frames/s over baseline frames/s, medians of per-round ratios (both measured in "
        "the same round): 1.000 is the same speed, below 1 slower. The CPU-time ratio uses frames per "
        "process CPU-second (procgen's threads included), which the machine's load moves less; the "
        "update-speed ratio compares the seconds spent in `train()` alone (baseline / candidate).",
        "",
        "| suite | set-up | frames / round | frames/s (wall) | frames / CPU-s | update s / round | collect s / round |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for suite in data["suites"]:
        for name, record in suite["contenders"].items():
            lines.append(
                f"| {suite['name']} | {name} | {record['frames_per_round']:,} | {record['fps_median']:,.1f} | "
                f"{record['cpu_fps_median']:,.1f} | {record['update_s_median']:.2f} | "
                f"{record['collect_s_median']:.2f} |"
            )
    lines += ["", "Each column is a median over the rounds, taken on its own. Suites:", ""]
    for suite in data["suites"]:
        lines.append(
            f"- `{suite['name']}` ({suite['rounds']} rounds, {suite['seconds']:.0f} s): {suite['description']}; "
            f"{_settings_text(suite['settings'])}."
        )
    lines += [
        "",
        f"Command: `{command}` ({data['seconds']:.0f} s, {data['date']}). Machine: {machine['cpus']} CPU "
        f"cores usable ({machine['processor']}, {machine['platform']}), Python {machine['python']}, torch "
        f"{machine['torch']} with {machine['torch_threads']} thread(s) ({machine['torch_interop_threads']} "
        f"inter-op), stable-baselines3 {machine['sb3']}, procgen's own thread pool at its default (4), "
        f"OMP_NUM_THREADS={machine['omp_num_threads']}; load average {machine['load_before']:.1f} at the start "
        f"and {machine['load_after']:.1f} at the end (the cores were shared: compare numbers within this "
        "table only).",
        "",
    ]
    return "\n".join(lines)


def print_summary(data: dict[str, Any]) -> None:
    print("\n=== frames/s, medians over rounds (shared machine: compare within this run) ===")
    for suite in data["suites"]:
        for name, record in suite["contenders"].items():
            print(
                f"  {suite['name']:<13} {name:<32} {record['fps_median']:10.1f} frames/s "
                f"{record['cpu_fps_median']:10.1f} frames/CPU-s"
            )
    print("\n=== ratios (candidate / baseline frames/s, median of per-round ratios) ===")
    for suite in data["suites"]:
        for ratio in suite["ratios"]:
            label = f"{ratio['candidate']} / {ratio['baseline']}"
            print(
                f"  {label:<56} {_ratio(ratio['median']):>6}  (cpu {_ratio(ratio['cpu_median'])}; "
                f"update {update_ratio(suite, ratio)}; rounds " + " ".join(_ratio(r) for r in ratio["per_round"]) + ")"
            )


def machine_header() -> dict[str, Any]:
    """The harness's machine details, in this script's key order (SB3's version before the thread settings)."""
    details = harness.machine_details()
    order = ("cpus", "processor", "platform", "python", "torch", "torch_threads", "torch_interop_threads")
    return {
        **{key: details[key] for key in order},
        "sb3": stable_baselines3.__version__,
        "omp_num_threads": details["omp_num_threads"],
        "load_before": details["load_before"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 2 rounds: writes throughput_quick.*")
    parser.add_argument("--reps", type=int, default=None, help="interleaved timed rounds per suite (7; quick: 2)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 keeps timings stable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=None, help="JSON path (the markdown goes next to it)")
    parser.add_argument("--report", action="store_true", help="only re-write the markdown from the JSON")
    parser.add_argument("--suite", action="append", default=None, help="run only this suite (repeatable)")
    args = parser.parse_args()
    output: Path = args.output or (QUICK_JSON if args.quick else RESULTS_JSON)
    markdown_path = output.with_suffix(".md")

    if args.report:
        markdown_path.write_text(markdown(harness.read_json(output)))
        print(markdown_path.read_text())
        return

    th.set_num_threads(args.threads)
    rounds = args.reps or (2 if args.quick else 7)
    sizes = Sizes.quick() if args.quick else Sizes()
    data: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "command": shlex.join(["python", "benchmarks/throughput.py", *sys.argv[1:]]),
        "quick": args.quick,
        "rounds": rounds,
        "machine": machine_header(),
        "suites": [],
    }
    start = time.perf_counter()
    for suite in (
        ppo_suite(sizes, args.seed),
        dqn_fruitbot_suite(sizes, args.seed),
        dqn_cartpole_suite(sizes, args.seed),
    ):
        if args.suite is None or suite.name in args.suite:
            data["suites"].append(run_suite(suite, rounds))
    data["machine"]["load_after"] = os.getloadavg()[0]
    data["seconds"] = time.perf_counter() - start
    print_summary(data)
    harness.write_json(output, data, indent=2)
    markdown_path.write_text(markdown(data))
    print(f"\nwrote {output} and {markdown_path} in {data['seconds']:.0f} s")


if __name__ == "__main__":
    main()
