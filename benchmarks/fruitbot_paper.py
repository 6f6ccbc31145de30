"""Reproduction of the maximum-entropy PPO paper's FruitBot comparison (its section 5) with SB3 + sb3-maxent.

Agents (``--agents``, any subset):

* ``ppo_noent``           SB3 PPO without entropy term (``ent_coef=0``);
* ``ppo_ent``             SB3 PPO with entropy regularisation, the paper's tuned ``ent_coef=0.01``;
* ``maxent_one_step``     MaxEntPPO, the paper's one-step maximisation: ``maxent_mode="one_step"``, beta 0.3,
  ``ent_coef=0``;
* ``maxent_soft_return``  MaxEntPPO, this package's exact objective: ``maxent_mode="soft_return"``, beta 0.3.

Set-up: FruitBot in easy mode, training levels ``0 .. N-1`` for each ``N`` of ``--num-levels`` (the paper:
50, 100, 250, 500), test on the unseen levels ``N .. 2N-1`` (levels 500-999 for N = 500). Hyperparameters
are the Procgen paper's PPO ones as written in ``zoo_configs/ppo.yml`` / ``zoo_configs/maxent_ppo.yml``
(checked against those files at start-up): 64 environments, 256 steps per rollout, 3 epochs of minibatches
of 2048, lr 5e-4, gamma 0.999, GAE lambda 0.95, clip 0.2, ``VecNormalize`` on rewards only, ``VecMonitor``.

Recorded per (agent, levels, seed) run: the training-return curve (``VecMonitor`` returns, mean of the
last 100 episodes, after every rollout), the policy-entropy curve (one callback computes the same
quantity for PPO and MaxEntPPO, see :class:`PaperCallback`), and at every checkpoint (``--eval-every``
steps, plus the start and the end of training) the return on the unseen test levels and on the training
levels, both with the stochastic policy (``deterministic=False``; the paper's agents act by sampling),
``--eval-episodes`` episodes each through SB3's ``evaluate_policy``; wall time, frames/s, the network,
library versions. The JSON is written after every finished run (and at every checkpoint, under
``in_progress``), under a file lock, so that several processes can share one ``--out`` (for instance one
per seed). Every evaluation point is also a resume checkpoint (model, statistics, curves, environment and
random states; ``--checkpoint-every`` adds checkpoints in between, without evaluations), so a killed job
loses only what it did after its last checkpoint: ``--resume`` skips the finished runs and continues the
interrupted one from there.
From the JSON the script draws ``<out>.png`` (train / test return and entropy, mean +- std over seeds) and
writes ``<out>.md`` (table, verdict, the commands that produced the data).

Commands:

.. code-block:: bash

    # 1-2 minutes, checks the whole pipeline; writes benchmarks/results/fruitbot_paper_quick.{json,png,md}
    python benchmarks/fruitbot_paper.py --quick
    # a CPU-budget run, one process per seed sharing one JSON (1 thread each)
    python benchmarks/fruitbot_paper.py --policy cnn --timesteps 300000 --seeds 0 \\
        --agents ppo:0.01 maxent_one_step:0.03 ppo:0 --resume
    # a test of one difference from the Procgen paper's set-up (ppo2's value weight), in its own JSON
    python benchmarks/fruitbot_paper.py --policy impala_glorot --num-levels 200 --seeds 0 --agents ppo:0.01 \\
        --timesteps 999424 --eval-every 155648 --hyperparams vf_coef:0.25 --resume --checkpoint-every 32768 \\
        --out benchmarks/results/fruitbot_impala_glorot_vf025.json
    # every known difference from ppo2 at once: its value weight and clipping, Adam epsilon, reward normalisation
    python benchmarks/fruitbot_paper.py --policy impala_glorot --num-levels 200 --seeds 0 --agents ppo:0.01 \\
        --timesteps 999424 --eval-every 155648 --hyperparams vf_coef:0.25 clip_range_vf:0.2 \\
        "policy_kwargs:{'optimizer_kwargs': {'eps': 1e-05}}" --reward-norm-gamma 0.99 --resume \\
        --checkpoint-every 32768 --out benchmarks/results/fruitbot_impala_glorot_ppo2.json
    # the paper's budget (2M steps, IMPALA CNN, four level counts)
    python benchmarks/fruitbot_paper.py --timesteps 2000000 --num-levels 50 100 250 500 --seeds 0 1 2
    # re-draw the PNG and the markdown from the JSON only
    python benchmarks/fruitbot_paper.py --report
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import fcntl
import hashlib
import inspect
import math
import os
import pickle
import platform
import random
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import harness
import numpy as np
import torch as th
import yaml
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.utils import safe_mean
from stable_baselines3.common.vec_env import VecEnv, VecMonitor, VecNormalize

from sb3_maxent import MaxEntPPO
from sb3_maxent.common.torch_layers import ImpalaCnnPolicy
from sb3_maxent.envs.procgen import (
    ProcgenVecEnv,
    evaluation_levels,
    make_procgen_eval_vec_env,
    make_procgen_vec_env,
)
from sb3_maxent.zoo.resume import STATE_FILE, match_live_layout, named_checkpoint, publish_checkpoint

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = harness.result_path("fruitbot_paper", quick=False)
DEFAULT_TITLE = "FruitBot: the maximum-entropy PPO paper's comparison"
FULL_BUDGET = 2_000_000  # the paper trains every agent for 2M steps
DISTRIBUTION_MODE = "easy"

# The Procgen paper's PPO settings (zoo_configs/ppo.yml and zoo_configs/maxent_ppo.yml, FruitBot-v0).
N_ENVS = 64
PPO_HYPERPARAMS: dict[str, Any] = dict(
    n_steps=256,
    batch_size=2048,
    n_epochs=3,
    learning_rate=5e-4,
    gamma=0.999,
    gae_lambda=0.95,
    clip_range=0.2,
    vf_coef=0.5,
    max_grad_norm=0.5,
)
# The budget of a run (each key also a command-line option, which overrides it), and --quick's: a pipeline
# check, not a measurement (small vectors and rollouts so that it takes 1-2 minutes).
FULL = dict(timesteps=FULL_BUDGET, eval_every=100_000, eval_episodes=128, seeds=[0, 1, 2])
QUICK = dict(n_envs=8, n_steps=64, batch_size=256, timesteps=1024, eval_every=512, eval_episodes=8, seeds=[0])

# Agent kinds (``--agents KIND:COEF``, e.g. ``maxent_one_step:0.03``): algorithm, the coefficient's argument,
# fixed arguments, label template. ``ppo_noent`` / ``ppo_ent`` name the paper's two baselines.
AGENT_KINDS: dict[str, dict[str, Any]] = {
    "ppo": dict(algo="PPO", coef="ent_coef", kwargs={}, label="PPO, ent_coef {coef}"),
    "maxent_one_step": dict(
        algo="MaxEntPPO",
        coef="maxent_coef",
        kwargs=dict(ent_coef=0.0, maxent_mode="one_step", maxent_grad=True),
        label="MaxEntPPO one-step (beta {coef})",
    ),
    "maxent_nograd": dict(
        algo="MaxEntPPO",
        coef="maxent_coef",
        kwargs=dict(ent_coef=0.0, maxent_mode="one_step", maxent_grad=False),
        label="MaxEntPPO one-step, H detached (beta {coef})",
    ),
    "maxent_soft_return": dict(
        algo="MaxEntPPO",
        coef="maxent_coef",
        kwargs=dict(ent_coef=0.0, maxent_mode="soft_return", maxent_grad=True),
        label="MaxEntPPO soft return (beta {coef})",
    ),
    "maxent_soft_return_nograd": dict(
        algo="MaxEntPPO",
        coef="maxent_coef",
        kwargs=dict(ent_coef=0.0, maxent_mode="soft_return", maxent_grad=False),
        label="MaxEntPPO soft return, reward bonus only (beta {coef})",
    ),
}
AGENT_ALIASES = {"ppo_noent": "ppo:0", "ppo_ent": "ppo:0.01"}
DEFAULT_AGENTS = ("ppo_noent", "ppo_ent", "maxent_one_step:0.01", "maxent_soft_return:0.01")
BASELINE = "ppo:0.01"  # the paper's tuned PPO (ent_coef 0.01): every claim compares with it


def parse_agent(text: str) -> str:
    """
    Canonical name ``KIND:COEF`` of an agent given on the command line (``maxent_one_step:0.03``,
    ``ppo:0.01``, or an alias such as ``ppo_ent``).

    :raises argparse.ArgumentTypeError: for an unknown kind or a coefficient that is not a number >= 0
    """
    text = AGENT_ALIASES.get(text, text)
    kind, sep, coef_text = text.partition(":")
    if kind not in AGENT_KINDS or not sep:
        raise argparse.ArgumentTypeError(
            f"agent {text!r}: expected KIND:COEF with KIND one of {sorted(AGENT_KINDS)} "
            f"(e.g. maxent_one_step:0.03), or one of the aliases {sorted(AGENT_ALIASES)}"
        )
    try:
        coef = float(coef_text)
    except ValueError:
        coef = float("nan")
    if not math.isfinite(coef) or coef < 0:
        raise argparse.ArgumentTypeError(f"agent {text!r}: the coefficient must be a number >= 0, got {coef_text!r}")
    return f"{kind}:{coef:g}"


def agent_spec(agent: str) -> dict[str, Any]:
    """Algorithm, constructor arguments and label of a canonical agent name (see :func:`parse_agent`)."""
    kind, _, coef_text = agent.partition(":")
    spec = AGENT_KINDS[kind]
    coef = float(coef_text)
    return dict(
        algo=spec["algo"],
        kwargs={**spec["kwargs"], spec["coef"]: coef},
        label=spec["label"].format(coef=f"{coef:g}"),
    )


def apply_overrides(hyperparams: dict[str, Any], items: list[str]) -> dict[str, Any]:
    """
    ``hyperparams`` with ``--hyperparams KEY:VALUE`` items applied: a key is a constructor argument of SB3's
    ``PPO`` (``vf_coef:0.25``, ``policy_kwargs:"{'optimizer_kwargs': {'eps': 1e-5}}"``), the value a Python
    literal. A test of one difference from the Procgen paper's set-up, not one of its agents.

    :raise ValueError: an item without ``:``, an unknown key, a value that is not a literal
    """
    allowed = set(inspect.signature(PPO.__init__).parameters) - {"self", "policy", "env", "seed", "device", "verbose"}
    result = copy.deepcopy(hyperparams)
    for item in items:
        key, sep, text = item.partition(":")
        if not sep or not key or not text:
            raise ValueError(f"--hyperparams {item!r}: expected KEY:VALUE, e.g. vf_coef:0.25")
        if key not in allowed:
            raise ValueError(
                f"--hyperparams {item!r}: {key!r} is not an argument of PPO; use one of {', '.join(sorted(allowed))}"
            )
        try:
            result[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError) as error:
            raise ValueError(
                f"--hyperparams {item!r}: the value must be a Python literal (a number, a string in quotes, a dict): "
                f"{error}"
            ) from None
    return result


def agent_order(agent: str) -> tuple[int, float]:
    """Sort key: kinds in the order of ``AGENT_KINDS``, then by coefficient."""
    kind, _, coef_text = agent.partition(":")
    return list(AGENT_KINDS).index(kind), float(coef_text)


# --policy: (policy, policy_kwargs). impala: ImpalaCnnPolicy as it is, with the Procgen paper's layer
# initialisation (TensorFlow's Glorot-uniform in openai/baselines' build_impala_cnn); impala_glorot says so
# explicitly (the run that tested it used that name); impala_ortho: SB3's orthogonal gain sqrt(2) on every layer,
# ImpalaCnnPolicy's default when the first IMPALA anchor ran (its JSON says "impala", with weight_init None).
POLICIES: dict[str, tuple[Any, dict[str, Any]]] = {
    "cnn": ("CnnPolicy", {}),
    "impala": (ImpalaCnnPolicy, {}),
    "impala_glorot": (ImpalaCnnPolicy, {"features_extractor_kwargs": {"weight_init": "glorot_uniform"}}),
    "impala_ortho": (ImpalaCnnPolicy, {"features_extractor_kwargs": {"weight_init": None}}),
}
EVAL_POLICY = "stochastic (deterministic=False: actions sampled from the policy, as the paper's agents act)"
PINNED_ENTROPY = 2.69  # final entropy above this: the policy stayed (almost) uniform over the 15 actions
ENTROPY_STRIDE = 4  # the entropy callback reads every 4th step of the rollout (all environments)
# What the algorithm logs in each train() (``train/<key>``) and the callback keeps per update: how far the
# policy moved (ppo2's progress files log approxkl and clipfrac too) and how well the value head fits.
UPDATE_STATS = (
    "approx_kl",
    "clip_fraction",
    "explained_variance",
    "value_loss",
    "policy_gradient_loss",
    "entropy_loss",
)
# Settings that must agree between the runs of one JSON (checked by --resume and by parallel processes).
SHARED_SETTINGS = (
    "timesteps",
    "policy",
    "n_envs",
    "hyperparameters",
    "reward_norm_gamma",
    "eval_every",
    "eval_episodes",
    "quick",
)

# Published reference numbers (only numbers read in a source; see the markdown section it produces).
PUBLISHED_COMPARISON = """\
**Published numbers at comparable budgets.** No publication tabulates FruitBot returns at a few hundred thousand
steps; the closest numbers found are these.

