"""FruitBot (Procgen) throughput: the native VecEnv and MaxEntPPO + ImpalaCnnPolicy, side by side.

Everything runs in ONE process, in interleaved rounds (the order rotates every round), so that the
machine's load hits every contender alike; compare numbers within one run only. Three measurements:

(a) environment frames/s: ``ProcgenVecEnv`` (64 envs, one native call per step) against a ``DummyVecEnv``
    of 64 single-environment ``ProcgenEnv`` adapters, random actions;
(b) training frames/s (rollout + update, wall clock) of MaxEntPPO + ``ImpalaCnnPolicy`` against SB3's PPO
    with a plain, unoptimised IMPALA extractor (the network written the obvious way, NCHW tensors);
(c) a CleanRL-style reference: a minimal PPO loop written here from the algorithm with CleanRL's
    structure (float32 NHWC observation buffer, ``x.permute(0, 3, 1, 2) / 255`` in the network, Adam with
    eps 1e-5, clipped value loss), on the same plain network and the same environment.

Settings are the Procgen paper's (64 envs, minibatches of 2048, 3 epochs, lr 5e-4, gamma 0.999) with
fewer steps per rollout: ``n_steps=32`` gives one 2048-sample minibatch per epoch, so every frame costs
the same as with ``n_steps=256`` (8 minibatches per epoch) while a round takes minutes, not an hour.

Command (writes benchmarks/results/throughput_fruitbot.json and the docs table next to it):

.. code-block:: bash

    # START-COMMAND
    python benchmarks/throughput_fruitbot.py            # 3 interleaved rounds: about 9 minutes on 2 busy cores
    python benchmarks/throughput_fruitbot.py --smoke    # seconds: checks the script, numbers meaningless
    python benchmarks/throughput_fruitbot.py --table    # only re-write the markdown table from the JSON
    # END-COMMAND
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor
from torch import nn
from torch.distributions import Categorical
from torch.nn import functional as F

from sb3_maxent import MaxEntPPO
from sb3_maxent.common.torch_layers import ImpalaCnnPolicy
from sb3_maxent.envs.procgen import ProcgenEnv, ProcgenVecEnv, import_procgen

RESULTS_JSON = harness.result_path("throughput_fruitbot", quick=False)

# Procgen paper / CleanRL ppo_procgen hyper-parameters (the ones that affect cost are batch and epochs).
PPO_SETTINGS = harness.FRUITBOT_PPO_SETTINGS


# ----------------------------------------------------------------------------- plain IMPALA network


class PlainResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: th.Tensor) -> th.Tensor:
        return x + self.conv1(F.relu(self.conv0(F.relu(x))))


class PlainImpalaTrunk(nn.Module):
    """IMPALA CNN written the straightforward way: NCHW in, 256 features out, no in-place operation."""

    def __init__(self, in_channels: int = 3, channels: tuple[int, ...] = (16, 32, 32), features_dim: int = 256):
        super().__init__()
        layers: list[nn.Module] = []
        for out_channels in channels:
            layers += [
                nn.Conv2d(in_channels, out_channels, 3, padding=1),
                nn.MaxPool2d(3, stride=2, padding=1),
                PlainResidualBlock(out_channels),
                PlainResidualBlock(out_channels),
            ]
            in_channels = out_channels
        self.cnn = nn.Sequential(*layers, nn.Flatten(), nn.ReLU())
        self.linear = nn.Sequential(nn.Linear(in_channels * 8 * 8, features_dim), nn.ReLU())

    def forward(self, x: th.Tensor) -> th.Tensor:
        return self.linear(self.cnn(x))


class PlainImpalaCnn(BaseFeaturesExtractor):
    """The plain trunk as an SB3 extractor (channel-first input from ``VecTransposeImage``, already /255)."""

    def __init__(self, observation_space: spaces.Box, features_dim: int = 256) -> None:
        super().__init__(observation_space, features_dim)
        self.trunk = PlainImpalaTrunk(observation_space.shape[0], features_dim=features_dim)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return self.trunk(observations)


# ----------------------------------------------------------------------------- CleanRL-style reference


class CleanRLStyleAgent(nn.Module):
    """Actor-critic of CleanRL's ppo_procgen structure: shared trunk, linear actor and critic heads."""

    def __init__(self, n_actions: int) -> None:
        super().__init__()
        self.network = PlainImpalaTrunk()
        self.actor = nn.Linear(256, n_actions)
        self.critic = nn.Linear(256, 1)

    def hidden(self, obs_nhwc: th.Tensor) -> th.Tensor:
        return self.network(obs_nhwc.permute(0, 3, 1, 2) / 255.0)

    def value(self, obs_nhwc: th.Tensor) -> th.Tensor:
        return self.critic(self.hidden(obs_nhwc))

    def act(
        self, obs_nhwc: th.Tensor, action: th.Tensor | None = None
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor]:
        hidden = self.hidden(obs_nhwc)
        dist = Categorical(logits=self.actor(hidden))
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.critic(hidden)


