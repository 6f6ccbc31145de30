"""
Resumable ``sb3-maxent train`` runs: ``--resume-freq N`` checkpoints a run every N steps, ``--resume`` continues it.

rl_zoo3's ``-i agent.zip`` starts a *new* run from saved weights: the step counter, the schedules, the
exploration and the random warm-up (``learning_starts``) start again, the environments are reset and the
random generators reseeded. A run cut by a time limit, a crash or Ctrl-C and continued with ``--resume``
instead goes on as if it had never stopped: with the same command line it produces the same episodes, the
same monitor file and the same final model as the uninterrupted run (tested bit for bit on CPU).

A checkpoint (``<run>/resume/t<steps>/``, the folder named in ``<run>/resume/LATEST``; the previous one is
removed once the new one is complete) holds:

* the model (``model.zip``: weights, optimizers, step and episode counters, last observations, schedules)
  and, for off-policy algorithms, the replay buffer (``replay_buffer.pkl``, the largest file by far:
  observations x ``buffer_size`` x 2 unless ``optimize_memory_usage``);
* the state of every environment wrapper: ``VecNormalize`` statistics and running returns, ``VecFrameStack``
  frames, ``VecMonitor`` / ``Monitor`` episode accumulators and a copy of the monitor files, the
  environments themselves (procgen's game states for ``ProcgenVecEnv``, the pickled environments of a
  ``DummyVecEnv``), the same for the evaluation environment;
* the state of the callbacks (call counters, ``EvalCallback``'s evaluations and best mean reward);
* the torch, NumPy, Python and action-space random generators.

Checkpoints are taken between two rollouts (after the update that follows a rollout), where no
algorithm holds a half-collected rollout. ``SubprocVecEnv`` and environments that cannot be pickled are
refused at the start of training with a message saying so. TensorBoard event files are not rolled back:
steps logged after the last checkpoint appear twice. With gSDE (``use_sde``) the resumed run is not bit for
bit the same: the noise weights drawn just before a checkpoint are drawn again after the resume.

While a run with checkpoints trains, its process holds ``<run>/resume/lock`` (:func:`hold_run_lock`), so that
a second process started with ``--resume`` on the same run is refused instead of writing into the same
folder; the operating system releases the lock when the process ends, however it ends.
"""

from __future__ import annotations

import argparse
import copy
import os
import pickle
import random
import shutil
from pathlib import Path
from typing import Any

import cloudpickle
import filelock
import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, EvalCallback
from stable_baselines3.common.monitor import Monitor, ResultsWriter
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    SubprocVecEnv,
    VecEnv,
    VecEnvWrapper,
    VecExtractDictObs,
    VecFrameStack,
    VecMonitor,
    VecNormalize,
    VecTransposeImage,
)

RESUME_FOLDER = "resume"
LATEST = "LATEST"
LOCK_FILE = "lock"
STATE_FILE = "state.pkl"
MODEL_FILE = "model.zip"
REPLAY_BUFFER_FILE = "replay_buffer.pkl"
MONITOR_FOLDER = "monitor"

# rl_zoo3 arguments that a resumed run must share with the run it continues (the rest, e.g. --verbose,
# --progress or --device, may change)
RUN_ARGUMENTS = (
    "algo",
    "env",
    "seed",
    "n_timesteps",
    "hyperparams",
    "conf_file",
    "env_kwargs",
    "eval_env_kwargs",
    "eval_freq",
    "eval_episodes",
    "n_eval_envs",
    "save_freq",
    "vec_env",
    "trained_agent",
)
# Wrappers without state of their own
_STATELESS_WRAPPERS = (VecTransposeImage, VecExtractDictObs)
# Base VecEnv attributes consumed by the next reset()
_VEC_ENV_FIELDS = ("_seeds", "_options", "reset_infos")
_DUMMY_FIELDS = ("buf_obs", "buf_dones", "buf_rews", "buf_infos", "actions")
_NORMALIZE_FIELDS = ("obs_rms", "ret_rms", "returns", "old_obs", "old_reward", "training")
_VEC_MONITOR_FIELDS = ("episode_returns", "episode_lengths", "episode_count", "t_start")
_EVAL_CALLBACK_FIELDS = (
    "best_mean_reward",
    "last_mean_reward",
    "evaluations_results",
    "evaluations_timesteps",
    "evaluations_length",
    "evaluations_successes",
    "_is_success_buffer",
)