- *Procgen paper* (Cobbe et al. 2020, arXiv:1912.01588), easy mode: its 200-level generalisation curves (25M steps)
  are plotted from raw logs published in `openai/train-procgen`
  (`train_procgen/results/easy-200-run{0,1,2}/progress-fruitbot-{train,test}.csv`, drawn by `train_procgen/graph.py`).
  Set-up: baselines PPO with ent_coef 0.01 and the IMPALA CNN, 64 environments x 256 steps (the same 16,384-step
  grid as here), return = mean of the last 100 episodes; the test workers play the full level distribution
  (num_levels 0), not a held-out block. Mean ± std over the 3 runs, train / test:
  **311,296 steps: -0.39 ± 0.15 / -0.45 ± 0.19**; 999,424 steps: 5.00 ± 1.68 / 4.66 ± 2.27;
  1,998,848 steps: 16.23 ± 0.71 / 15.36 ± 1.73. Policy entropy logged at 311,296 steps: 2.53, 2.61, 2.56 nats
  (uniform over 15 actions: 2.71). Differences from this benchmark: 200 instead of 500 training levels, IMPALA
  instead of NatureCNN when `--policy cnn`, ppo2's clipped value loss. `train_procgen/constants.py` of the same
  repository gives FruitBot's easy-mode normalisation range as [-1.5, 32.4].