class CleanRLStylePPO:
    """
    Minimal PPO (clip) update loop in CleanRL's structure, written from the algorithm: collect
    ``n_steps`` x ``n_envs`` transitions into preallocated tensors, GAE, then ``n_epochs`` passes of
    shuffled minibatches (forward, clipped surrogate + clipped value loss - entropy bonus, backward,
    gradient clipping, Adam step).
    """

    def __init__(self, env: VecEnv, n_steps: int, batch_size: int, n_epochs: int, seed: int = 0) -> None:
        th.manual_seed(seed)
        self.env, self.n_steps, self.batch_size, self.n_epochs = env, n_steps, batch_size, n_epochs
        self.n_envs = env.num_envs
        assert isinstance(env.action_space, spaces.Discrete)
        self.agent = CleanRLStyleAgent(int(env.action_space.n))
        self.optimizer = th.optim.Adam(self.agent.parameters(), lr=PPO_SETTINGS["learning_rate"], eps=1e-5)
        obs_shape = env.observation_space.shape
        assert obs_shape is not None
        self.obs = th.zeros((n_steps, self.n_envs, *obs_shape))
        self.actions = th.zeros((n_steps, self.n_envs), dtype=th.long)
        self.logprobs = th.zeros((n_steps, self.n_envs))
        self.rewards = th.zeros((n_steps, self.n_envs))
        self.dones = th.zeros((n_steps, self.n_envs))
        self.values = th.zeros((n_steps, self.n_envs))
        self.next_obs = th.Tensor(env.reset())
        self.next_done = th.zeros(self.n_envs)
        self.num_timesteps = 0
        self.train_time = 0.0

    def iterate(self) -> None:
        gamma, lam = PPO_SETTINGS["gamma"], PPO_SETTINGS["gae_lambda"]
        clip, vf_coef, ent_coef = PPO_SETTINGS["clip_range"], PPO_SETTINGS["vf_coef"], 0.01
        for step in range(self.n_steps):
            self.obs[step] = self.next_obs
            self.dones[step] = self.next_done
            with th.no_grad():
                action, logprob, _, value = self.agent.act(self.next_obs)
            self.values[step] = value.flatten()
            self.actions[step], self.logprobs[step] = action, logprob
            next_obs, reward, done, _ = self.env.step(action.numpy())
            self.rewards[step] = th.as_tensor(reward)
            self.next_obs, self.next_done = th.Tensor(next_obs), th.Tensor(done.astype(np.float32))
        self.num_timesteps += self.n_steps * self.n_envs

        start = time.perf_counter()
        with th.no_grad():  # generalised advantage estimation
            next_value = self.agent.value(self.next_obs).flatten()
            advantages = th.zeros_like(self.rewards)
            last_gae = th.zeros(self.n_envs)
            for t in reversed(range(self.n_steps)):
                not_done = 1.0 - (self.next_done if t == self.n_steps - 1 else self.dones[t + 1])
                following = next_value if t == self.n_steps - 1 else self.values[t + 1]
                delta = self.rewards[t] + gamma * following * not_done - self.values[t]
                last_gae = delta + gamma * lam * not_done * last_gae
                advantages[t] = last_gae
            returns = advantages + self.values

        b_obs = self.obs.reshape((-1, *self.obs.shape[2:]))
        b_actions, b_logprobs = self.actions.reshape(-1), self.logprobs.reshape(-1)
        b_adv, b_returns, b_values = advantages.reshape(-1), returns.reshape(-1), self.values.reshape(-1)
        n_samples = b_obs.shape[0]
        for _ in range(self.n_epochs):
            order = th.randperm(n_samples)
            for begin in range(0, n_samples, self.batch_size):
                idx = order[begin : begin + self.batch_size]
                _, new_logprob, entropy, new_value = self.agent.act(b_obs[idx], b_actions[idx])
                ratio = (new_logprob - b_logprobs[idx]).exp()
                adv = b_adv[idx]
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                pg_loss = th.max(-adv * ratio, -adv * th.clamp(ratio, 1 - clip, 1 + clip)).mean()
                new_value = new_value.flatten()
                v_clipped = b_values[idx] + th.clamp(new_value - b_values[idx], -clip, clip)
                v_loss = 0.5 * th.max((new_value - b_returns[idx]) ** 2, (v_clipped - b_returns[idx]) ** 2).mean()
                loss = pg_loss - ent_coef * entropy.mean() + vf_coef * v_loss
                self.optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.agent.parameters(), PPO_SETTINGS["max_grad_norm"])
                self.optimizer.step()
        self.train_time += time.perf_counter() - start


