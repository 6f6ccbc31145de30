"""
rl_zoo3's ``ExperimentManager`` with the few additions our algorithms and environments need.

Everything else (argument handling, callbacks, normalisation, Optuna, saving) stays rl_zoo3's own code.

* Schedule strings are converted for our keys too (rl_zoo3 converts ``learning_rate``, ``clip_range``,
  ``clip_range_vf`` and ``delta_std`` only): ``maxent_coef: lin_0.3`` and ``temperature: exp_0.5_0.005``.
* ``policy_kwargs`` resolve our classes: a YAML mapping may name classes (``features_extractor_class:
  ImpalaCnn``, ``activation_fn: nn.ReLU`` or a dotted path), and an rl-zoo style string
  (``"dict(features_extractor_class=ImpalaCnn)"``) sees our classes besides rl_zoo3's usual names.
* ``monitor_kwargs: {info_keywords: [is_success]}`` may be written as a YAML mapping (SB3's Monitor
  needs a tuple).
* Procgen environments (FruitBot) are built as one native ``ProcgenVecEnv`` (one C++ call per step for
  all environments) instead of ``n_envs`` single-env adapters in a ``DummyVecEnv``.
* ``--trial-id 0`` loads the first trial of a study (rl_zoo3 2.9.2 tests the id for truth and skips it).
* A hyperparameter that is neither an rl-zoo key nor an argument of the algorithm (``maxent_coeff``) raises
  :class:`HyperparameterError`, one line naming the key, the algorithm and the closest valid key, before any
  folder, environment or model is made (rl_zoo3 would end in the constructor's ``TypeError``).
* ``-optimize`` makes no run folder: rl_zoo3 creates an empty ``<algo>/<env>_<n>/`` for every worker,
  although the trials save nothing there, and those empty runs then hide the real ones from ``enjoy``'s
  default ``--exp-id 0`` (the latest run).
* Resumable runs (:mod:`sb3_maxent.zoo.resume`): with ``resume_freq`` a checkpoint every so many steps; with
  ``resume_from`` the run continues from its last checkpoint, in its own folder, with
  ``reset_num_timesteps=False``.
"""

from __future__ import annotations

import difflib
import inspect
import os
import re
import shutil
import warnings
from collections import OrderedDict
from collections.abc import Callable
from pprint import pprint
from typing import Any

import filelock
import gymnasium as gym
import rl_zoo3.exp_manager
from gymnasium import spaces
from rl_zoo3.exp_manager import ExperimentManager
from rl_zoo3.utils import ALGOS, get_class_by_name, get_latest_run_id
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from stable_baselines3.common.vec_env import VecEnv, VecFrameStack, VecMonitor, VecTransposeImage
from torch import nn

from sb3_maxent.common import torch_layers
from sb3_maxent.common.schedules import exponential_schedule, linear_schedule
from sb3_maxent.zoo.resume import (
    RESUME_FOLDER,
    RUN_ARGUMENTS,
    ResumeCheckpointCallback,
    ResumeError,
    check_same_run,
    hold_run_lock,
    latest_checkpoint,
    load_for_resume,
    read_checkpoint,
    restore_run,
)

# Hyperparameters of ours that accept a schedule: their schedule strings are converted (see below)
SCHEDULE_KEYS = ("maxent_coef", "temperature")
_FLOAT = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# "lin_<start>": rl-zoo's linear decay from start to 0; "lin_<start>_<end>" and "exp_<start>_<end>" (ours) anneal
# from start to end, linearly or exponentially (the MaxEnt PPO paper anneals its temperature exponentially)
_SCHEDULE = re.compile(rf"^(?P<kind>lin|exp)_(?P<start>{_FLOAT})(?:_(?P<end>{_FLOAT}))?$")

# Entry point of the single-env Procgen adapter (sb3_maxent/envs/registration.py)
PROCGEN_ENTRY_POINT = "sb3_maxent.envs.procgen:ProcgenEnv"