- *On-Policy Maximum Entropy Deep RL* (the paper reproduced here; 500 levels, easy, 2M steps): FruitBot results
  appear only as figures (train curves, test returns at 1M and 2M steps, entropy curves); the only number given
  in its text is a test return of about 20, which its one-step maximisation agent reaches earlier than the two
  PPO agents. It reports nothing below 1M steps.
"""


# ----------------------------------------------------------------------------- configuration checks


def check_against_zoo_configs() -> None:
    """Fail fast if the hyperparameters above drift from the FruitBot entries of ``zoo_configs``."""
    for name in ("ppo.yml", "maxent_ppo.yml"):
        path = ROOT / "zoo_configs" / name
        if not path.exists():  # an installed copy without the repository: nothing to compare with
            continue
        entry = yaml.safe_load(path.read_text())["FruitBot-v0"]
        expected = dict(PPO_HYPERPARAMS, n_envs=N_ENVS)
        wrong = {key: (entry.get(key), value) for key, value in expected.items() if entry.get(key) != value}
        normalize = entry.get("normalize", {})
        if normalize != {"norm_obs": False, "norm_reward": True}:
            wrong["normalize"] = (normalize, {"norm_obs": False, "norm_reward": True})
        if entry.get("env_kwargs", {}).get("distribution_mode") != DISTRIBUTION_MODE:
            wrong["distribution_mode"] = (entry.get("env_kwargs"), DISTRIBUTION_MODE)
        if wrong:
            raise ValueError(f"{path}: FruitBot-v0 differs from this benchmark's settings (yaml, here): {wrong}")


# ----------------------------------------------------------------------------- callback


class PaperCallback(BaseCallback):
    """
    Curves and checkpoints of one run.

    * After every rollout: the training return (mean of the last 100 ``VecMonitor`` episodes, raw rewards:
      the monitor sits below ``VecNormalize``) and the policy entropy. The entropy is the mean closed-form
      entropy H(pi_old(.|s_t)) over the states of the rollout just collected (every ``ENTROPY_STRIDE``-th
      step, all environments), computed the same way for PPO and MaxEntPPO: this is the quantity MaxEntPPO
      logs as ``rollout/policy_entropy`` (over every step), which is kept next to it as a check. The
      single-sample estimate mean(-log pi_old(a_t|s_t)) over the whole rollout is recorded too.
    * After every update (``update_curve``, at the step count of the rollout it learned from): what the
      algorithm logged in ``train()``, the ``UPDATE_STATS``: approximate KL and clip fraction (how far the
      policy moved), explained variance and value loss (how well the value head fits), the policy-gradient and
      entropy losses.
    * At the start of the first rollout after every ``eval_every`` steps (and by :meth:`checkpoint` at the
      end): the return on the unseen test levels and on the training levels (stochastic policy). The torch
      random state is saved and restored around evaluations, so they do not change the training run.
      ``on_checkpoint`` is called after each, and at the start of the first rollout after every
      ``save_every`` steps where no evaluation falls (0: never): it records the curves and saves a resume
      checkpoint.
    """

    def __init__(
        self,
        eval_every: int,
        evaluate: Callable[[], dict[str, Any]],
        on_checkpoint: Callable[[], None],
        save_every: int = 0,
        verbose: int = 1,
    ) -> None:
        super().__init__(verbose)
        self.eval_every = eval_every
        self.evaluate = evaluate
        self.on_checkpoint = on_checkpoint
        self.save_every = save_every
        self.next_eval = 0
        self.next_save = 0
        self.elapsed_before = 0.0  # wall time of the run before a resume
        self.start = time.perf_counter()
        self.eval_seconds = 0.0
        self.train_curve: dict[str, list[float]] = {
            "timesteps": [],
            "ep_return_mean100": [],
            "episodes": [],
            "wall_s": [],
        }
        self.entropy_curve: dict[str, list[float | None]] = {
            "timesteps": [],
            "entropy": [],
            "entropy_sample_estimate": [],
            "algorithm_logged": [],
        }
        self.update_curve: dict[str, list[float]] = {"timesteps": [], **{key: [] for key in UPDATE_STATS}}
        self.checkpoints: list[dict[str, Any]] = []
        self.episodes = 0

    def _on_training_start(self) -> None:
        self.start = time.perf_counter() - self.elapsed_before
        self._schedule_save()

    def _schedule_save(self) -> None:
        # from the step count alone: a resumed run needs no saved state for it
        self.next_save = (self.num_timesteps // self.save_every + 1) * self.save_every if self.save_every else 0

    # Everything of the callback that a resumed run needs (see :func:`save_checkpoint`).
    STATE_KEYS = (
        "train_curve",
        "entropy_curve",
        "update_curve",
        "checkpoints",
        "episodes",
        "next_eval",
        "eval_seconds",
    )
    # Added after runs were checkpointed without them: such a checkpoint resumes with an empty curve.
    OPTIONAL_STATE_KEYS = ("update_curve",)

    def state(self) -> dict[str, Any]:
        state = {key: copy.deepcopy(getattr(self, key)) for key in self.STATE_KEYS}
        state["elapsed_s"] = time.perf_counter() - self.start
        return state

    def restore(self, state: dict[str, Any]) -> None:
        for key in self.STATE_KEYS:
            if key in state or key not in self.OPTIONAL_STATE_KEYS:
                setattr(self, key, copy.deepcopy(state[key]))
        self.elapsed_before = state["elapsed_s"]

    def _on_step(self) -> bool:
        self.episodes += int(np.sum(self.locals["dones"]))
        return True

    def _record_update(self) -> None:
        """The statistics the algorithm logged in its last ``train()``, once per update (none before the first)."""
        logged = self.model.logger.name_to_value
        if "train/approx_kl" not in logged or self.update_curve["timesteps"][-1:] == [self.num_timesteps]:
            return
        self.update_curve["timesteps"].append(int(self.num_timesteps))
        for key in UPDATE_STATS:
            self.update_curve[key].append(float(logged[f"train/{key}"]))

    def _on_rollout_start(self) -> None:
        # A train() has just ended (SB3 clears the logger's values only after the next rollout).
        self._record_update()
        if self.num_timesteps >= self.next_eval:
            self.checkpoint()
        elif self.save_every and self.num_timesteps >= self.next_save:
            self._schedule_save()
            self.on_checkpoint()

    def checkpoint(self) -> None:
        self._record_update()  # the last update of a run, which no rollout follows
        if self.checkpoints and self.checkpoints[-1]["timesteps"] == self.num_timesteps:
            return
        started = time.perf_counter()
        torch_state = th.get_rng_state()
        result = self.evaluate()
        th.set_rng_state(torch_state)
        seconds = time.perf_counter() - started
        self.eval_seconds += seconds
        result.update(timesteps=int(self.num_timesteps), eval_s=round(seconds, 2))
        self.checkpoints.append(result)
        self.next_eval = (self.num_timesteps // self.eval_every + 1) * self.eval_every
        self._schedule_save()
        if self.verbose:
            print(
                f"  checkpoint t={self.num_timesteps:>9,d}  test return {result['test_return_mean']:7.2f}"
                f"  train-level return {result['train_levels_return_mean']:7.2f}  ({seconds:.0f} s)",
                flush=True,
            )
        self.on_checkpoint()

    @th.no_grad()
    def _policy_entropy(self) -> float:
        buffer = self.model.rollout_buffer
        obs = buffer.observations[::ENTROPY_STRIDE]
        obs = obs.reshape(-1, *obs.shape[2:])
        policy = self.model.policy
        total = 0.0
        for start in range(0, len(obs), 1024):
            chunk = th.as_tensor(obs[start : start + 1024], device=self.model.device)
            entropy = policy.get_distribution(chunk).entropy()
            total += float(entropy.sum())
        return total / len(obs)

    def _on_rollout_end(self) -> None:
        buffer = self.model.ep_info_buffer
        train_return = safe_mean([info["r"] for info in buffer]) if buffer else float("nan")
        entropy = self._policy_entropy()
        sample_estimate = float(-np.mean(self.model.rollout_buffer.log_probs))
        logged = self.model.logger.name_to_value.get("rollout/policy_entropy")
        wall = time.perf_counter() - self.start
        self.train_curve["timesteps"].append(int(self.num_timesteps))
        self.train_curve["ep_return_mean100"].append(float(train_return))
        self.train_curve["episodes"].append(self.episodes)
        self.train_curve["wall_s"].append(round(wall, 2))
        self.entropy_curve["timesteps"].append(int(self.num_timesteps))
        self.entropy_curve["entropy"].append(entropy)
        self.entropy_curve["entropy_sample_estimate"].append(sample_estimate)
        self.entropy_curve["algorithm_logged"].append(None if logged is None else float(logged))
        if self.verbose:
            fps = self.num_timesteps / max(wall - self.eval_seconds, 1e-9)
            print(
                f"  t={self.num_timesteps:>9,d}  train return {train_return:7.2f}  entropy {entropy:.3f}"
                f"  episodes {self.episodes:6d}  {fps:6.0f} frames/s  wall {wall / 60:6.1f} min",
                flush=True,
            )


# ----------------------------------------------------------------------------- one run


def make_model(agent: str, policy: str, env: VecEnv, seed: int, hyperparams: dict[str, Any], device: str) -> PPO:
    spec = agent_spec(agent)
    algo = MaxEntPPO if spec["algo"] == "MaxEntPPO" else PPO
    policy_class, policy_kwargs = POLICIES[policy]
    if policy_kwargs:
        hyperparams = {**hyperparams, "policy_kwargs": {**hyperparams.get("policy_kwargs", {}), **policy_kwargs}}
    return algo(policy_class, env, seed=seed, verbose=0, device=device, **hyperparams, **spec["kwargs"])


def reward_norm_gamma(settings: dict[str, Any]) -> float:
    """The discount of ``VecNormalize``'s return statistics: ``--reward-norm-gamma``, else the algorithm's gamma."""
    gamma = settings.get("reward_norm_gamma")
    return settings["hyperparameters"]["gamma"] if gamma is None else gamma


def normalized_rewards(monitor: VecMonitor, settings: dict[str, Any]) -> VecNormalize:
    """Rewards (not observations) scaled by the running std of a discounted return, as the Procgen paper's set-up."""
    return VecNormalize(monitor, norm_obs=False, norm_reward=True, gamma=reward_norm_gamma(settings))


