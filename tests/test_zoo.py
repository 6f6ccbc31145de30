"""rl-zoo integration: registration, packaged configurations, train / enjoy entry points, Optuna, pitfalls.

Most tests call the command line in-process (``sb3_maxent.zoo.cli.main``, the function behind the
``sb3-maxent`` script and ``python -m sb3_maxent.train``); the tests of the entry points themselves, of
the exit codes and of ``--storage`` with two worker processes run real subprocesses.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import optuna
import pytest
import yaml
from rl_zoo3.hyperparams_opt import HYPERPARAMS_CONVERTER, HYPERPARAMS_SAMPLER
from rl_zoo3.utils import ALGOS
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, VecTransposeImage

import sb3_maxent
from sb3_maxent import DiscreteSAC, MaxEntPPO
from sb3_maxent.common.schedules import ExponentialSchedule, LinearSchedule
from sb3_maxent.envs.procgen import procgen_install_hint
from sb3_maxent.soft_dqn import SoftDQN
from sb3_maxent.zoo import config_dir, config_path, packaged_algos, register_zoo
from sb3_maxent.zoo.cli import choose_config, main, small_replay_buffers_on_load
from sb3_maxent.zoo.exp_manager import (
    RL_ZOO_KEYS,
    MaxEntExperimentManager,
    convert_schedule_strings,
    resolve_policy_kwargs,
)

REPO = Path(__file__).resolve().parents[1]
HAS_PROCGEN = all(importlib.util.find_spec(name) is not None for name in ("procgen", "gym3"))
needs_procgen = pytest.mark.skipif(not HAS_PROCGEN, reason=f"FruitBot needs Procgen: {procgen_install_hint()}")

# Per-environment overrides that keep one training run to a few seconds (the shipped values otherwise)
TINY_RUN: dict[str, dict[type, list[str]]] = {
    "FruitBot-v0": {
        OnPolicyAlgorithm: ["n_envs:2", "n_steps:16", "batch_size:32"],
        OffPolicyAlgorithm: ["buffer_size:500", "learning_starts:32", "batch_size:8"],
    },
}
TINY_TIMESTEPS = {"FruitBot-v0": 64}


@pytest.fixture(autouse=True)
def _zoo_registered() -> None:
    register_zoo()  # what every command does first; tests that use ALGOS directly need it too


def _entries(algo: str) -> list[str]:
    path = config_path(algo)
    assert path is not None
    return list(yaml.safe_load(path.read_text()))


CONFIG_PAIRS = [(algo, env_id) for algo in packaged_algos() for env_id in _entries(algo)]


def zoo(*argv: str) -> int:
    """The ``sb3-maxent`` command, in-process."""
    return main(list(argv))


def run_module(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    """``python <args>`` in a subprocess with one thread, from the repository root."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600, **kwargs
    )


def model_path(folder: Path, algo: str, env_id: str, run: int = 1) -> Path:
    return folder / algo / f"{env_id}_{run}" / f"{env_id}.zip"


def tiny_train(folder: Path, algo: str, env_id: str, *extra: str, timesteps: int = 256) -> Path:
    """``sb3-maxent train`` with the packaged configuration, cut to a few seconds; returns the saved model."""
    family = OnPolicyAlgorithm if issubclass(ALGOS[algo], OnPolicyAlgorithm) else OffPolicyAlgorithm
    hyperparams = TINY_RUN.get(env_id, {}).get(family, [])
    argv = ["train", "--algo", algo, "--env", env_id, "-f", str(folder), "--seed", "0", "--eval-freq", "-1"]
    argv += ["-n", str(TINY_TIMESTEPS.get(env_id, timesteps)), "--verbose", "0"]
    if hyperparams:
        argv += ["--hyperparams", *hyperparams]
    assert zoo(*argv, *extra) == 0
    path = model_path(folder, algo, env_id)
    assert path.is_file()
    return path


