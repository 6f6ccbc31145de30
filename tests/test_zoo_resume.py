"""``sb3-maxent train --resume-freq`` / ``--resume``: a run cut between two checkpoints and resumed ends exactly as
the same run left alone (weights, monitor files, evaluations, normalisation statistics), and the mistakes a user
can make with the two options get one line and exit code 2."""

from __future__ import annotations

import csv
import importlib.util
import pickle
from pathlib import Path
from typing import Any

import filelock
import numpy as np
import pytest
import torch as th
from rl_zoo3.utils import ALGOS
from stable_baselines3.common.vec_env import VecNormalize

from sb3_maxent.envs.procgen import procgen_install_hint
from sb3_maxent.zoo import register_zoo
from sb3_maxent.zoo.cli import main
from sb3_maxent.zoo.resume import LATEST, LOCK_FILE, RESUME_FOLDER, ResumeCheckpointCallback, latest_checkpoint

HAS_PROCGEN = all(importlib.util.find_spec(name) is not None for name in ("procgen", "gym3"))
needs_procgen = pytest.mark.skipif(not HAS_PROCGEN, reason=f"FruitBot needs Procgen: {procgen_install_hint()}")

# (algo, env, steps, resume freq, interruption: steps after the first checkpoint, extra arguments). Each run
# takes a few seconds; the interruption falls between two checkpoints, so that the resumed run must also
# take back what the cut run wrote after its checkpoint (monitor rows, evaluations).
CASES = [
    # off-policy, per-env Monitor in a DummyVecEnv, evaluations every 500 steps, learning from 1000 steps (the
    # checkpoint at 1500 comes after the first draws from NumPy's generator: minibatches, Boltzmann samples)
    pytest.param(
        "soft_dqn", "GridWorld-v0", 4000, 1500, 700, ["--eval-freq", "500", "--eval-episodes", "2"], id="soft_dqn"
    ),
    # on-policy with VecNormalize (observation and reward statistics, running returns), 4 environments
    pytest.param(
        "maxent_ppo",
        "MultiGoal-v0",
        4096,
        1500,
        700,
        ["--hyperparams", "normalize:True", "n_steps:256"],
        id="maxent_ppo-normalize",
    ),
    # image observations: native ProcgenVecEnv, VecMonitor, VecTransposeImage, replay buffer of frames
    pytest.param(
        "discrete_sac",
        "FruitBot-v0",
        256,
        100,
        60,
        ["--hyperparams", "buffer_size:500", "learning_starts:32", "batch_size:8"],
        id="discrete_sac-fruitbot",
        marks=needs_procgen,
    ),
]


@pytest.fixture(autouse=True)
def _zoo_registered() -> None:
    register_zoo()


def train(folder: Path, algo: str, env_id: str, steps: int, *extra: str) -> int:
    argv = ["train", "--algo", algo, "--env", env_id, "-n", str(steps), "--seed", "3", "-f", str(folder)]
    return main([*argv, "--verbose", "0", *extra])


def monitor_rows(run: Path) -> list[dict[str, str]]:
    """Every monitor row of a run without its wall-clock column."""
    rows: list[dict[str, str]] = []
    for path in sorted(run.glob("*monitor.csv")):
        with open(path) as handle:
            handle.readline()  # JSON header
            rows += [{key: value for key, value in row.items() if key != "t"} for row in csv.DictReader(handle)]
    return rows


def interrupt(monkeypatch: pytest.MonkeyPatch, after: int) -> list[int]:
    """Make the next run raise KeyboardInterrupt (Ctrl-C) ``after`` steps past its first checkpoint."""
    saved: list[int] = []
    save, step = ResumeCheckpointCallback.save, ResumeCheckpointCallback._on_step

    def save_and_note(self: ResumeCheckpointCallback) -> Path:
        saved.append(self.model.num_timesteps)
        return save(self)

    def on_step(self: ResumeCheckpointCallback) -> bool:
        if saved and self.model.num_timesteps >= saved[0] + after:
            raise KeyboardInterrupt
        return step(self)

    monkeypatch.setattr(ResumeCheckpointCallback, "save", save_and_note)
    monkeypatch.setattr(ResumeCheckpointCallback, "_on_step", on_step)
    return saved


def load(run: Path, algo: str, env_id: str) -> Any:
    kwargs = {"buffer_size": 1} if algo in ("soft_dqn", "discrete_sac") else {}
    return ALGOS[algo].load(run / f"{env_id}.zip", device="cpu", **kwargs)