def evaluate_returns(model: PPO, env: VecEnv, episodes: int, seed: int) -> tuple[float, float, float]:
    """Mean and std of the episode return and mean length over ``episodes`` episodes (stochastic policy)."""
    env.seed(seed)  # the same levels at every checkpoint (ProcgenVecEnv rebuilds at the reset)
    returns, lengths = evaluate_policy(
        model, env, n_eval_episodes=episodes, deterministic=False, return_episode_rewards=True, warn=False
    )
    return float(np.mean(returns)), float(np.std(returns)), float(np.mean(lengths))


def network_description(model: PPO, policy: str) -> dict[str, Any]:
    extractor = model.policy.features_extractor
    return {
        "policy": policy,
        "policy_class": type(model.policy).__name__,
        "features_extractor": type(extractor).__name__,
        "features_dim": int(extractor.features_dim),
        "weight_init": getattr(extractor, "weight_init", None),  # ImpalaCnn's own initialisation, if any
        "net_arch": str(model.policy.net_arch),
        "parameters": int(sum(p.numel() for p in model.policy.parameters())),
    }


def checkpoint_dir(args: argparse.Namespace, agent: str, num_levels: int, seed: int) -> Path:
    """Folder of one run's checkpoints: ``<checkpoint root>/<agent>_<levels>levels_seed<seed>``."""
    return Path(args.checkpoint_dir) / f"{agent.replace(':', '_')}_{num_levels}levels_seed{seed}"


def save_checkpoint(
    folder: Path, model: PPO, env: VecNormalize, monitor: VecMonitor, record: dict[str, Any], callback: PaperCallback
) -> None:
    """
    Everything a resumed run needs to continue exactly as an uninterrupted one: the model (parameters,
    optimizer, step counter, last observations, episode buffer), the ``VecNormalize`` statistics and its
    running returns, the ``VecMonitor`` episode accumulators, procgen's game states (levels and random
    generators), the curves, and the torch / NumPy / Python random states. Written into a new folder
    ``t<steps>`` that ``LATEST`` then names (an atomic rename), so a kill while writing leaves the previous
    checkpoint intact.
    """
    step_dir = folder / f"t{model.num_timesteps:010d}"
    shutil.rmtree(step_dir, ignore_errors=True)
    step_dir.mkdir(parents=True)
    model.save(step_dir / "model.zip")
    env.save(str(step_dir / "vecnormalize.pkl"))
    procgen_env = monitor.venv
    assert isinstance(procgen_env, ProcgenVecEnv)
    state = {
        "num_timesteps": int(model.num_timesteps),
        "record": record,
        "callback": callback.state(),
        "vecnormalize_returns": env.returns.copy(),
        "monitor": {
            "episode_returns": monitor.episode_returns.copy(),
            "episode_lengths": monitor.episode_lengths.copy(),
            "episode_count": monitor.episode_count,
        },
        "procgen": procgen_env.get_env_state(),
        # SB3 draws its minibatch permutations from NumPy's global generator
        "rng": {"torch": th.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},  # noqa: NPY002
    }
    with open(step_dir / STATE_FILE, "wb") as handle:
        pickle.dump(state, handle)
    publish_checkpoint(folder, step_dir)