# policy_kwargs entries that hold a class or a callable rather than data
_CLASS_KEYS = ("features_extractor_class", "activation_fn", "optimizer_class")

# Hyperparameter keys that rl_zoo3 consumes itself (ExperimentManager._preprocess_hyperparams and
# _preprocess_action_noise); every other key is passed to the algorithm's constructor
RL_ZOO_KEYS = frozenset(
    {
        "n_envs",
        "n_timesteps",
        "normalize",
        "env_kwargs",
        "env_wrapper",
        "vec_env_wrapper",
        "frame_stack",
        "monitor_kwargs",
        "callback",
        "noise_type",
        "noise_std",
    }
)
# Constructor arguments that rl_zoo3 sets from its command line: in a configuration they would collide
COMMAND_LINE_ARGUMENTS = {
    "env": "--env",
    "seed": "--seed",
    "verbose": "--verbose",
    "device": "--device",
    "tensorboard_log": "-tb",
}


class HyperparameterError(ValueError):
    """A configuration key that the algorithm does not take (a typo, most of the time); a one-line message."""


def check_hyperparameter_keys(algo: str, algo_class: type, hyperparams: dict[str, Any], source: str) -> None:
    """
    Raise :class:`HyperparameterError` for the first key of ``hyperparams`` that is neither an rl-zoo key
    (:data:`RL_ZOO_KEYS`) nor a constructor argument of ``algo_class`` (an algorithm whose constructor takes
    ``**kwargs`` accepts any key). The message names the key, ``algo``, ``source`` and the closest valid key.
    """
    parameters = inspect.signature(algo_class).parameters  # the constructor's, without self
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters.values()):
        return
    valid = (set(parameters) - set(COMMAND_LINE_ARGUMENTS)) | RL_ZOO_KEYS
    for key in hyperparams:
        if key in COMMAND_LINE_ARGUMENTS:
            raise HyperparameterError(
                f"{key!r} in {source} is set by rl-zoo's command line ({COMMAND_LINE_ARGUMENTS[key]}): remove it"
            )
        if key not in valid:
            close = difflib.get_close_matches(str(key), sorted(valid), n=1)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else f"it is neither a {algo_class.__name__} argument nor an rl-zoo key"
            )
            raise HyperparameterError(f"unknown hyperparameter {key!r} for {algo} in {source}; {hint}")


def convert_schedule_strings(hyperparams: dict[str, Any]) -> dict[str, Any]:
    """
    Replace schedule strings by schedules of progress_remaining for :data:`SCHEDULE_KEYS` (in place):
    ``lin_<start>`` (rl-zoo's meaning: linear from start to 0), ``lin_<start>_<end>`` and ``exp_<start>_<end>``.
    Other values (floats, callables, SoftDQN's ``"auto"``) are left to the algorithm.
    """
    for key in SCHEDULE_KEYS:
        value = hyperparams.get(key)
        if not isinstance(value, str) or not value.startswith(("lin_", "exp_")):
            continue
        match = _SCHEDULE.match(value)
        if match is None or (match["kind"] == "exp" and match["end"] is None):
            raise ValueError(
                f"Invalid schedule for {key}: {value!r}; expected 'lin_<start>' (linear to 0, e.g. 'lin_0.3'), "
                "'lin_<start>_<end>' or 'exp_<start>_<end>' (e.g. 'exp_0.5_0.005')"
            )
        start, end = float(match["start"]), float(match["end"] or 0.0)
        hyperparams[key] = linear_schedule(start, end) if match["kind"] == "lin" else exponential_schedule(start, end)
    return hyperparams


def _policy_names() -> dict[str, Any]:
    """Names usable in ``policy_kwargs``: rl_zoo3's (``nn``, ``th``, ...) plus our network classes."""
    names: dict[str, Any] = dict(vars(rl_zoo3.exp_manager))
    names.update({name: getattr(torch_layers, name) for name in torch_layers.__all__})
    return names