# ----------------------------------------------------------------------------- measurements


RAW_NATIVE = "procgen gym3 env, 64 envs (no wrapper)"
RAW_SINGLE = "64 procgen gym3 envs of 1 (no wrapper)"


def env_throughput(n_envs: int, steps: int, rounds: int, seed: int) -> dict[str, Any]:
    """
    Frames/s of the two VecEnvs and, as the ceiling of their ratio on this machine, of the bare gym3
    environments they wrap (one native env of ``n_envs``; ``n_envs`` native envs of one, stepped in a loop).
    """
    procgen = import_procgen()
    native = ProcgenVecEnv(num_envs=n_envs, seed=seed)
    dummy = DummyVecEnv([lambda: ProcgenEnv() for _ in range(n_envs)])
    dummy.seed(seed)
    # the settings ProcgenVecEnv and ProcgenEnv default to (procgen itself defaults to the "hard" mode)
    levels = dict(env_name="fruitbot", num_levels=500, distribution_mode="easy")
    raw_native = procgen.ProcgenGym3Env(num=n_envs, rand_seed=seed, **levels)
    raw_single = [procgen.ProcgenGym3Env(num=1, rand_seed=seed + i, num_threads=1, **levels) for i in range(n_envs)]

    def step_raw_native(actions: np.ndarray) -> None:
        raw_native.act(actions.astype(np.int32))
        raw_native.observe()

    def step_raw_single(actions: np.ndarray) -> None:
        for env, action in zip(raw_single, actions.astype(np.int32).reshape(n_envs, 1), strict=True):
            env.act(action)
            env.observe()

    native.reset()
    dummy.reset()
    contenders: dict[str, Callable[[np.ndarray], Any]] = {
        "ProcgenVecEnv": native.step,
        "DummyVecEnv(ProcgenEnv)": dummy.step,
        RAW_NATIVE: step_raw_native,
        RAW_SINGLE: step_raw_single,
    }
    rng = np.random.default_rng(seed)
    fps: dict[str, list[float]] = {name: [] for name in contenders}
    for step in contenders.values():
        for _ in range(5):  # warm-up
            step(rng.integers(0, 15, n_envs))
    for round_idx in range(rounds):
        names = list(contenders)[:: 1 if round_idx % 2 == 0 else -1]
        for name in names:
            actions = rng.integers(0, 15, (steps, n_envs))

            def run(step: Callable[[np.ndarray], Any] = contenders[name], actions: np.ndarray = actions) -> None:
                for action in actions:
                    step(action)

            wall, _ = harness.timed(run)
            fps[name].append(steps * n_envs / wall)
    native.close()
    dummy.close()
    raw_native.close()
    for env in raw_single:
        env.close()
    ratios = [a / b for a, b in zip(fps["ProcgenVecEnv"], fps["DummyVecEnv(ProcgenEnv)"], strict=True)]
    ceilings = [a / b for a, b in zip(fps[RAW_NATIVE], fps[RAW_SINGLE], strict=True)]
    return {
        "n_envs": n_envs,
        "steps": steps,
        "fps": fps,
        "ratio_median": statistics.median(ratios),
        "raw_ratio_median": statistics.median(ceilings),
    }