class ResumeError(ValueError):
    """A run that cannot be checkpointed or resumed; the message says why and what to do."""


def add_resume_options(parser: argparse.ArgumentParser) -> None:
    """``sb3-maxent train``'s options for resumable runs, added to ``parser``."""
    group = parser.add_argument_group("sb3-maxent's options for resumable runs")
    group.add_argument(
        "--resume-freq",
        type=int,
        default=0,
        metavar="STEPS",
        help="save everything needed to continue the run exactly every STEPS environment steps, in <run>/resume "
        "(0: never, the default; with --resume: the interval the run was started with)",
    )
    group.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        default=None,
        metavar="RUN_FOLDER",
        help="continue a run started with --resume-freq from its last checkpoint, with the same command line "
        "(default: the latest run of --algo and --env in -f)",
    )


def hold_run_lock(run_folder: str | os.PathLike[str]) -> filelock.BaseFileLock:
    """
    Take ``<run_folder>/resume/lock`` for this process, without waiting; return the held lock.

    :raises ResumeError: if another process holds it (that process trains the run now)
    """
    folder = Path(run_folder) / RESUME_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(folder / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise ResumeError(
            f"{run_folder} is being trained by another process (it holds {folder / LOCK_FILE}): wait for that "
            "process to end, or stop it and run --resume again to continue from its last checkpoint"
        ) from None
    return lock


# ---------------------------------------------------------------------------------------------- environments


def _wrapper_chain(env: VecEnv) -> list[VecEnv]:
    chain = [env]
    while isinstance(chain[-1], VecEnvWrapper):
        chain.append(chain[-1].venv)
    return chain


def _monitor_of(env: Any) -> Monitor | None:
    while env is not None:
        if isinstance(env, Monitor):
            return env
        env = getattr(env, "env", None)
    return None


def check_resumable(env: VecEnv, what: str) -> None:
    """Raise :class:`ResumeError` if the state of ``env`` cannot be checkpointed."""
    for layer in _wrapper_chain(env):
        if isinstance(layer, SubprocVecEnv):
            raise ResumeError(
                f"--resume-freq cannot checkpoint the {what} environment: SubprocVecEnv keeps its environments in "
                "other processes; use the default DummyVecEnv (no --vec-env subproc)"
            )
        known = (VecNormalize, VecFrameStack, VecMonitor, DummyVecEnv, *_STATELESS_WRAPPERS)
        if isinstance(layer, VecEnvWrapper) and not isinstance(layer, known):
            raise ResumeError(
                f"--resume-freq does not know the state of the {what} environment's wrapper "
                f"{type(layer).__name__}; resumable runs support {', '.join(cls.__name__ for cls in known)}"
            )
        if not isinstance(layer, (VecEnvWrapper, DummyVecEnv)) and not callable(getattr(layer, "get_env_state", None)):
            raise ResumeError(
                f"--resume-freq cannot checkpoint the {what} environment {type(layer).__name__}: it is neither "
                "a DummyVecEnv nor a VecEnv with get_env_state() / set_env_state()"
            )


def _fields(owner: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """Copies of the attributes ``keys`` that ``owner`` has set itself (some appear only at the first reset)."""
    own = vars(owner)
    return {key: copy.deepcopy(own[key]) for key in keys if key in own}


def _set_fields(owner: Any, state: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in state:
            setattr(owner, key, copy.deepcopy(state[key]))


def _pickle_env(env: Any, index: int) -> bytes:
    """One environment of a DummyVecEnv, without its Monitor's open file."""
    monitor = _monitor_of(env)
    writer = None if monitor is None else monitor.results_writer
    if monitor is not None:
        monitor.results_writer = None
    try:
        return cloudpickle.dumps(env)
    except Exception as error:
        raise ResumeError(
            f"--resume-freq: environment {index} ({env}) cannot be pickled ({type(error).__name__}: {error}), so its "
            "state cannot be checkpointed"
        ) from error
    finally:
        if monitor is not None:
            monitor.results_writer = writer


def get_vec_env_state(env: VecEnv) -> list[dict[str, Any]]:
    """The state of ``env`` and of every wrapper under it, outermost first (see :func:`set_vec_env_state`)."""
    states: list[dict[str, Any]] = []
    for layer in _wrapper_chain(env):
        state: dict[str, Any] = {"class": type(layer).__name__}
        if isinstance(layer, VecNormalize):
            state.update(_fields(layer, _NORMALIZE_FIELDS))
        elif isinstance(layer, VecFrameStack):
            state["stacked_obs"] = copy.deepcopy(layer.stacked_obs)
        elif isinstance(layer, VecMonitor):
            state.update(_fields(layer, _VEC_MONITOR_FIELDS))
        elif isinstance(layer, DummyVecEnv):
            state["envs"] = [_pickle_env(sub_env, index) for index, sub_env in enumerate(layer.envs)]
            state.update(_fields(layer, _DUMMY_FIELDS + _VEC_ENV_FIELDS))
        elif not isinstance(layer, VecEnvWrapper):
            state["env_state"] = layer.get_env_state()  # type: ignore[attr-defined]
            state.update(_fields(layer, _VEC_ENV_FIELDS))
        states.append(state)
    return states


def set_vec_env_state(env: VecEnv, states: list[dict[str, Any]]) -> None:
    """
    Restore :func:`get_vec_env_state` into ``env``, built with the same settings. The monitor files stay those
    ``env`` writes to (the restored ``Monitor`` wrappers take over the live writers).
    """
    chain = _wrapper_chain(env)
    if [type(layer).__name__ for layer in chain] != [state["class"] for state in states]:
        raise ResumeError(
            f"the environment was built as {' > '.join(type(layer).__name__ for layer in chain)}, the checkpoint "
            f"holds {' > '.join(state['class'] for state in states)}: resume with the command line of the run"
        )
    for layer, state in zip(chain, states, strict=True):
        if isinstance(layer, VecNormalize):
            _set_fields(layer, state, _NORMALIZE_FIELDS)
        elif isinstance(layer, VecFrameStack):
            layer.stacked_obs = copy.deepcopy(state["stacked_obs"])
        elif isinstance(layer, VecMonitor):
            _set_fields(layer, state, _VEC_MONITOR_FIELDS)
        elif isinstance(layer, DummyVecEnv):
            for index, data in enumerate(state["envs"]):
                restored = pickle.loads(data)
                live_monitor, restored_monitor = _monitor_of(layer.envs[index]), _monitor_of(restored)
                if restored_monitor is not None and live_monitor is not None:
                    restored_monitor.results_writer = live_monitor.results_writer
                layer.envs[index] = restored
            _set_fields(layer, state, _DUMMY_FIELDS + _VEC_ENV_FIELDS)
        elif not isinstance(layer, VecEnvWrapper):
            layer.set_env_state(state["env_state"])  # type: ignore[attr-defined]
            _set_fields(layer, state, _VEC_ENV_FIELDS)


def _results_writers(env: VecEnv) -> list[tuple[Any, str]]:
    """(owner, attribute) of every monitor file writer of ``env``: VecMonitor layers and per-env Monitors."""
    owners: list[Any] = []
    for layer in _wrapper_chain(env):
        if isinstance(layer, VecMonitor):
            owners.append(layer)
        elif isinstance(layer, DummyVecEnv):
            owners += [monitor for monitor in map(_monitor_of, layer.envs) if monitor is not None]
    return [(owner, "results_writer") for owner in owners if getattr(owner, "results_writer", None) is not None]


def _monitor_files(env: VecEnv) -> list[str]:
    files = []
    for owner, attribute in _results_writers(env):
        writer = getattr(owner, attribute)
        writer.file_handler.flush()
        files.append(writer.file_handler.name)
    return files


def _restore_monitor_files(env: VecEnv, saved: Path) -> None:
    """Put the checkpoint's copies of the monitor files back and let ``env``'s writers append to them."""
    for owner, attribute in _results_writers(env):
        writer: ResultsWriter = getattr(owner, attribute)
        path = writer.file_handler.name
        writer.close()
        shutil.copyfile(saved / os.path.basename(path), path)
        extra_keys = tuple(writer.logger.fieldnames)[3:]  # after "r", "l", "t"
        setattr(owner, attribute, ResultsWriter(path, extra_keys=extra_keys, override_existing=False))


# ---------------------------------------------------------------------------------------------- callbacks


def _flat_callbacks(callbacks: list[BaseCallback]) -> list[BaseCallback]:
    flat: list[BaseCallback] = []
    for callback in callbacks:
        flat.append(callback)
        if isinstance(callback, CallbackList):
            flat += _flat_callbacks(callback.callbacks)
        for child in ("callback", "callback_on_new_best", "callback_after_eval"):
            inner = getattr(callback, child, None)
            if isinstance(inner, BaseCallback):
                flat += _flat_callbacks([inner])
    return flat


def _callback_state(callback: BaseCallback) -> dict[str, Any]:
    state: dict[str, Any] = {"class": type(callback).__name__, "n_calls": callback.n_calls}
    if isinstance(callback, EvalCallback):
        state.update(_fields(callback, _EVAL_CALLBACK_FIELDS))
        state["eval_env"] = get_vec_env_state(callback.eval_env)
    return state


def _restore_callback(callback: BaseCallback, state: dict[str, Any]) -> None:
    callback.n_calls = state["n_calls"]
    if isinstance(callback, EvalCallback):
        _set_fields(callback, state, _EVAL_CALLBACK_FIELDS)
        set_vec_env_state(callback.eval_env, state["eval_env"])


# ---------------------------------------------------------------------------------------------- checkpoints


def _rng_state(model: BaseAlgorithm) -> dict[str, Any]:
    return {
        "torch": th.get_rng_state(),
        "cuda": th.cuda.get_rng_state_all() if th.cuda.is_available() else None,
        "numpy": np.random.get_state(),  # noqa: NPY002 (SB3 samples replay batches and permutations from it)
        "python": random.getstate(),
        "action_space": copy.deepcopy(model.action_space.np_random.bit_generator.state),
    }


def _set_rng_state(model: BaseAlgorithm, state: dict[str, Any]) -> None:
    th.set_rng_state(state["torch"])
    if state["cuda"] is not None and th.cuda.is_available():
        th.cuda.set_rng_state_all(state["cuda"])
    np.random.set_state(state["numpy"])  # noqa: NPY002
    random.setstate(state["python"])
    model.action_space.np_random.bit_generator.state = copy.deepcopy(state["action_space"])


def named_checkpoint(folder: Path) -> Path | None:
    """The checkpoint folder that ``folder/LATEST`` names, if complete (its state file written), else None."""
    latest = folder / LATEST
    if not latest.is_file():
        return None
    step_dir = folder / latest.read_text().strip()
    return step_dir if (step_dir / STATE_FILE).is_file() else None


def publish_checkpoint(folder: Path, step_dir: Path) -> None:
    """
    Make the complete checkpoint ``step_dir`` the one ``folder/LATEST`` names, then remove the older ones.
    The rename is atomic: a kill at any point leaves ``LATEST`` naming a complete checkpoint.
    """
    tmp = folder / f".{LATEST}.{os.getpid()}"
    tmp.write_text(step_dir.name)
    os.replace(tmp, folder / LATEST)
    for old in folder.glob("t*"):
        if old != step_dir:
            shutil.rmtree(old, ignore_errors=True)


def match_live_layout(model: BaseAlgorithm) -> None:
    """
    The unpickled last observations of a loaded model are C-contiguous, the live ones a transposed view of an
    HWC frame (``VecTransposeImage``): give them the live memory layout, which convolutions see (their float
    rounding depends on it), so that a resumed run matches an uninterrupted one bit for bit.
    """
    if isinstance(model.env, VecTransposeImage) and isinstance(model._last_obs, np.ndarray):
        model._last_obs = model.env.transpose_image(np.ascontiguousarray(model._last_obs.transpose(0, 2, 3, 1)))


def latest_checkpoint(run_folder: str | os.PathLike[str]) -> Path | None:
    """The complete checkpoint named by ``<run>/resume/LATEST``, or None."""
    return named_checkpoint(Path(run_folder) / RESUME_FOLDER)


class ResumeCheckpointCallback(BaseCallback):
    """
    Save a resume checkpoint of the run in ``run_folder`` whenever ``save_freq`` more environment steps have
    been taken, between two rollouts.

    :param save_freq: Environment steps (all environments together) between checkpoints
    :param run_folder: The run's folder (checkpoints go to ``<run_folder>/resume``)
    :param callbacks: The run's other callbacks, whose state the checkpoints hold
    :param run_arguments: What the checkpoint records of the command line (compared on resume)
    """

    def __init__(
        self, save_freq: int, run_folder: str, callbacks: list[BaseCallback], run_arguments: dict[str, Any]
    ) -> None:
        super().__init__()
        if save_freq <= 0:
            raise ResumeError(f"--resume-freq must be a positive number of steps, got {save_freq}")
        self.save_freq = save_freq
        self.folder = Path(run_folder) / RESUME_FOLDER
        self.other_callbacks = callbacks
        self.run_arguments = run_arguments
        self.next_save = save_freq

    def check_environments(self, training_env: VecEnv) -> None:
        """Raise :class:`ResumeError` if the state of the training or an evaluation environment cannot be saved."""
        check_resumable(training_env, "training")
        for callback in _flat_callbacks(self.other_callbacks):
            if isinstance(callback, EvalCallback):
                check_resumable(callback.eval_env, "evaluation")

    def _init_callback(self) -> None:
        self.check_environments(self.training_env)
        self.next_save = (self.model.num_timesteps // self.save_freq + 1) * self.save_freq

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        if self.model.num_timesteps >= self.next_save:
            self.save()
            self.next_save = (self.model.num_timesteps // self.save_freq + 1) * self.save_freq

    def save(self) -> Path:
        """Write a checkpoint of the run as it is now; return its folder."""
        model = self.model
        step_dir = self.folder / f"t{model.num_timesteps:012d}"
        shutil.rmtree(step_dir, ignore_errors=True)
        (step_dir / MONITOR_FOLDER).mkdir(parents=True)
        model.save(step_dir / MODEL_FILE)
        if isinstance(model, OffPolicyAlgorithm):
            model.save_replay_buffer(step_dir / REPLAY_BUFFER_FILE)
        env = model.get_env()
        assert env is not None
        for path in _monitor_files(env):
            shutil.copyfile(path, step_dir / MONITOR_FOLDER / os.path.basename(path))
        state = {
            "num_timesteps": int(model.num_timesteps),
            "save_freq": self.save_freq,
            "run_arguments": self.run_arguments,
            "env": get_vec_env_state(env),
            "callbacks": [_callback_state(callback) for callback in _flat_callbacks(self.other_callbacks)],
            "rng": _rng_state(model),
        }
        with open(step_dir / STATE_FILE, "wb") as handle:
            pickle.dump(state, handle)
        publish_checkpoint(self.folder, step_dir)
        if self.verbose >= 1:
            print(f"Resume checkpoint at {model.num_timesteps} steps: {step_dir}")
        return step_dir


def read_checkpoint(step_dir: Path) -> dict[str, Any]:
    with open(step_dir / STATE_FILE, "rb") as handle:
        return pickle.load(handle)


def check_same_run(saved: dict[str, Any], current: dict[str, Any], run_folder: str) -> None:
    """A resumed run must have the command line of the run it continues (the arguments of :data:`RUN_ARGUMENTS`)."""
    differences = [
        f"{key}: {saved.get(key)!r} then, {current.get(key)!r} now"
        for key in RUN_ARGUMENTS
        if saved.get(key) != current.get(key)
    ]
    if differences:
        raise ResumeError(
            f"--resume {run_folder}: the command line differs from the run's ({'; '.join(differences)}); "
            "resume with the command that started the run"
        )


def load_for_resume(algo_class: type[BaseAlgorithm], step_dir: Path, env: VecEnv, **kwargs: Any) -> BaseAlgorithm:
    """The checkpoint's model on ``env`` (not reset: the environments continue), with its replay buffer."""
    model = algo_class.load(step_dir / MODEL_FILE, env=env, force_reset=False, **kwargs)
    if isinstance(model, OffPolicyAlgorithm):
        model.load_replay_buffer(step_dir / REPLAY_BUFFER_FILE)
    return model


def restore_run(model: BaseAlgorithm, step_dir: Path, state: dict[str, Any], callbacks: list[BaseCallback]) -> None:
    """
    Put the environments, monitor files, callbacks and random generators back as they were at the checkpoint.
    Call after :func:`load_for_resume` and after the callbacks are built.
    """
    env = model.get_env()
    assert env is not None
    _restore_monitor_files(env, step_dir / MONITOR_FOLDER)
    set_vec_env_state(env, state["env"])
    flat = _flat_callbacks(callbacks)
    if [type(callback).__name__ for callback in flat] != [saved["class"] for saved in state["callbacks"]]:
        raise ResumeError(
            "the callbacks differ from the run's (" + ", ".join(saved["class"] for saved in state["callbacks"]) + "): "
            "resume with the command that started the run"
        )
    for callback, saved in zip(flat, state["callbacks"], strict=True):
        _restore_callback(callback, saved)
    match_live_layout(model)
    _set_rng_state(model, state["rng"])  # last: loading the model drew from the generators