@pytest.mark.parametrize(("algo", "env_id", "steps", "freq", "after", "extra"), CASES)
def test_resumed_run_equals_uninterrupted_run(
    algo: str,
    env_id: str,
    steps: int,
    freq: int,
    after: int,
    extra: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resume = ["--resume-freq", str(freq)]
    assert train(tmp_path / "straight", algo, env_id, steps, *resume, *extra) == 0
    straight = tmp_path / "straight" / algo / f"{env_id}_1"
    assert not (straight / RESUME_FOLDER).exists()  # a finished run keeps no checkpoint

    with monkeypatch.context() as patch:
        saved = interrupt(patch, after)
        assert train(tmp_path / "cut", algo, env_id, steps, *resume, *extra) == 0  # rl-zoo saves on Ctrl-C
    cut = tmp_path / "cut" / algo / f"{env_id}_1"
    checkpoint = latest_checkpoint(cut)
    assert checkpoint is not None
    assert checkpoint.name == f"t{saved[-1]:012d}"
    assert (cut / RESUME_FOLDER / LATEST).read_text() == checkpoint.name
    cut_model = load(cut, algo, env_id)
    assert saved[-1] < cut_model.num_timesteps < steps  # it stopped after the checkpoint, before the end
    assert len(monitor_rows(cut)) > 0

    assert train(tmp_path / "cut", algo, env_id, steps, *extra, "--resume") == 0
    assert sorted(path.name for path in (tmp_path / "cut" / algo).iterdir()) == [f"{env_id}_1"]  # same folder
    assert not (cut / RESUME_FOLDER).exists()

    expected, resumed = load(straight, algo, env_id), load(cut, algo, env_id)
    assert resumed.num_timesteps == expected.num_timesteps >= steps
    assert resumed._n_updates == expected._n_updates
    expected_params, resumed_params = expected.policy.state_dict(), resumed.policy.state_dict()
    assert expected_params.keys() == resumed_params.keys()
    for key, value in expected_params.items():
        assert th.equal(value, resumed_params[key]), key
    assert monitor_rows(cut) == monitor_rows(straight)
    if (straight / "evaluations.npz").exists():
        expected_evals, resumed_evals = np.load(straight / "evaluations.npz"), np.load(cut / "evaluations.npz")
        assert list(expected_evals["timesteps"]) == list(range(500, steps + 1, 500))
        for key in expected_evals.files:
            np.testing.assert_array_equal(resumed_evals[key], expected_evals[key])
    normalize = straight / env_id / "vecnormalize.pkl"
    if normalize.exists():
        expected_stats, resumed_stats = (
            pickle.loads(path.read_bytes()) for path in (normalize, cut / env_id / "vecnormalize.pkl")
        )
        assert isinstance(resumed_stats, VecNormalize)
        np.testing.assert_array_equal(resumed_stats.obs_rms.mean, expected_stats.obs_rms.mean)
        np.testing.assert_array_equal(resumed_stats.ret_rms.var, expected_stats.ret_rms.var)


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines, "no error on stderr"
    return lines[-1]


def test_resume_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("soft_dqn", "GridWorld-v0", 3000)
    assert train(tmp_path, *args, "--resume") == 2
    assert "--resume: no run of soft_dqn on GridWorld-v0" in error_line(capsys)

    assert train(tmp_path, *args, "--resume-freq", "-5") == 2
    assert "--resume-freq must be a number of steps >= 0, got -5" in error_line(capsys)

    assert train(tmp_path, *args, "--resume-freq", "1000") == 0  # finished: its checkpoints are gone
    capsys.readouterr()
    assert train(tmp_path, *args, "--resume") == 2
    assert "no checkpoint in" in error_line(capsys)

    with monkeypatch.context() as patch:
        interrupt(patch, after=500)
        assert train(tmp_path, *args, "--resume-freq", "1000") == 0
    capsys.readouterr()
    assert train(tmp_path, "soft_dqn", "GridWorld-v0", 5000, "--resume") == 2
    line = error_line(capsys)
    assert "the command line differs from the run's (n_timesteps: 3000 then, 5000 now)" in line
    assert train(tmp_path, *args, "--resume", "--seed", "4") == 2
    assert "seed: 3 then, 4 now" in error_line(capsys)
    agent = tmp_path / "soft_dqn" / "GridWorld-v0_2" / "GridWorld-v0.zip"
    assert train(tmp_path, *args, "--resume", "-i", str(agent)) == 2
    assert "does not go with -optimize or -i" in error_line(capsys)

    # another process training the run (here: holding its lock) keeps a second one out of its folder
    lock = filelock.FileLock(agent.parent / RESUME_FOLDER / LOCK_FILE)
    with lock.acquire(timeout=0):
        assert train(tmp_path, *args, "--resume") == 2
        assert f"{agent.parent} is being trained by another process" in error_line(capsys)
    assert train(tmp_path, *args, "--resume") == 0  # the interrupted run itself resumes


def test_training_run_holds_its_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lock is held while the run trains (at each checkpoint) and released when it stops, even by Ctrl-C."""
    held: list[bool] = []
    save = ResumeCheckpointCallback.save

    def save_and_probe(self: ResumeCheckpointCallback) -> Path:
        try:
            filelock.FileLock(self.folder / LOCK_FILE).acquire(timeout=0).lock.release()
            held.append(False)
        except filelock.Timeout:
            held.append(True)
        return save(self)

    monkeypatch.setattr(ResumeCheckpointCallback, "save", save_and_probe)
    interrupt(monkeypatch, after=500)
    assert train(tmp_path, "soft_dqn", "GridWorld-v0", 3000, "--resume-freq", "1000") == 0
    assert held == [True]
    run = tmp_path / "soft_dqn" / "GridWorld-v0_1"
    assert latest_checkpoint(run) is not None  # cut after its first checkpoint
    with filelock.FileLock(run / RESUME_FOLDER / LOCK_FILE).acquire(timeout=0):
        pass  # released by the interrupted run


def test_resume_freq_refuses_subprocess_environments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train(tmp_path, "soft_dqn", "GridWorld-v0", 3000, "--resume-freq", "1000", "--vec-env", "subproc") == 2
    assert "SubprocVecEnv keeps its environments in other processes" in error_line(capsys)