class Contender:
    """One training set-up; ``iterate()`` runs one rollout + update and returns (wall, cpu, train) seconds."""

    def __init__(self, name: str, make: Callable[[], Any], frames_per_iteration: int) -> None:
        self.name = name
        self.model = make()
        self.frames = frames_per_iteration
        self.train_time = 0.0
        if isinstance(self.model, PPO):
            original_train = self.model.train

            def train_and_time() -> None:
                start = time.perf_counter()
                original_train()
                self.train_time += time.perf_counter() - start

            self.model.train = train_and_time  # type: ignore[method-assign]

    def warm_up(self, n_envs: int, batch_size: int) -> float:
        """
        One inference at the rollout batch size and one forward/backward at the minibatch size, untimed
        in the results: oneDNN builds its kernels for every new shape and memory layout on first use.
        """
        start = time.perf_counter()
        images = th.randint(0, 256, (max(n_envs, batch_size), 64, 64, 3), dtype=th.uint8)
        actions = th.zeros(batch_size, dtype=th.long)
        if isinstance(self.model, PPO):
            policy = self.model.policy
            channel_first = images.permute(0, 3, 1, 2).contiguous().float()  # as sampled from SB3's buffer
            with th.no_grad():
                policy(images[:n_envs].permute(0, 3, 1, 2))  # rollout: VecTransposeImage's view
            values, log_prob, _ = policy.evaluate_actions(channel_first[:batch_size], actions)
            (values.sum() + log_prob.sum()).backward()
            policy.optimizer.zero_grad()
        else:
            agent = self.model.agent
            with th.no_grad():
                agent.act(images[:n_envs].float())
            _, log_prob, _, values = agent.act(images[:batch_size].float(), actions)
            (values.sum() + log_prob.sum()).backward()
            self.model.optimizer.zero_grad()
        return time.perf_counter() - start

    def iterate(self) -> tuple[float, float, float]:
        before = self._train_time()
        if isinstance(self.model, PPO):
            first = self.model.num_timesteps == 0
            wall, cpu = harness.timed(lambda: self.model.learn(self.frames, reset_num_timesteps=first))
        else:
            wall, cpu = harness.timed(self.model.iterate)
        return wall, cpu, self._train_time() - before

    def _train_time(self) -> float:
        return self.model.train_time if isinstance(self.model, CleanRLStylePPO) else self.train_time