# --------------------------------------------------------------------------------------------------
# Registration and configurations
# --------------------------------------------------------------------------------------------------
def test_register_zoo_is_idempotent() -> None:
    keys = register_zoo()
    tables = [dict(ALGOS), dict(HYPERPARAMS_SAMPLER), dict(HYPERPARAMS_CONVERTER)]
    assert (
        register_zoo()
        == keys
        == [
            "discrete_sac",
            "maxent_a2c",
            "maxent_ppo",
            "maxent_ppo_mask",
            "maxent_trpo",
            "soft_dqn",
        ]
    )
    assert [dict(ALGOS), dict(HYPERPARAMS_SAMPLER), dict(HYPERPARAMS_CONVERTER)] == tables
    assert ALGOS["maxent_ppo"] is MaxEntPPO
    assert ALGOS["soft_dqn"] is SoftDQN
    assert ALGOS["discrete_sac"] is DiscreteSAC
    for key in keys:
        assert key in HYPERPARAMS_SAMPLER
        assert key in HYPERPARAMS_CONVERTER


def test_packaged_configurations_cover_every_algorithm_and_environment() -> None:
    assert config_dir().samefile(REPO / "zoo_configs")
    assert packaged_algos() == [
        "discrete_sac",
        "dqn",
        "maxent_a2c",
        "maxent_ppo",
        "maxent_ppo_mask",
        "maxent_trpo",
        "ppo",
        "sac",
        "soft_dqn",
    ]
    discrete = ["FruitBot-v0", "GridWorld-v0", "GridWorldTwoGoals-v0"]
    expected = {
        "discrete_sac": ["CartPole-v1", *discrete],
        "maxent_ppo": [*discrete, "MultiGoal-v0"],
        "maxent_a2c": ["CartPole-v1", "GridWorld-v0"],
        "maxent_ppo_mask": ["CartPole-v1"],
        "maxent_trpo": ["CartPole-v1", "GridWorld-v0", "MultiGoal-v0"],
        "soft_dqn": discrete,
        "ppo": discrete,
        "dqn": discrete,
        "sac": ["MultiGoal-v0"],
    }
    assert {algo: sorted(_entries(algo)) for algo in packaged_algos()} == expected


@pytest.mark.parametrize(("algo", "env_id"), CONFIG_PAIRS)
def test_config_entries_are_valid_arguments(algo: str, env_id: str) -> None:
    """Every key is either an rl-zoo key or a constructor argument of the algorithm (catches typos)."""
    path = config_path(algo)
    assert path is not None
    entry = yaml.safe_load(path.read_text())[env_id]
    accepted = set(inspect.signature(ALGOS[algo].__init__).parameters) | RL_ZOO_KEYS
    assert set(entry) - accepted == set()
    assert isinstance(entry["n_timesteps"], float | int)
    assert env_id in gym.registry


@pytest.mark.parametrize("path", sorted((REPO / "zoo_configs").glob("*.yml")), ids=lambda path: path.name)
def test_every_config_value_says_where_it_comes_from(path: Path) -> None:
    """STYLE.md: a comment on every value; the values of a nested block may share the comment of its first line."""
    missing = []
    commented_blocks: list[int] = []  # indentation of the enclosing block lines that carry a comment
    for line in path.read_text().splitlines():
        match = re.match(r"^(\s+)[A-Za-z_<]\S*:", line)
        if match is None:
            continue
        indent = len(match[1])
        commented_blocks = [level for level in commented_blocks if level < indent]
        if "#" not in line and not commented_blocks:
            missing.append(line)
        if "#" in line and line.split("#")[0].rstrip().endswith(":"):
            commented_blocks.append(indent)
    assert missing == []


def test_choose_config() -> None:
    packaged = config_path("ppo")
    assert choose_config("ppo", "GridWorld-v0", None) == str(packaged)
    # rl_zoo3's own tuned file for the environments we do not configure
    assert choose_config("ppo", "CartPole-v1", None) is None
    # an explicit --conf-file wins
    assert choose_config("ppo", "GridWorld-v0", str(config_path("dqn"))) == str(config_path("dqn"))