def resolve_class(name: str, names: dict[str, Any] | None = None) -> Any:
    """``"ImpalaCnn"``, ``"nn.ReLU"``, ``"ReLU"`` or ``"package.module.Class"`` -> the object."""
    names = _policy_names() if names is None else names
    if name in names:
        return names[name]
    if name.startswith("nn.") and hasattr(nn, name[3:]):
        return getattr(nn, name[3:])
    if "." not in name and hasattr(nn, name):
        return getattr(nn, name)
    if "." in name:
        return get_class_by_name(name)
    raise ValueError(f"Unknown class {name!r} in policy_kwargs: use a dotted path (package.module.Class)")


def resolve_policy_kwargs(policy_kwargs: str | dict[str, Any]) -> dict[str, Any]:
    """Turn ``policy_kwargs`` from a config into the keyword arguments of the policy."""
    names = _policy_names()
    if isinstance(policy_kwargs, str):
        # rl-zoo's string form: evaluated like rl_zoo3 does, with our classes in scope as well
        policy_kwargs = eval(policy_kwargs, names)
    assert isinstance(policy_kwargs, dict), f"policy_kwargs must be a mapping, got {policy_kwargs!r}"
    resolved = dict(policy_kwargs)
    for key in _CLASS_KEYS:
        if isinstance(resolved.get(key), str):
            resolved[key] = resolve_class(resolved[key], names)
    return resolved


def is_procgen(env_id: str) -> bool:
    """Whether ``env_id`` is one of our Procgen environments (FruitBot-v0, ...)."""
    return str(gym.spec(env_id).entry_point) == PROCGEN_ENTRY_POINT