def training_throughput(args: argparse.Namespace) -> dict[str, Any]:
    n_envs, n_steps, batch, epochs = args.n_envs, args.n_steps, args.batch_size, args.n_epochs
    frames = n_envs * n_steps
    common = dict(n_steps=n_steps, batch_size=batch, n_epochs=epochs, seed=args.seed, device="cpu", **PPO_SETTINGS)

    def make_env() -> VecEnv:
        return VecMonitor(ProcgenVecEnv(num_envs=n_envs, seed=args.seed))

    contenders = [
        Contender(
            "SB3 PPO + plain IMPALA",
            lambda: PPO(
                "CnnPolicy",
                make_env(),
                ent_coef=0.01,
                policy_kwargs=dict(features_extractor_class=PlainImpalaCnn, net_arch=[]),
                **common,
            ),
            frames,
        ),
        Contender(
            "MaxEntPPO + ImpalaCnnPolicy",
            lambda: MaxEntPPO(ImpalaCnnPolicy, make_env(), maxent_coef=0.3, **common),
            frames,
        ),
        Contender(
            "CleanRL-style reference",
            lambda: CleanRLStylePPO(ProcgenVecEnv(num_envs=n_envs, seed=args.seed), n_steps, batch, epochs, args.seed),
            frames,
        ),
    ]
    results: dict[str, dict[str, list[float]]] = {
        c.name: {"fps": [], "cpu_fps": [], "train_s": [], "rollout_s": []} for c in contenders
    }
    for contender in contenders:
        wall = contender.warm_up(n_envs, batch)
        print(f"  warm-up: {contender.name:<30} {wall:6.1f} s", flush=True)
    for round_idx in range(args.rounds):
        shift = round_idx % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            wall, cpu, train = contender.iterate()
            record = results[contender.name]
            record["fps"].append(frames / wall)
            record["cpu_fps"].append(frames / cpu)
            record["train_s"].append(train)
            record["rollout_s"].append(wall - train)
            print(
                f"  round {round_idx + 1}: {contender.name:<30} {frames / wall:7.1f} frames/s "
                f"(train {train:6.1f} s, rollout {wall - train:5.1f} s, load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    plain, ours, cleanrl = (results[c.name] for c in contenders)

    def ratios(a: list[float], b: list[float]) -> list[float]:
        return [x / y for x, y in zip(a, b, strict=True)]

    def median_ratio(a: list[float], b: list[float]) -> float:
        return statistics.median(ratios(a, b))

    return {
        "n_envs": n_envs,
        "n_steps": n_steps,
        "batch_size": batch,
        "n_epochs": epochs,
        "frames_per_iteration": frames,
        "contenders": results,
        "ratio_vs_sb3_plain": median_ratio(ours["fps"], plain["fps"]),
        "ratio_vs_cleanrl": median_ratio(ours["fps"], cleanrl["fps"]),
        "cpu_ratio_vs_sb3_plain": median_ratio(ours["cpu_fps"], plain["cpu_fps"]),
        "cpu_ratio_vs_cleanrl": median_ratio(ours["cpu_fps"], cleanrl["cpu_fps"]),
        "ratios_per_round_vs_sb3_plain": ratios(ours["fps"], plain["fps"]),
        "ratios_per_round_vs_cleanrl": ratios(ours["fps"], cleanrl["fps"]),
    }


# ----------------------------------------------------------------------------- report


def markdown_table(data: dict[str, Any]) -> str:
    """The docs table (``docs/envs/fruitbot.md`` includes it), generated from the JSON only."""
    env, train = data["env"], data["train"]
    med = statistics.median
    lines = [
        f"Measured {data['date']} on {data['machine']['cpus']} CPU cores ({data['machine']['processor']}), "
        f"torch {data['machine']['torch']} with {data['machine']['torch_threads']} threads, "
        f"load average {data['machine']['load_before']:.1f} at the start (the cores were shared: compare rows "
        "within this table only). Each column is a median over the interleaved rounds, taken on its own; "
        "the ratios below are medians of per-round ratios (both set-ups measured in the same round).",
        "",
        f"**Environment** ({env['n_envs']} FruitBot environments, random actions)",
        "",
        "| vectorisation | frames/s |",
        "| --- | ---: |",
    ]
    for name, values in env["fps"].items():
        lines.append(f"| {name} | {med(values):,.0f} |")
    lines += [
        "",
        f"ProcgenVecEnv / DummyVecEnv: **{env['ratio_median']:.2f}x**."
        + (
            f" The same ratio between the bare gym3 environments they wrap (no Python wrapper on either "
            f"side): {env['raw_ratio_median']:.2f}x."
            if "raw_ratio_median" in env
            else ""
        ),
        "",
        f"**Training** ({train['n_envs']} envs x {train['n_steps']} steps per rollout, minibatch "
        f"{train['batch_size']}, {train['n_epochs']} epochs, IMPALA CNN)",
        "",
        "| set-up | frames/s (wall) | frames per CPU-second | update s / iteration | rollout s / iteration |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, record in train["contenders"].items():
        lines.append(
            f"| {name} | {med(record['fps']):.1f} | {med(record['cpu_fps']):.1f} | "
            f"{med(record['train_s']):.1f} | {med(record['rollout_s']):.1f} |"
        )
    lines += [
        "",
        f"MaxEntPPO + ImpalaCnnPolicy vs SB3 PPO + plain IMPALA: **{train['ratio_vs_sb3_plain']:.3f}x** "
        f"(CPU: {train['cpu_ratio_vs_sb3_plain']:.3f}x); vs the CleanRL-style reference: "
        f"**{train['ratio_vs_cleanrl']:.3f}x** (CPU: {train['cpu_ratio_vs_cleanrl']:.3f}x).",
        "",
        "Per-round ratios (wall clock), showing how much the machine's load moved them: vs SB3 plain "
        + ", ".join(f"{r:.2f}" for r in train["ratios_per_round_vs_sb3_plain"])
        + "; vs CleanRL-style "
        + ", ".join(f"{r:.2f}" for r in train["ratios_per_round_vs_cleanrl"])
        + ".",
        "",
    ]
    return "\n".join(lines)


def print_summary(data: dict[str, Any]) -> None:
    env, train = data["env"], data["train"]
    med = statistics.median
    print("\n=== FruitBot throughput (medians; shared machine: compare within this run) ===")
    for name, values in env["fps"].items():
        print(f"  env    {name:<32} {med(values):10,.0f} frames/s")
    print(f"  env    ratio native / dummy             {env['ratio_median']:10.2f}x")
    if "raw_ratio_median" in env:
        print(f"  env    ratio bare gym3 (the ceiling)    {env['raw_ratio_median']:10.2f}x")
    for name, record in train["contenders"].items():
        print(f"  train  {name:<32} {med(record['fps']):10.1f} frames/s   {med(record['cpu_fps']):7.1f} frames/CPU-s")
    print(f"  train  ratio ours / SB3 plain            {train['ratio_vs_sb3_plain']:10.2f}x")
    print(f"  train  ratio ours / CleanRL-style        {train['ratio_vs_cleanrl']:10.2f}x")
    for key in ("ratios_per_round_vs_sb3_plain", "ratios_per_round_vs_cleanrl"):
        print(f"  train  {key:<32} " + " ".join(f"{r:.2f}" for r in train[key]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-envs", type=int, default=64)
    parser.add_argument("--n-steps", type=int, default=32, help="steps per env per rollout (paper: 256)")
    parser.add_argument("--batch-size", type=int, default=2048, help="minibatch size (paper: 2048)")
    parser.add_argument("--n-epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timed rounds of training")
    parser.add_argument("--env-steps", type=int, default=100, help="steps per env-throughput measurement")
    parser.add_argument("--env-rounds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that the script runs")
    parser.add_argument("--output", type=Path, default=RESULTS_JSON)
    parser.add_argument("--table", action="store_true", help="only re-write the markdown table from the JSON")
    args = parser.parse_args()
    table_path = args.output.with_suffix(".md")

    if args.table:
        data = harness.read_json(args.output)
        table_path.write_text(markdown_table(data))
        print(table_path.read_text())
        return
    if args.smoke:
        args.n_envs, args.n_steps, args.batch_size, args.rounds, args.env_steps, args.env_rounds = 4, 8, 16, 1, 10, 2
    if args.threads is not None:
        th.set_num_threads(args.threads)

    data: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/throughput_fruitbot.py" + (" --smoke" if args.smoke else ""),
        "machine": {
            key: value
            for key, value in harness.machine_details().items()
            if key in ("cpus", "processor", "torch", "torch_threads", "load_before")
        },
    }
    start = time.perf_counter()
    print("(a) environment throughput", flush=True)
    data["env"] = env_throughput(args.n_envs, args.env_steps, args.env_rounds, args.seed)
    print(f"    ratio {data['env']['ratio_median']:.2f}x", flush=True)
    print("(b, c) training throughput", flush=True)
    data["train"] = training_throughput(args)
    data["machine"]["load_after"] = os.getloadavg()[0]
    data["seconds"] = time.perf_counter() - start
    print_summary(data)
    harness.write_json(args.output, data, indent=2)
    table_path.write_text(markdown_table(data))
    print(f"\nwrote {args.output} and {table_path} in {data['seconds']:.0f} s")


if __name__ == "__main__":
    main()