# --------------------------------------------------------------------------------------------------
# Train then enjoy, for every (algorithm, environment) pair of the packaged configurations
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("algo", "env_id"),
    [
        pytest.param(algo, env_id, marks=needs_procgen) if env_id == "FruitBot-v0" else (algo, env_id)
        for algo, env_id in CONFIG_PAIRS
    ],
)
def test_train_then_enjoy(algo: str, env_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tiny_train(tmp_path, algo, env_id)
    saved = yaml.unsafe_load((path.parent / env_id / "config.yml").read_text())
    packaged = config_path(algo)
    assert packaged is not None
    assert saved["policy"] == yaml.safe_load(packaged.read_text())[env_id]["policy"]
    capsys.readouterr()

    rc = zoo("enjoy", "--algo", algo, "--env", env_id, "-f", str(tmp_path), "--no-render", "-n", "60")
    assert rc == 0
    assert f"Loading {path}" in capsys.readouterr().out

    model = ALGOS[algo].load(
        path, device="cpu", **({"buffer_size": 1} if algo in ("dqn", "soft_dqn", "sac", "discrete_sac") else {})
    )
    env = gym.make(env_id)
    observation, _ = env.reset(seed=0)
    action, _ = model.predict(observation, deterministic=True)
    assert env.action_space.contains(np.asarray(action).astype(env.action_space.dtype))
    env.close()


def test_entry_points_run_as_modules(tmp_path: Path) -> None:
    """`python -m sb3_maxent.train` / `python -m sb3_maxent.enjoy` / `python -m sb3_maxent.zoo.cli` (the script)."""
    common = ["--algo", "maxent_ppo", "--env", "GridWorld-v0", "-f", str(tmp_path)]
    train = run_module("-m", "sb3_maxent.train", *common, "-n", "256", "--seed", "1", "--eval-freq", "-1")
    assert train.returncode == 0, train.stderr
    assert f"Loading hyperparameters from: {config_path('maxent_ppo')}" in train.stdout
    assert model_path(tmp_path, "maxent_ppo", "GridWorld-v0").is_file()

    enjoy = run_module("-m", "sb3_maxent.enjoy", *common, "--no-render", "-n", "150")
    assert enjoy.returncode == 0, enjoy.stderr
    assert "Episodes" in enjoy.stdout
    assert "Success rate" in enjoy.stdout

    script = run_module("-m", "sb3_maxent.zoo.cli", "enjoy", *common, "--no-render", "-n", "10")
    assert script.returncode == 0, script.stderr


@needs_procgen
def test_no_entropy_ppo_is_an_override(tmp_path: Path) -> None:
    """The paper's PPO without entropy: the FruitBot ppo entry (ent_coef 0.01) with `--hyperparams ent_coef:0.0`."""
    packaged = config_path("ppo")
    assert packaged is not None
    assert yaml.safe_load(packaged.read_text())["FruitBot-v0"]["ent_coef"] == 0.01
    tiny = TINY_RUN["FruitBot-v0"][OnPolicyAlgorithm]
    path = tiny_train(tmp_path, "ppo", "FruitBot-v0", "--hyperparams", *tiny, "ent_coef:0.0")
    assert ALGOS["ppo"].load(path).ent_coef == 0.0


# --------------------------------------------------------------------------------------------------
# Optuna: samplers, converters, --storage with two workers, --trial-id
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "algo", ["maxent_ppo", "maxent_a2c", "maxent_ppo_mask", "maxent_trpo", "soft_dqn", "discrete_sac"]
)
def test_sampler_and_converter_agree(algo: str) -> None:
    """rl_zoo3 rebuilds a stored trial with the converter: it must give what the sampler gave."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    env = gym.make("GridWorld-v0")
    seen: set[Any] = set()
    for _ in range(30):
        trial = study.ask()
        sampled = HYPERPARAMS_SAMPLER[algo](trial, 0, 1, {"using_her_replay_buffer": False, "her_kwargs": {}})
        assert sampled == HYPERPARAMS_CONVERTER[algo](trial.params)
        seen.add(trial.params.get(SAMPLED_CHOICE[algo]))
        # every draw is accepted by the algorithm
        kwargs = {**sampled, "buffer_size": 100} if algo in ("soft_dqn", "discrete_sac") else sampled
        ALGOS[algo]("MlpPolicy", env, **kwargs)
        study.tell(trial, 0.0)
    assert seen == SAMPLED_CHOICES[algo]


# algorithm -> the categorical choice of its sampler that must take every value in 30 draws, and those values
SAMPLED_CHOICE = {
    "maxent_ppo": "maxent_mode",
    "maxent_a2c": "maxent_mode",
    "maxent_ppo_mask": "maxent_mode",
    "maxent_trpo": "maxent_mode",
    "soft_dqn": "temperature_schedule",
    "discrete_sac": "ent_coef_mode",
}
SAMPLED_CHOICES = {
    "maxent_ppo": {"one_step", "soft_return"},
    "maxent_a2c": {"soft_return"},
    "maxent_ppo_mask": {"one_step", "soft_return"},
    "maxent_trpo": {"one_step", "soft_return"},
    "soft_dqn": {"constant", "linear", "auto"},
    "discrete_sac": {"auto", "fixed"},
}

OPTIMIZE = ["-optimize", "--n-trials", "2", "-n", "256", "--n-evaluations", "1", "--eval-episodes", "2"]
OPTIMIZE += ["--sampler", "random", "--pruner", "none", "--no-optim-plots", "--hyperparams", "n_envs:2", "n_steps:64"]


@pytest.mark.parametrize("storage", ["journal", pytest.param("sqlite", marks=pytest.mark.slow)])
def test_two_workers_share_one_study(storage: str, tmp_path: Path) -> None:
    url = str(tmp_path / "study.log") if storage == "journal" else f"sqlite:///{tmp_path / 'study.db'}"
    if storage == "sqlite":
        # Two processes creating the tables of a new database at once collide: create the study first
        # (a journal file needs no set-up); `optuna create-study` does the same from the shell
        optuna.create_study(study_name="shared", storage=url, direction="maximize")
    common = ["-m", "sb3_maxent.train", "--algo", "maxent_ppo", "--env", "GridWorld-v0", "-f", str(tmp_path)]
    common += ["--storage", url, "--study-name", "shared", *OPTIMIZE]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    workers = [
        subprocess.Popen(
            [sys.executable, *common, "--seed", str(seed)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr
        # each worker ran its own 2 trials (Optuna logs them on stderr) ...
        assert len(re.findall(r"Trial \d+ finished", stderr)) == 2
    # ... into the same study: 4 trials, numbered 0-3 across both workers
    backend: Any = (
        optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(url)) if storage == "journal" else url
    )
    study = optuna.load_study(study_name="shared", storage=backend)
    assert sorted(trial.number for trial in study.trials) == [0, 1, 2, 3]
    assert all(trial.state == optuna.trial.TrialState.COMPLETE for trial in study.trials)
    assert {"maxent_coef", "maxent_mode", "maxent_grad", "learning_rate"} <= set(study.trials[0].params)

    # Train with a stored trial (HYPERPARAMS_CONVERTER); trial 0 too, which rl_zoo3 itself skips
    for number in (0, 3):
        folder = tmp_path / f"trial_{number}"
        path = tiny_train(folder, "maxent_ppo", "GridWorld-v0", "--storage", url, "--study-name", "shared",
                          "--trial-id", str(number))  # fmt: skip
        model = MaxEntPPO.load(path)
        params = study.trials[number].params
        assert callable(model.maxent_coef)
        assert model.maxent_coef(1.0) == pytest.approx(params["maxent_coef"])
        assert (model.maxent_mode, model.maxent_grad) == (params["maxent_mode"], params["maxent_grad"])
        assert model.lr_schedule(1.0) == pytest.approx(params["learning_rate"])


def test_optimize_makes_no_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """rl_zoo3 makes an empty `<env>_<n>` run folder for every -optimize worker; `enjoy` (latest run by default)
    then finds no agent in it. Ours makes none: the next training is run 1, and enjoy loads it."""
    # one short SoftDQN trial: 256 steps, a few hundred updates at most whatever the sampler draws
    argv = ["train", "--algo", "soft_dqn", "--env", "GridWorld-v0", "-f", str(tmp_path), "--seed", "0", "-optimize"]
    argv += ["--n-trials", "1", "-n", "256", "--n-evaluations", "1", "--eval-episodes", "2", "--sampler", "random"]
    assert zoo(*argv, "--pruner", "none", "--no-optim-plots") == 0
    assert [path.name for path in (tmp_path / "soft_dqn").iterdir() if path.is_dir()] == []
    assert len(list((tmp_path / "soft_dqn").glob("report_GridWorld-v0_*.csv"))) == 1

    path = tiny_train(tmp_path, "soft_dqn", "GridWorld-v0")
    assert path == model_path(tmp_path, "soft_dqn", "GridWorld-v0", run=1)
    capsys.readouterr()
    enjoy = ["enjoy", "--algo", "soft_dqn", "--env", "GridWorld-v0", "-f", str(tmp_path), "--no-render", "-n", "9"]
    assert zoo(*enjoy) == 0
    assert f"Loading {path}" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------------
# Pitfalls of rl_zoo3 with new algorithms
# --------------------------------------------------------------------------------------------------
def test_enjoy_does_not_allocate_the_replay_buffer(tmp_path: Path) -> None:
    """rl_zoo3's enjoy passes buffer_size=1 only to a hard-coded list of algorithms, SoftDQN is not in it."""
    path = tiny_train(tmp_path, "soft_dqn", "GridWorld-v0")
    model = SoftDQN.load(path)
    model.buffer_size = 2**42  # a replay buffer no machine can hold (about 10^14 observations)
    model.save(path)
    with pytest.raises(MemoryError):
        SoftDQN.load(path)  # what rl_zoo3's enjoy would do without our loader

    with small_replay_buffers_on_load():
        loaded = ALGOS["soft_dqn"].load(path)
    assert type(loaded) is SoftDQN
    assert loaded.replay_buffer is not None
    assert loaded.replay_buffer.buffer_size == 1
    assert ALGOS["soft_dqn"] is SoftDQN  # restored

    rc = zoo("enjoy", "--algo", "soft_dqn", "--env", "GridWorld-v0", "-f", str(tmp_path), "--no-render", "-n", "20")
    assert rc == 0