class MaxEntExperimentManager(ExperimentManager):
    """rl_zoo3's ExperimentManager, plus the conversions listed in the module docstring."""

    #: ``--resume-freq``: steps between resume checkpoints (0: none). Set on a subclass by the command line,
    #: since rl_zoo3's train script builds the manager itself.
    resume_freq: int = 0
    #: ``--resume``: the run folder to continue, or ``"latest"`` (None: a new run)
    resume_from: str | None = None
    _resume_checkpoint: tuple[Any, dict[str, Any]] | None = None
    #: held from the start of a run with checkpoints (or of its resumption) to the end of its training
    _run_lock: filelock.BaseFileLock | None = None

    def run_arguments(self) -> dict[str, Any]:
        """The command-line arguments a resumed run must share with the run it continues."""
        arguments = vars(self.args) if self.args is not None else {}
        return {key: arguments.get(key) for key in RUN_ARGUMENTS}

    def _resume_run_folder(self) -> str:
        assert self.resume_from is not None
        if self.resume_from != "latest":
            return self.resume_from.rstrip("/")
        run_id = get_latest_run_id(self.log_path, self.env_name)
        if run_id == 0:
            raise ResumeError(f"--resume: no run of {self.algo} on {self.env_name} in {self.log_path}")
        return os.path.join(self.log_path, f"{self.env_name}_{run_id}")

    def setup_experiment(self) -> tuple[BaseAlgorithm, dict[str, Any]] | None:
        if self.resume_from is None:
            if self.resume_freq and (self.optimize_hyperparameters or self.continue_training):
                raise ResumeError("--resume-freq checkpoints a training run: it does not go with -optimize or -i")
            return self._check_resumable(super().setup_experiment())
        if self.optimize_hyperparameters or self.continue_training:
            raise ResumeError("--resume continues a training run: it does not go with -optimize or -i")
        run_folder = self._resume_run_folder()
        if latest_checkpoint(run_folder) is not None:
            self._run_lock = hold_run_lock(run_folder)  # before reading: the process that holds it may be writing
        step_dir = latest_checkpoint(run_folder)
        if step_dir is None:
            self._release_run_lock()
            raise ResumeError(
                f"--resume: no checkpoint in {os.path.join(run_folder, RESUME_FOLDER)} (the run was not started "
                "with --resume-freq, or it finished: a finished run's checkpoints are removed)"
            )
        state = read_checkpoint(step_dir)
        try:
            check_same_run(state["run_arguments"], self.run_arguments(), run_folder)
        except ResumeError:
            self._release_run_lock()
            raise
        self.resume_freq = self.resume_freq or state["save_freq"]
        self.save_path = run_folder
        self.params_path = f"{self.save_path}/{self.env_name}"
        self._resume_checkpoint = (step_dir, state)
        self.continue_training = True  # rl_zoo3 then loads the model with _load_pretrained_agent (below)
        result = self._check_resumable(super().setup_experiment())
        assert result is not None
        model = result[0]
        restore_run(model, step_dir, state, self.callbacks)
        print(f"Resuming {run_folder} at {model.num_timesteps} of {self.n_timesteps} steps (from {step_dir})")
        return result

    def _check_resumable(
        self, result: tuple[BaseAlgorithm, dict[str, Any]] | None
    ) -> tuple[BaseAlgorithm, dict[str, Any]] | None:
        """Refuse environments whose state a checkpoint cannot hold before training starts, not at the first one."""
        env = None if result is None else result[0].get_env()
        for callback in self.callbacks:
            if isinstance(callback, ResumeCheckpointCallback) and env is not None:
                callback.check_environments(env)
        return result

    def _load_pretrained_agent(self, hyperparams: dict[str, Any], env: VecEnv) -> BaseAlgorithm:
        if self._resume_checkpoint is None:
            return super()._load_pretrained_agent(hyperparams, env)
        # The checkpoint holds every hyperparameter (schedules included) and the optimizers' state: none is
        # passed again, so that nothing differs from the run that wrote it
        return load_for_resume(
            ALGOS[self.algo],
            self._resume_checkpoint[0],
            env,
            device=self.device,
            tensorboard_log=self.tensorboard_log,
            verbose=self.verbose,
        )

    def create_callbacks(self) -> None:
        super().create_callbacks()
        if self.resume_freq:
            if self._run_lock is None:
                self._run_lock = hold_run_lock(self.save_path)
            self.callbacks.append(
                ResumeCheckpointCallback(self.resume_freq, self.save_path, self.callbacks, self.run_arguments())
            )

    def learn(self, model: BaseAlgorithm) -> None:
        if self._resume_checkpoint is not None:
            # rl_zoo3 calls model.learn(n_timesteps): continue the step count instead of restarting it
            learn = type(model).learn

            def resumed_learn(total_timesteps: int, **kwargs: Any) -> Any:
                vars(model).pop("learn")  # gone before anything saves the model
                return learn(model, total_timesteps - model.num_timesteps, reset_num_timesteps=False, **kwargs)

            vars(model)["learn"] = resumed_learn
        try:
            super().learn(model)
            if self.resume_freq and model.num_timesteps >= self.n_timesteps:
                shutil.rmtree(os.path.join(self.save_path, RESUME_FOLDER), ignore_errors=True)  # the run is complete
        finally:
            vars(model).pop("learn", None)
            self._release_run_lock()

    def _release_run_lock(self) -> None:
        if self._run_lock is not None:
            self._run_lock.release()
            self._run_lock = None

    def read_hyperparameters(self) -> tuple[dict[str, Any], dict[str, Any]]:
        hyperparams, saved_hyperparams = super().read_hyperparameters()
        if self.trial_id == 0 and self.storage and self.study_name:
            # rl_zoo3 loads a stored trial only `if self.trial_id:`, which skips the first trial (number 0)
            print("Loading from Optuna study...")
            hyperparams.update(self.load_trial(self.storage, self.study_name, self.trial_id))
            hyperparams.update(self.custom_hyperparams or {})  # the command line still has the last word
            saved_hyperparams = OrderedDict(sorted(hyperparams.items()))
            pprint(saved_hyperparams)
        return hyperparams, saved_hyperparams

    @staticmethod
    def _preprocess_schedules(hyperparams: dict[str, Any]) -> dict[str, Any]:
        hyperparams = ExperimentManager._preprocess_schedules(hyperparams)
        return convert_schedule_strings(hyperparams)

    def _preprocess_hyperparams(
        self, hyperparams: dict[str, Any]
    ) -> tuple[dict[str, Any], Callable | None, list[BaseCallback], Callable | None]:
        custom = self.custom_hyperparams or {}
        from_file = {key: value for key, value in hyperparams.items() if key not in custom}
        check_hyperparameter_keys(self.algo, ALGOS[self.algo], custom, "--hyperparams")
        check_hyperparameter_keys(self.algo, ALGOS[self.algo], from_file, f"{self.config} ({self.env_name.gym_id})")
        if "policy_kwargs" in hyperparams:
            hyperparams["policy_kwargs"] = resolve_policy_kwargs(hyperparams["policy_kwargs"])
        monitor_kwargs = hyperparams.get("monitor_kwargs")
        if isinstance(monitor_kwargs, dict) and isinstance(monitor_kwargs.get("info_keywords"), list):
            hyperparams["monitor_kwargs"] = {**monitor_kwargs, "info_keywords": tuple(monitor_kwargs["info_keywords"])}
        return super()._preprocess_hyperparams(hyperparams)

    def create_log_folder(self) -> None:
        if not self.optimize_hyperparameters:  # the trials save nothing (see the module docstring)
            super().create_log_folder()

    def create_envs(self, n_envs: int, eval_env: bool = False, no_log: bool = False) -> VecEnv:
        # With -optimize, setup_experiment() builds a logged environment only to read its action space
        no_log = no_log or self.optimize_hyperparameters
        if not is_procgen(self.env_name.gym_id) or self.env_wrapper is not None:
            # Per-env gym wrappers need single environments: keep rl_zoo3's DummyVecEnv of adapters
            return super().create_envs(n_envs, eval_env=eval_env, no_log=no_log)
        return self._create_procgen_envs(n_envs, eval_env=eval_env, no_log=no_log)

    def _create_procgen_envs(self, n_envs: int, eval_env: bool, no_log: bool) -> VecEnv:
        """
        One native ``ProcgenVecEnv`` for all ``n_envs`` environments, then the same wrappers as
        ``ExperimentManager.create_envs`` (VecMonitor in place of the per-env Monitor, so that the
        monitor file and rl_zoo3's plots stay as they are).
        """
        from sb3_maxent.envs.procgen import ProcgenVecEnv

        spec = gym.spec(self.env_name.gym_id)
        env_kwargs = {**spec.kwargs, **(self.eval_env_kwargs if eval_env else self.env_kwargs)}
        env_kwargs.pop("render_mode", None)
        if self.vec_env_class is not rl_zoo3.exp_manager.DummyVecEnv:
            warnings.warn("--vec-env is ignored for Procgen: ProcgenVecEnv already steps all environments at once")
        env: VecEnv = ProcgenVecEnv(num_envs=n_envs, seed=self.seed, **env_kwargs)

        log_dir = None if eval_env or no_log else self.save_path
        monitor_file = None if log_dir is None else os.path.join(log_dir, "procgen")
        env = VecMonitor(env, filename=monitor_file, info_keywords=tuple(self.monitor_kwargs.get("info_keywords", ())))

        if self.vec_env_wrapper is not None:
            env = self.vec_env_wrapper(env)
        env = self._maybe_normalize(env, eval_env)
        if self.frame_stack is not None:
            env = VecFrameStack(env, self.frame_stack)
        observation_space = env.observation_space
        if (
            isinstance(observation_space, spaces.Box)
            and is_image_space(observation_space)
            and not is_image_space_channels_first(observation_space)
        ):
            env = VecTransposeImage(env)
        return env