def run_one(
    agent: str,
    num_levels: int,
    seed: int,
    args: argparse.Namespace,
    settings: dict[str, Any],
    save_partial: Callable[[dict[str, Any]], None],
) -> dict[str, Any] | None:
    """
    Train and evaluate one (agent, levels, seed) run; with ``--resume``, continue it from its last checkpoint.

    :return: the finished run's record, or None if ``--stop-after-checkpoints`` stopped it early
    """
    n_envs = settings["n_envs"]
    threads = args.threads
    spec = agent_spec(agent)
    folder = checkpoint_dir(args, agent, num_levels, seed)
    resume_from = named_checkpoint(folder) if args.resume else None
    monitor = make_procgen_vec_env(
        n_envs=n_envs,
        num_levels=num_levels,
        start_level=0,
        distribution_mode=DISTRIBUTION_MODE,
        seed=seed,
        num_threads=threads,
    )
    assert isinstance(monitor, VecMonitor)
    eval_envs = min(n_envs, settings["eval_episodes"])
    test_env = make_procgen_eval_vec_env(
        n_envs=eval_envs, train_num_levels=num_levels, distribution_mode=DISTRIBUTION_MODE, num_threads=threads
    )
    train_level_env = make_procgen_vec_env(
        n_envs=eval_envs, num_levels=num_levels, start_level=0, distribution_mode=DISTRIBUTION_MODE, num_threads=threads
    )
    state: dict[str, Any] | None = None
    if resume_from is None:
        env = normalized_rewards(monitor, settings)
        model = make_model(agent, args.policy, env, seed, settings["hyperparameters"], args.device)
    else:
        with open(resume_from / STATE_FILE, "rb") as handle:
            state = pickle.load(handle)
        env = VecNormalize.load(str(resume_from / "vecnormalize.pkl"), monitor)
        env.returns = state["vecnormalize_returns"].copy()
        algo = MaxEntPPO if spec["algo"] == "MaxEntPPO" else PPO
        # force_reset=False: keep the saved last observations (the environments continue, they are not reset)
        model = algo.load(resume_from / "model.zip", env=env, device=args.device, force_reset=False)
        procgen_env = monitor.venv
        assert isinstance(procgen_env, ProcgenVecEnv)
        procgen_env.set_env_state(state["procgen"])
        monitor.episode_returns = state["monitor"]["episode_returns"].copy()
        monitor.episode_lengths = state["monitor"]["episode_lengths"].copy()
        monitor.episode_count = state["monitor"]["episode_count"]
        match_live_layout(model)
        print(f"  resumed from {_relative(resume_from)} (t={model.num_timesteps:,d})", flush=True)
    episodes = settings["eval_episodes"]

    def evaluate() -> dict[str, Any]:
        test = evaluate_returns(model, test_env, episodes, 10_000 + seed)
        train = evaluate_returns(model, train_level_env, episodes, 20_000 + seed)
        return {
            "test_return_mean": test[0],
            "test_return_std": test[1],
            "test_ep_len_mean": test[2],
            "train_levels_return_mean": train[0],
            "train_levels_return_std": train[1],
            "train_levels_ep_len_mean": train[2],
            "episodes": episodes,
        }

    record: dict[str, Any] = {
        "agent": agent,
        "algo": spec["algo"],
        "label": spec["label"],
        "agent_kwargs": spec["kwargs"],
        "num_levels": num_levels,
        "seed": seed,
        "train_levels": {"start_level": 0, "num_levels": num_levels},
        "test_levels": evaluation_levels(num_levels),
        "network": network_description(model, args.policy),
        "command": settings["command"],
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_average_start": os.getloadavg()[0],
        "resumed_at": [],
    }
    if state is not None:
        record = state["record"]
        record["resumed_at"] = [*record.get("resumed_at", []), int(model.num_timesteps)]
    callback: PaperCallback
    saved = 0

    class Stop(Exception):
        """Raised after ``--stop-after-checkpoints`` checkpoints (a simulated interruption)."""

    def on_checkpoint() -> None:
        """At an evaluation point or a ``--checkpoint-every`` point: the curves so far into ``--out``
        (``in_progress``) and, before the end, a resume checkpoint."""
        nonlocal saved
        record.update(
            train_curve=callback.train_curve,
            entropy_curve=callback.entropy_curve,
            update_curve=callback.update_curve,
            checkpoints=callback.checkpoints,
        )
        save_partial(record)
        if model.num_timesteps < settings["timesteps"]:  # the final checkpoint is the finished record
            save_checkpoint(folder, model, env, monitor, record, callback)
            saved += 1
            if args.stop_after_checkpoints is not None and saved >= args.stop_after_checkpoints:
                raise Stop

    callback = PaperCallback(settings["eval_every"], evaluate, on_checkpoint, args.checkpoint_every)
    if state is not None:
        callback.restore(state["callback"])
        rng = state["rng"]  # last: loading the model drew from the torch generator (initial weights)
        th.set_rng_state(rng["torch"])
        np.random.set_state(rng["numpy"])  # noqa: NPY002
        random.setstate(rng["python"])
    try:
        remaining = settings["timesteps"] - model.num_timesteps
        if remaining > 0:
            model.learn(remaining, callback=callback, reset_num_timesteps=state is None)
        callback.checkpoint()  # the trained policy
    except Stop:
        print(f"  stopped after {saved} checkpoint(s) at t={model.num_timesteps:,d} (--stop-after-checkpoints)")
        return None
    finally:
        for closable in (env, test_env, train_level_env):
            closable.close()
    wall = time.perf_counter() - callback.start
    train_wall = wall - callback.eval_seconds
    final = callback.checkpoints[-1]
    record.update(
        timesteps=int(model.num_timesteps),
        train_curve=callback.train_curve,
        entropy_curve=callback.entropy_curve,
        update_curve=callback.update_curve,
        checkpoints=callback.checkpoints,
        final={
            "train_return_last100": callback.train_curve["ep_return_mean100"][-1],
            "test_return": final["test_return_mean"],
            "train_levels_return": final["train_levels_return_mean"],
            "entropy": callback.entropy_curve["entropy"][-1],
        },
        wall_s=round(wall, 1),
        train_wall_s=round(train_wall, 1),
        eval_wall_s=round(callback.eval_seconds, 1),
        frames_per_s=round(model.num_timesteps / train_wall, 1),
        frames_per_s_wall=round(model.num_timesteps / wall, 1),
        load_average_end=os.getloadavg()[0],
        finished=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    if not args.keep_checkpoints:
        shutil.rmtree(folder, ignore_errors=True)
    return record


# ----------------------------------------------------------------------------- results file


def run_key(run: dict[str, Any]) -> str:
    return f"{run['agent']}|{run['num_levels']}|{run['seed']}"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Exclusive lock for read-modify-write of ``path`` (the lock file lives in the temp directory)."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"fruitbot_paper-{digest}.lock"
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_results(path: Path) -> dict[str, Any]:
    return harness.read_json(path, default={})


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Through a temporary file and a rename: a process killed while writing leaves the previous file intact."""
    tmp = harness.write_json(path.with_name(f".{path.name}.{os.getpid()}.tmp"), data)
    os.replace(tmp, path)


def merge_header(data: dict[str, Any], settings: dict[str, Any], environment: dict[str, Any]) -> None:
    """Create the header of a new results file, or check that ``settings`` agree with an existing one."""
    if "settings" in data:
        old = data["settings"]
        # .get: a setting added later (reward_norm_gamma) is absent from older files, and None means its default
        wrong = {key: (old.get(key), settings.get(key)) for key in SHARED_SETTINGS if old.get(key) != settings.get(key)}
        if wrong:
            raise SystemExit(
                f"The results file was written with other settings (file, now): {wrong}. "
                "Use another --out, or delete the file to start over."
            )
    else:
        data["benchmark"] = "FruitBot comparison of the maximum-entropy PPO paper (section 5), SB3 + sb3-maxent"
        data["settings"] = {key: value for key, value in settings.items() if key != "command"}
        data["environment"] = environment
        data["runs"] = []
        data["in_progress"] = {}
    commands = data.setdefault("commands", [])
    if settings["command"] not in commands:
        commands.append(settings["command"])


def environment_info(threads: int, device: str) -> dict[str, Any]:
    try:
        from importlib.metadata import version

        procgen_version = version("procgen-mirror")
    except Exception:
        procgen_version = "unknown"
    versions = harness.versions("torch", "stable_baselines3", "sb3_maxent", "numpy")
    return {
        "python": versions.pop("python"),  # first, as in the files written so far
        **versions,
        "procgen": procgen_version,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores",
        "device": device if not device.startswith("cuda") else f"{device} ({th.cuda.get_device_name(device)})",
        "torch_threads": threads,
    }


# ----------------------------------------------------------------------------- report


def _mean_std(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=float)
    std = float(np.std(array, ddof=1)) if len(array) > 1 else float("nan")
    return float(np.mean(array)), std


def _fmt(mean: float, std: float) -> str:
    return f"{mean:.2f}" if math.isnan(std) else f"{mean:.2f} ± {std:.2f}"


def _groups(runs: list[dict[str, Any]]) -> dict[tuple[int, str], list[dict[str, Any]]]:
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for run in sorted(runs, key=lambda r: (r["num_levels"], agent_order(r["agent"]), r["seed"])):
        groups.setdefault((run["num_levels"], run["agent"]), []).append(run)
    return groups


def verdict(candidate: list[dict[str, Any]], baseline: list[dict[str, Any]], metric: str, timesteps: int) -> str:
    """
    The rule: "reproduced" only if mean(candidate) - mean(baseline) exceeds the larger of the two seed standard
    deviations (ddof 1), "not reproduced" otherwise; below the paper's 2M steps the verdict is always
    "not yet measured at full budget", followed by what the rule gives at this budget.
    """
    a_mean, a_std = _mean_std([run["final"][metric] for run in candidate])
    b_mean, b_std = _mean_std([run["final"][metric] for run in baseline])
    difference = a_mean - b_mean
    if len(candidate) < 2 or len(baseline) < 2:
        rule = f"difference {difference:+.2f}; undetermined (the rule needs >= 2 seeds per agent)"
    else:
        threshold = max(a_std, b_std)
        outcome = "reproduced" if difference > threshold else "not reproduced"
        rule = f"difference {difference:+.2f} vs larger seed std {threshold:.2f}: {outcome}"
    if timesteps < FULL_BUDGET:
        return f"**not yet measured at full budget** ({timesteps:,d} < {FULL_BUDGET:,d} steps; at this budget: {rule})"
    return f"**{rule.split(': ')[-1]}** ({rule})" if ": " in rule else f"**{rule}**"


def render_markdown(data: dict[str, Any], out: Path) -> str:
    settings = data["settings"]
    runs = data["runs"]
    groups = _groups(runs)
    timesteps = settings["timesteps"]
    env = data["environment"]
    hp = settings["hyperparameters"]
    png = out.with_suffix(".png").name
    lines = [
        f"## {data.get('title', DEFAULT_TITLE)}"
        + (" (quick pipeline check: numbers meaningless)" if settings.get("quick") else ""),
        "",
        f"FruitBot, {DISTRIBUTION_MODE} mode; training levels 0..N-1, test levels N..2N-1 (unseen). "
        f"{settings['n_envs']} environments, n_steps {hp['n_steps']}, {hp['n_epochs']} epochs, minibatch "
        f"{hp['batch_size']}, lr {hp['learning_rate']}, gamma {hp['gamma']}, GAE lambda {hp['gae_lambda']}, "
        f"clip {hp['clip_range']}, VecNormalize (rewards only), VecMonitor. Network: `{settings['policy']}` "
        f"({_network_text(runs)}). Budget: {timesteps:,d} steps per run (the paper: {FULL_BUDGET:,d}). "
        f"Machine: {env['machine']}, torch {env['torch']} ({settings.get('threads', env['torch_threads'])} thread(s) "
        f"per process), SB3 {env['stable_baselines3']}, sb3-maxent {env['sb3_maxent']}.",
        "",
    ]
    changed = settings.get("overrides", {})
    if settings.get("reward_norm_gamma") is not None:
        lines += [
            f"**Reward normalisation**: `VecNormalize` keeps its return statistics with discount "
            f"{settings['reward_norm_gamma']} (`--reward-norm-gamma`; default here: the algorithm's gamma "
            f"{hp['gamma']}).",
            "",
        ]
    if changed:
        lines += [
            "**Changed from the Procgen paper's PPO settings as this script sets them** (`--hyperparams`): "
            + ", ".join(
                f"`{key}` {value!r} (default here: {PPO_HYPERPARAMS.get(key, 'the SB3 default')!r})"
                for key, value in changed.items()
            )
            + ".",
            "",
        ]
    lines += [
        f"Returns are raw FruitBot rewards. *Train return*: mean of the last 100 training episodes "
        f"(VecMonitor) at the end of training. *Test return* / *train-level return*: {settings['eval_episodes']} "
        f"episodes on the unseen test levels / on the training levels with the trained policy, "
        f"{settings['eval_policy']}. Mean ± std over seeds (std with ddof 1). *Entropy*: mean policy entropy "
        "(nats) over the states of the last rollout, the same computation for every agent; *pinned*: runs whose "
        f"final entropy exceeds {PINNED_ENTROPY} nats (uniform over 15 actions: {math.log(15):.3f}), a policy that "
        "learned nothing.",
        "",
    ]
    if not runs:
        lines += ["No finished run yet.", ""]
    for num_levels in sorted({key[0] for key in groups}):
        lines += [
            f"**{num_levels} training levels** (test levels {num_levels}-{2 * num_levels - 1})",
            "",
        ]
        rows = []
        for (levels, agent), group in groups.items():
            if levels != num_levels:
                continue
            cells = [agent_spec(agent)["label"], str(len(group))]
            for metric in ("train_return_last100", "test_return", "train_levels_return", "entropy"):
                cells.append(_fmt(*_mean_std([run["final"][metric] for run in group])))
            cells.append(f"{sum(run['final']['entropy'] > PINNED_ENTROPY for run in group)}/{len(group)}")
            cells.append(f"{int(np.mean([run['timesteps'] for run in group])):,d}")
            cells.append(f"{np.mean([run['frames_per_s'] for run in group]):.0f}")
            rows.append(cells)
        header = [
            "agent", "seeds", "train return", "test return", "train-level return", "entropy", "pinned", "steps",
            "frames/s",
        ]  # fmt: skip
        lines += [*harness.md_table(header, rows, align="lrrrrrrrr"), ""]
        lines += _best_coefficients(groups, num_levels)
        for (levels, candidate), group in groups.items():
            if levels != num_levels or candidate == BASELINE or (num_levels, BASELINE) not in groups:
                continue
            claim = f"{agent_spec(candidate)['label']} beats {agent_spec(BASELINE)['label']}"
            for metric, name in (("test_return", "test return"), ("train_return_last100", "train return")):
                result = verdict(group, groups[num_levels, BASELINE], metric, timesteps)
                lines.append(f'- Claim "{claim}", {name}: {result}.')
        lines.append("")
    if runs:
        wall = sum(run["wall_s"] for run in runs)
        lines += [f"Compute: {len(runs)} runs, {wall / 3600:.2f} h of process wall time (evaluations included).", ""]
    lines += [
        "Verdict rule: a claim is *reproduced* only if the difference of the means (candidate minus PPO with "
        "ent_coef 0.01) exceeds the larger of the two seed standard deviations, *not reproduced* otherwise; "
        f"a comparison of runs shorter than the paper's {FULL_BUDGET:,d} steps is *not yet measured at full "
        "budget* (the brackets give what the rule says at the budget that was run).",
        "",
        f"![FruitBot curves]({png})",
        "",
        PUBLISHED_COMPARISON.strip(),
        "",
        "Commands that produced these results (the PNG and this section are re-drawn from the JSON with "
        f"`python benchmarks/fruitbot_paper.py --report --out {_relative(out)}`):",
        "",
        "```bash",
        *data.get("commands", []),
        "```",
        "",
    ]
    return "\n".join(lines)


def _best_coefficients(groups: dict[tuple[int, str], list[dict[str, Any]]], num_levels: int) -> list[str]:
    """For every agent kind run at two or more coefficients: the best one by mean train return (the sweep's rule)."""
    by_kind: dict[str, list[tuple[float, str]]] = {}
    for (levels, agent), group in groups.items():
        if levels == num_levels and len(group) >= 2:
            train = float(np.mean([run["final"]["train_return_last100"] for run in group]))
            by_kind.setdefault(agent.partition(":")[0], []).append((train, agent))
    lines = []
    for kind, results in by_kind.items():
        if len(results) >= 2:
            train, best = max(results)
            coefficients = ", ".join(agent.partition(":")[2] for _, agent in sorted(results, key=lambda r: r[1]))
            lines.append(
                f"- Sweep of `{kind}` over {{{coefficients}}} (2+ seeds each): best by mean train return: "
                f"**`{best}`** ({train:.2f})."
            )
    return [*lines, ""] if lines else []


def _network_text(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return "no run yet"
    network = runs[0]["network"]
    return (
        f"{network['policy_class']}, {network['features_extractor']} ({network['features_dim']} features), "
        f"linear heads, {network['parameters']:,d} parameters"
    )


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _band(runs: list[dict[str, Any]], curve: str, x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and std over runs of one curve, on the time grid of the shortest run (linear interpolation)."""
    series = []
    for run in runs:
        if curve == "checkpoints":  # a list of points
            x = np.array([point[x_key] for point in run[curve]], dtype=float)
            y = np.array([point[y_key] for point in run[curve]], dtype=float)
        else:  # a dict of lists
            x = np.asarray(run[curve][x_key], dtype=float)
            y = np.asarray([np.nan if v is None else v for v in run[curve][y_key]], dtype=float)
        series.append((x, y))
    grid = min((x for x, _ in series), key=lambda x: x[-1] if len(x) else 0.0)
    values = np.array([np.interp(grid, x, y) for x, y in series])
    std = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(len(grid))
    return grid, values.mean(axis=0), std


def render_png(data: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = _groups(data["runs"])
    levels = sorted({key[0] for key in groups}) or [0]
    fig, axes = plt.subplots(len(levels), 3, figsize=(15, 3.8 * len(levels)), squeeze=False)
    agents = sorted({run["agent"] for run in data["runs"]}, key=agent_order)
    colors = {agent: plt.get_cmap("tab10")(index % 10) for index, agent in enumerate(agents)}
    for row, num_levels in enumerate(levels):
        ax_train, ax_test, ax_entropy = axes[row]
        for (group_levels, agent), group in groups.items():
            if group_levels != num_levels:
                continue
            label = f"{agent_spec(agent)['label']} (n={len(group)})"
            color = colors[agent]
            panels = (
                (ax_train, "train_curve", "timesteps", "ep_return_mean100", "-", label),
                (ax_test, "checkpoints", "timesteps", "test_return_mean", "-o", label),
                (ax_test, "checkpoints", "timesteps", "train_levels_return_mean", ":", None),
                (ax_entropy, "entropy_curve", "timesteps", "entropy", "-", label),
            )
            for ax, curve, x_key, y_key, style, curve_label in panels:
                x, mean, std = _band(group, curve, x_key, y_key)
                ax.plot(x, mean, style, color=color, label=curve_label, markersize=3)
                if style != ":":
                    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2)
        ax_train.set_title(f"{num_levels} levels: train return (last 100 episodes)")
        ax_test.set_title(f"{num_levels} levels: test return, unseen levels (dotted: training levels)")
        ax_entropy.set_title(f"{num_levels} levels: policy entropy (nats)")
        for ax in axes[row]:
            ax.set_xlabel("environment steps")
            ax.grid(alpha=0.3)
        ax_train.legend(fontsize=8)
    budget = data["settings"]["timesteps"]
    network = data["runs"][0]["network"]["features_extractor"] if data["runs"] else data["settings"]["policy"]
    fig.suptitle(f"FruitBot (easy), {network} policy, {budget:,d} steps per run; mean ± std over seeds")
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=110)
    plt.close(fig)


def render_report(out: Path) -> None:
    data = load_results(out)
    if not data:
        raise SystemExit(f"No results in {out}")
    render_png(data, out)
    harness.write_text(out.with_suffix(".md"), render_markdown(data, out))
    print(f"wrote {_relative(out.with_suffix('.png'))} and {_relative(out.with_suffix('.md'))}", flush=True)


# ----------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--timesteps", type=int, default=None, help="steps per run (default: the paper's 2M)")
    parser.add_argument("--num-levels", type=int, nargs="+", default=[500], help="training level counts")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0 1 2")
    parser.add_argument(
        "--agents",
        nargs="+",
        type=parse_agent,
        default=[parse_agent(name) for name in DEFAULT_AGENTS],
        metavar="KIND:COEF",
        help=f"agents, run in this order: KIND:COEF with KIND one of {', '.join(AGENT_KINDS)} (COEF: ent_coef for "
        f"ppo, beta otherwise), or {', '.join(f'{k} ({v})' for k, v in AGENT_ALIASES.items())}; default: "
        + " ".join(DEFAULT_AGENTS),
    )
    parser.add_argument(
        "--policy",
        choices=list(POLICIES),
        default=None,
        help="cnn: SB3's NatureCNN CnnPolicy; impala: ImpalaCnnPolicy (the paper's, with its Glorot-uniform "
        "layers; default, cnn with --quick); impala_glorot: the same, named explicitly; impala_ortho: "
        "ImpalaCnnPolicy with SB3's orthogonal init on every layer (the first IMPALA anchor's)",
    )
    parser.add_argument(
        "--hyperparams",
        nargs="+",
        default=[],
        metavar="KEY:VALUE",
        help="change the Procgen paper's PPO settings for a test of one difference (e.g. vf_coef:0.25): recorded in "
        "the JSON's settings, so a run with other values needs its own --out",
    )
    parser.add_argument(
        "--reward-norm-gamma",
        type=float,
        default=None,
        metavar="GAMMA",
        help="discount of VecNormalize's return statistics, by which rewards are scaled (default: the algorithm's "
        "gamma, as rl-zoo; openai/baselines' Procgen set-up keeps VecNormalize's 0.99): recorded in the JSON's "
        "settings, so a run with another value needs its own --out",
    )
    parser.add_argument("--eval-every", type=int, default=None, help="steps between evaluations (default 100,000)")
    parser.add_argument(
        "--eval-episodes", type=int, default=None, help="episodes per evaluation, test and train (default 128)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (and procgen threads) per process")
    parser.add_argument("--device", default="cpu", help="torch device of the networks: cpu, cuda, cuda:1, ...")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON (PNG and markdown beside it)")
    parser.add_argument(
        "--title", default=None, help=f"heading of the markdown, kept in the JSON (default: {DEFAULT_TITLE!r})"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="add to an existing --out: skip its finished runs, continue interrupted ones from their last checkpoint",
    )
    parser.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=None,
        help="where runs keep their latest checkpoint (default: checkpoints/<out name>/ beside --out)",
    )
    parser.add_argument(
        "--keep-checkpoints", action="store_true", help="keep a run's last checkpoint after it finishes"
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=0,
        metavar="STEPS",
        help="also save a resume checkpoint every STEPS steps between evaluation points (rounded up to the next "
        "rollout; 0: at evaluation points only, the default). It does not change the run's results",
    )
    parser.add_argument(
        "--stop-after-checkpoints",
        type=int,
        default=None,
        metavar="N",
        help="stop each run after saving N checkpoints, as if interrupted (to test --resume)",
    )
    harness.add_run_arguments(
        parser,
        "tiny smoke run (1-2 min), writes *_quick.json; small vectors and budget unless given explicitly",
        report_help="only re-draw the PNG and markdown from --out",
    )
    args = parser.parse_args(argv)
    if args.quick:
        if not args.out.stem.endswith("_quick"):
            args.out = args.out.with_name(f"{args.out.stem}_quick{args.out.suffix}")
        args.policy = args.policy or "cnn"
    quick_budget = {key: QUICK[key] for key in FULL}
    vars(args).update(harness.budget(FULL, quick_budget, args.quick, **{key: getattr(args, key) for key in FULL}))
    args.policy = args.policy or "impala"
    if args.checkpoint_dir is None:
        args.checkpoint_dir = args.out.parent / "checkpoints" / args.out.stem
    if args.stop_after_checkpoints is not None and args.stop_after_checkpoints < 1:
        parser.error("--stop-after-checkpoints must be >= 1")
    try:
        apply_overrides(PPO_HYPERPARAMS, args.hyperparams)
    except ValueError as error:
        parser.error(str(error))
    if args.reward_norm_gamma is not None and not 0.0 < args.reward_norm_gamma < 1.0:
        parser.error(
            f"--reward-norm-gamma must be a discount strictly between 0 and 1 (e.g. 0.99, VecNormalize's default), "
            f"got {args.reward_norm_gamma}"
        )
    if args.checkpoint_every < 0:
        parser.error(
            f"--checkpoint-every must be a number of steps >= 0 (0: at evaluation points only), "
            f"got {args.checkpoint_every}"
        )
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    out: Path = args.out
    if args.report:
        with locked(out):
            if args.title:
                data = load_results(out)
                data["title"] = args.title
                write_json(out, data)
            render_report(out)
        return

    th.set_num_threads(args.threads)
    check_against_zoo_configs()
    hyperparams = dict(PPO_HYPERPARAMS)
    n_envs = N_ENVS
    if args.quick:
        hyperparams.update(n_steps=QUICK["n_steps"], batch_size=QUICK["batch_size"])
        n_envs = QUICK["n_envs"]
    overrides = apply_overrides({}, args.hyperparams)
    hyperparams.update(overrides)
    command = shlex.join(["python", "benchmarks/fruitbot_paper.py", *(sys.argv[1:] if argv is None else argv)])
    settings = {
        "timesteps": args.timesteps,
        "policy": args.policy,
        "n_envs": n_envs,
        "hyperparameters": hyperparams,
        "overrides": overrides,
        "reward_norm_gamma": args.reward_norm_gamma,
        "eval_every": args.eval_every,
        "eval_episodes": args.eval_episodes,
        "eval_policy": EVAL_POLICY,
        "distribution_mode": DISTRIBUTION_MODE,
        "quick": args.quick,
        "threads": args.threads,
        "command": command,
    }
    environment = environment_info(args.threads, args.device)

    with locked(out):
        data = load_results(out)
        if data and not args.resume:
            if not args.quick:  # a smoke run starts over; a measurement is never overwritten
                raise SystemExit(f"{out} exists: pass --resume to add to it (skipping finished runs), or another --out")
            data = {}
        merge_header(data, settings, environment)
        if args.title:
            data["title"] = args.title
        write_json(out, data)
        done = {run_key(run) for run in data["runs"]}

    plan = [(agent, levels, seed) for levels in args.num_levels for seed in args.seeds for agent in args.agents]
    todo = [job for job in plan if f"{job[0]}|{job[1]}|{job[2]}" not in done]
    print(
        f"{len(plan)} runs planned, {len(plan) - len(todo)} already in {_relative(out)}, {len(todo)} to do "
        f"({args.timesteps:,d} steps each, policy {args.policy}, {args.threads} thread(s))",
        flush=True,
    )

    def save_partial(record: dict[str, Any]) -> None:
        with locked(out):
            data = load_results(out)
            data.setdefault("in_progress", {})[run_key(record)] = record
            write_json(out, data)

    for index, (agent, num_levels, seed) in enumerate(todo, start=1):
        print(f"[{index}/{len(todo)}] {agent}, {num_levels} levels, seed {seed}", flush=True)
        record = run_one(agent, num_levels, seed, args, settings, save_partial)
        if record is None:
            continue
        print(
            f"  done in {record['wall_s'] / 60:.1f} min ({record['frames_per_s']:.0f} frames/s training): "
            f"train return {record['final']['train_return_last100']:.2f}, test return "
            f"{record['final']['test_return']:.2f}",
            flush=True,
        )
        with locked(out):
            data = load_results(out)
            data["runs"] = [run for run in data["runs"] if run_key(run) != run_key(record)] + [record]
            data.get("in_progress", {}).pop(run_key(record), None)
            write_json(out, data)
            render_report(out)


if __name__ == "__main__":
    main()