def test_tensorboard_log_has_our_keys(tmp_path: Path) -> None:
    """rl-zoo's -tb (TensorBoard is in the zoo extra): the event file holds MaxEntPPO's train/maxent_coef."""
    pytest.importorskip("tensorboard", reason="TensorBoard is not installed: pip install 'sb3-maxent[zoo]'")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    # 4 rollouts of 2 x 32 steps: SB3 writes the train/ values of an update with the next rollout's
    tiny_train(tmp_path, "maxent_ppo", "GridWorld-v0", "-tb", str(tmp_path / "tb"), "--hyperparams", "n_envs:2",
               "n_steps:32", "batch_size:32")  # fmt: skip
    (events,) = (tmp_path / "tb").rglob("events.out.tfevents.*")
    accumulator = EventAccumulator(str(events))
    accumulator.Reload()
    scalars = accumulator.Tags()["scalars"]
    assert {"train/maxent_coef", "train/maxent_bonus", "rollout/ep_rew_mean"} <= set(scalars)
    assert accumulator.Scalars("train/maxent_coef")[-1].value == pytest.approx(0.01)  # zoo_configs/maxent_ppo.yml


def test_schedule_strings_are_converted_for_our_keys(tmp_path: Path) -> None:
    converted = convert_schedule_strings(
        {"maxent_coef": "lin_0.3", "temperature": "exp_0.5_0.005", "learning_rate": "lin_1e-3"}
    )
    assert isinstance(converted["maxent_coef"], LinearSchedule)
    assert (converted["maxent_coef"](1.0), converted["maxent_coef"](0.0)) == (0.3, 0.0)
    assert isinstance(converted["temperature"], ExponentialSchedule)
    assert converted["temperature"](0.0) == pytest.approx(0.005)
    assert converted["learning_rate"] == "lin_1e-3"  # rl_zoo3's own keys are rl_zoo3's business
    assert convert_schedule_strings({"temperature": "auto"}) == {"temperature": "auto"}
    assert convert_schedule_strings({"temperature": "lin_0.5_0.01"})["temperature"](0.0) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="lin_<start>"):
        convert_schedule_strings({"maxent_coef": "lin_abc"})

    # Through the command line, for both algorithms
    path = tiny_train(tmp_path, "maxent_ppo", "GridWorld-v0", "--hyperparams", "maxent_coef:'lin_0.3'")
    maxent_coef = MaxEntPPO.load(path).maxent_coef
    assert callable(maxent_coef)
    assert (maxent_coef(1.0), maxent_coef(0.0)) == (0.3, 0.0)
    path = tiny_train(tmp_path, "soft_dqn", "GridWorld-v0", "--hyperparams", "temperature:'exp_0.5_0.005'")
    schedule = SoftDQN.load(path, buffer_size=1).temperature_schedule
    assert schedule is not None
    assert schedule(0.0) == pytest.approx(0.005)


def test_policy_kwargs_resolve_our_classes() -> None:
    from torch import nn

    from sb3_maxent.common.torch_layers import ImpalaCnn

    as_mapping = resolve_policy_kwargs({"features_extractor_class": "ImpalaCnn", "activation_fn": "nn.ReLU"})
    assert as_mapping == {"features_extractor_class": ImpalaCnn, "activation_fn": nn.ReLU}
    dotted = resolve_policy_kwargs({"features_extractor_class": "sb3_maxent.common.torch_layers.ImpalaCnn"})
    assert dotted["features_extractor_class"] is ImpalaCnn
    # rl-zoo's string form, where rl_zoo3 alone would raise NameError on ImpalaCnn
    as_string = resolve_policy_kwargs("dict(features_extractor_class=ImpalaCnn, net_arch=[], activation_fn=nn.Tanh)")
    assert as_string == {"features_extractor_class": ImpalaCnn, "net_arch": [], "activation_fn": nn.Tanh}
    with pytest.raises(ValueError, match="dotted path"):
        resolve_policy_kwargs({"features_extractor_class": "NoSuchExtractor"})


@needs_procgen
def test_policy_kwargs_string_with_our_extractor_trains(tmp_path: Path) -> None:
    path = tiny_train(
        tmp_path,
        "ppo",
        "FruitBot-v0",
        "--hyperparams",
        "policy:'CnnPolicy'",
        "policy_kwargs:'dict(features_extractor_class=ImpalaCnn, net_arch=[])'",
        *TINY_RUN["FruitBot-v0"][OnPolicyAlgorithm],
    )
    from sb3_maxent.common.torch_layers import ImpalaCnn

    assert isinstance(ALGOS["ppo"].load(path).policy.features_extractor, ImpalaCnn)


@needs_procgen
def test_fruitbot_uses_the_native_vec_env(tmp_path: Path) -> None:
    from sb3_maxent.envs.procgen import ProcgenVecEnv

    config = config_path("ppo")
    manager = MaxEntExperimentManager(
        args=argparse.Namespace(),
        algo="ppo",
        env_id="FruitBot-v0",
        log_folder=str(tmp_path),
        hyperparams={"n_envs": 2, "n_steps": 16, "batch_size": 32},
        eval_freq=-1,
        config=None if config is None else str(config),
        seed=0,
        verbose=0,
    )
    results = manager.setup_experiment()
    assert results is not None
    model, _ = results
    env = model.get_env()
    assert isinstance(env, VecTransposeImage)
    normalize = env.venv
    assert isinstance(normalize, VecNormalize)
    assert normalize.norm_reward
    assert not normalize.norm_obs
    inner: VecEnv = normalize.venv
    while not isinstance(inner, ProcgenVecEnv):
        inner = inner.venv  # type: ignore[attr-defined]
    assert inner.num_envs == 2
    model.learn(64)
    env.close()
    assert (Path(manager.save_path) / "procgen.monitor.csv").is_file()


# --------------------------------------------------------------------------------------------------
# Errors: one line on stderr, exit code 2
# --------------------------------------------------------------------------------------------------
ERRORS = {
    "unknown algorithm": (["train", "--algo", "foo", "--env", "GridWorld-v0"], "unknown algorithm 'foo'"),
    "unknown environment": (["train", "--algo", "maxent_ppo", "--env", "GridWorld-v9"], "did you mean"),
    "no config entry": (["train", "--algo", "maxent_ppo", "--env", "CartPole-v1"], "no maxent_ppo hyperparameters"),
    "config not found": (["train", "--algo", "ppo", "--env", "GridWorld-v0", "--conf-file", "nope.yml"], "not found"),
    "enjoy without agent": (["enjoy", "--algo", "soft_dqn", "--env", "GridWorld-v0", "-f", "nowhere"], "not found"),
    "unknown command": (["tain", "--algo", "ppo"], "unknown command 'tain'"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_are_one_line(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv, message = ERRORS[case]
    assert zoo(*argv) == 2
    stderr = capsys.readouterr().err
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith("sb3-maxent")
    assert message in stderr


@pytest.mark.parametrize("command", ["train", "enjoy"])
def test_procgen_missing_is_one_line(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "procgen", None)  # what find_spec sees when procgen is not installed
    assert zoo(command, "--algo", "ppo", "--env", "FruitBot-v0") == 2
    stderr = capsys.readouterr().err
    assert len(stderr.splitlines()) == 1, stderr
    assert procgen_install_hint() in stderr


MISSING_EXTRAS = {
    "tensorboard": (["train", "--algo", "ppo", "--env", "GridWorld-v0", "-tb", "tb"], "pip install 'sb3-maxent[zoo]'"),
    "wandb": (["train", "--algo", "ppo", "--env", "GridWorld-v0", "--track"], "pip install wandb"),
    "pygame": (["enjoy", "--algo", "ppo", "--env", "GridWorld-v0", "-f", "nowhere"], "or pass --no-render"),
}


@pytest.mark.parametrize("module", sorted(MISSING_EXTRAS))
def test_missing_extra_is_one_line(
    module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """-tb, --track and rendering in enjoy name what to install, before rl_zoo3 starts."""
    monkeypatch.setitem(sys.modules, module, None)  # what find_spec sees when the module is not installed
    argv, fix = MISSING_EXTRAS[module]
    assert zoo(*argv) == 2
    stderr = capsys.readouterr().err
    assert len(stderr.splitlines()) == 1, stderr
    assert module in stderr.lower()
    assert fix in stderr


MISSPELT = {
    # algorithm: (misspelt key, the key meant)
    "maxent_ppo": ("maxent_coeff", "maxent_coef"),
    "soft_dqn": ("temprature", "temperature"),
    "discrete_sac": ("ent_coeff", "ent_coef"),
    "ppo": ("n_env", "n_envs"),  # an rl-zoo key
}


@pytest.mark.parametrize("source", ["--hyperparams", "conf-file"])
@pytest.mark.parametrize("algo", sorted(MISSPELT))
def test_misspelt_hyperparameter_is_one_line(
    algo: str, source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key the algorithm does not take: one line with the key, the algorithm and the closest valid key, exit
    code 2, before any folder, environment or model is made (rl_zoo3 alone ends in a TypeError traceback)."""
    key, meant = MISSPELT[algo]
    argv = ["train", "--algo", algo, "--env", "GridWorld-v0", "-f", str(tmp_path / "logs"), "-n", "64"]
    if source == "--hyperparams":
        argv += ["--hyperparams", f"{key}:1"]
    else:
        packaged = config_path(algo)
        assert packaged is not None
        entries = yaml.safe_load(packaged.read_text())
        (tmp_path / "typo.yml").write_text(yaml.safe_dump({"GridWorld-v0": {**entries["GridWorld-v0"], key: 1}}))
        argv += ["--conf-file", str(tmp_path / "typo.yml")]
    assert zoo(*argv) == 2
    stderr = capsys.readouterr().err
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith("sb3-maxent train: error: unknown hyperparameter")
    assert f"{key!r} for {algo} in {source if source == '--hyperparams' else tmp_path / 'typo.yml'}" in stderr
    assert f"did you mean {meant!r}?" in stderr
    assert not (tmp_path / "logs").exists()


def test_command_line_argument_in_config_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert zoo("train", "--algo", "ppo", "--env", "GridWorld-v0", "--hyperparams", "seed:3") == 2
    assert capsys.readouterr().err.endswith(
        "'seed' in --hyperparams is set by rl-zoo's command line (--seed): remove it\n"
    )


def test_error_exit_code_of_the_entry_point() -> None:
    result = run_module("-m", "sb3_maxent.train", "--algo", "foo", "--env", "GridWorld-v0")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("sb3-maxent train: error: unknown algorithm 'foo'")


# --------------------------------------------------------------------------------------------------
# Packaging: the configurations and the console script ship in the wheel
# --------------------------------------------------------------------------------------------------
def test_wheel_ships_configs_and_console_script(tmp_path: Path) -> None:
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("building the wheel needs setuptools in the environment")
    result = run_module(
        "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir", str(REPO), "-w", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("sb3_maxent-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(name for name in names if name.endswith("entry_points.txt"))
        assert "sb3-maxent = sb3_maxent.zoo.cli:main" in archive.read(entry_points).decode()
        for yml in (REPO / "zoo_configs").glob("*.yml"):
            assert archive.read(f"sb3_maxent/zoo/configs/{yml.name}") == yml.read_bytes()
    assert sb3_maxent.__version__ in wheel.name

    # Installed from the wheel (no repository around it), the package finds its own copy of the files
    target = tmp_path / "site"
    result = run_module("-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target), str(wheel))
    assert result.returncode == 0, result.stderr
    probe = "import sb3_maxent.zoo as zoo; print(zoo.config_path('maxent_ppo'))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == target / "sb3_maxent" / "zoo" / "configs" / "maxent_ppo.yml"
