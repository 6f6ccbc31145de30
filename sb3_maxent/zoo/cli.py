"""
Command line: rl_zoo3's own ``train`` / ``enjoy`` / plot scripts, with sb3-maxent's algorithms registered.

``sb3-maxent train ...`` (or ``python -m sb3_maxent.train ...``) accepts every flag of
``python -m rl_zoo3.train``; ``sb3-maxent enjoy ...`` every flag of ``python -m rl_zoo3.enjoy``. Before
handing over, the command line is checked for the mistakes that would otherwise end in a traceback
(unknown algorithm or environment, no configuration entry, no trained agent, Procgen, TensorBoard for
``-tb``, wandb for ``--track`` or pygame for rendering not installed), and so is every hyperparameter of
the configuration (a key the algorithm does not take): each gives one line on stderr and exit code 2.
``--conf-file`` defaults to the configuration shipped with sb3-maxent when it has an entry for the
environment (rl_zoo3's own file otherwise).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import importlib.util
import io
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

PROG = "sb3-maxent"
EXIT_USAGE = 2

# rl_zoo3/enjoy.py loads these with buffer_size=1 (a hard-coded list); other off-policy algorithms would
# allocate their whole replay buffer just to be watched.
RL_ZOO_SMALL_BUFFER_ON_ENJOY = frozenset({"qrdqn", "dqn", "ddpg", "sac", "her", "td3", "tqc"})
# rl_zoo3's enjoy downloads missing agents from this folder's Hugging Face organisation (sb3)
HUB_FOLDER = "rl-trained-agents"


class ZooUsageError(Exception):
    """A command-line mistake, reported as one line (no traceback)."""


@contextlib.contextmanager
def _patched(owner: Any, name: str, value: Any) -> Iterator[None]:
    """Set ``owner.name`` (an attribute or a mapping key) to ``value`` for the duration of the block."""
    is_mapping = isinstance(owner, dict)
    original = owner[name] if is_mapping else getattr(owner, name)
    if is_mapping:
        owner[name] = value
    else:
        setattr(owner, name, value)
    try:
        yield
    finally:
        if is_mapping:
            owner[name] = original
        else:
            setattr(owner, name, original)


def _register() -> list[str]:
    """Import rl_zoo3 and register our algorithms (one error line if the ``zoo`` extra is missing)."""
    if importlib.util.find_spec("rl_zoo3") is None:
        raise ZooUsageError("rl_zoo3 is not installed: pip install 'sb3-maxent[zoo]'")
    from sb3_maxent.zoo.registration import register_zoo

    return register_zoo()


def _pre_parser() -> argparse.ArgumentParser:
    """The few rl_zoo3 options that the checks need, with rl_zoo3's defaults (the rest is left to rl_zoo3)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--gym-packages", nargs="+", default=[])
    return parser


def check_algo(algo: str) -> None:
    from rl_zoo3.utils import ALGOS

    if algo not in ALGOS:
        raise ZooUsageError(f"unknown algorithm {algo!r}; choose from: {', '.join(sorted(ALGOS))}")


def check_env(env_id: str, gym_packages: Sequence[str] = ()) -> None:
    """The id must be registered (after ``import sb3_maxent`` and ``--gym-packages``); Procgen must be installed."""
    import gymnasium as gym

    for module in gym_packages:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            raise ZooUsageError(f"--gym-packages: {error}") from None
    if env_id not in gym.registry:
        close = difflib.get_close_matches(env_id, list(gym.registry), n=1)
        hint = f", did you mean {close[0]!r}?" if close else ""
        raise ZooUsageError(f"unknown environment {env_id!r}{hint}")

    from sb3_maxent.zoo.exp_manager import is_procgen

    if is_procgen(env_id):
        from sb3_maxent.envs.procgen import procgen_install_hint

        missing = [name for name in ("procgen", "gym3") if importlib.util.find_spec(name) is None]
        if missing:
            raise ZooUsageError(
                f"{env_id} needs Procgen ({', '.join(missing)} not installed): {procgen_install_hint()}"
            )


def check_train_extras(tensorboard_log: str, track: bool) -> None:
    """``-tb`` needs TensorBoard (in the ``zoo`` extra), ``--track`` needs Weights & Biases (optional, no extra)."""
    if tensorboard_log and importlib.util.find_spec("tensorboard") is None:
        raise ZooUsageError(f"-tb {tensorboard_log} needs TensorBoard (not installed): pip install 'sb3-maxent[zoo]'")
    if track and importlib.util.find_spec("wandb") is None:
        raise ZooUsageError("--track logs to Weights & Biases, which is not installed: pip install wandb")


def check_render(env_id: str) -> None:
    """
    ``enjoy`` without ``--no-render`` asks for ``render_mode="human"``: an environment without that mode of its
    own (ours draw ``rgb_array`` frames) is shown by gymnasium's HumanRendering wrapper, which needs pygame.
    """
    import gymnasium as gym
    from gymnasium.envs.registration import load_env_creator

    if importlib.util.find_spec("pygame") is not None:
        return
    entry_point = gym.spec(env_id).entry_point
    creator = load_env_creator(entry_point) if isinstance(entry_point, str) else entry_point
    if "human" not in getattr(creator, "metadata", {}).get("render_modes", []):
        raise ZooUsageError(
            f"showing {env_id} in a window needs pygame (not installed): pip install 'sb3-maxent[zoo]', "
            "or pass --no-render"
        )


def _config_entries(path: Path) -> list[str]:
    import yaml

    with open(path) as file:
        content = yaml.safe_load(file)
    if not isinstance(content, dict):
        raise ZooUsageError(f"{path} is not an rl-zoo configuration (a mapping of environment ids)")
    return [str(key) for key in content]


def _has_entry(entries: Sequence[str], env_id: str) -> bool:
    from rl_zoo3.exp_manager import ExperimentManager

    return env_id in entries or "default" in entries or ("atari" in entries and ExperimentManager.is_atari(env_id))


def choose_config(algo: str, env_id: str, conf_file: str | None) -> str | None:
    """
    The configuration rl_zoo3 should read, checked: the user's ``--conf-file`` (YAML files are checked for
    an entry), else our packaged file when it has an entry for ``env_id``. ``None`` leaves rl_zoo3's own
    ``hyperparams/<algo>.yml`` (for its algorithms on environments we do not configure).
    """
    from sb3_maxent.zoo.configs import config_path
    from sb3_maxent.zoo.registration import zoo_algorithms

    if conf_file is not None:
        path = Path(conf_file)
        if path.suffix in (".yml", ".yaml"):
            if not path.is_file():
                raise ZooUsageError(f"configuration file not found: {conf_file}")
            entries = _config_entries(path)
            if not _has_entry(entries, env_id):
                raise ZooUsageError(f"no entry for {env_id} in {conf_file} (entries: {', '.join(entries) or 'none'})")
        return conf_file

    packaged = config_path(algo)
    entries = [] if packaged is None else _config_entries(packaged)
    if packaged is not None and _has_entry(entries, env_id):
        return str(packaged)
    if algo in zoo_algorithms():
        # rl_zoo3 has no file for our algorithms to fall back on
        raise ZooUsageError(
            f"no {algo} hyperparameters for {env_id} in sb3-maxent's configurations "
            f"(entries: {', '.join(entries) or 'none'}); pass --conf-file with an entry for it"
        )
    return None


def _run_script(prog: str, argv: Sequence[str], script: Callable[[], None]) -> None:
    """Run one of rl_zoo3's argparse scripts on ``argv``."""
    with _patched(sys, "argv", [prog, *argv]):
        script()


def train(argv: Sequence[str] | None = None) -> int:
    """``sb3-maxent train``: rl_zoo3's train script (all its flags) with our algorithms and configurations."""
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = f"{PROG} train"
    try:
        _register()
        from sb3_maxent.zoo.resume import add_resume_options
        from sb3_maxent.zoo.storage import add_heartbeat_options, check_heartbeat, heartbeat_storage

        own_options = argparse.ArgumentParser(
            prog=prog,
            add_help=False,
            allow_abbrev=False,
            description="sb3-maxent's options (rl_zoo3's are listed below)",
        )
        add_resume_options(own_options)
        add_heartbeat_options(own_options)
        own, argv = own_options.parse_known_args(argv)  # rl_zoo3 rejects options it does not know
        parser = _pre_parser()
        parser.add_argument("-conf", "--conf-file", default=None)
        parser.add_argument("-tb", "--tensorboard-log", default="")
        parser.add_argument("--track", action="store_true")
        known, _ = parser.parse_known_args(argv)
        if known.help:
            print(own_options.format_help())
        else:
            if own.resume_freq < 0:
                raise ZooUsageError(f"--resume-freq must be a number of steps >= 0, got {own.resume_freq}")
            if own.heartbeat_interval != 0:
                try:
                    check_heartbeat(own.heartbeat_interval, own.grace_period)
                except ValueError as error:
                    raise ZooUsageError(str(error)) from None
            check_algo(known.algo)
            check_env(known.env, known.gym_packages)
            check_train_extras(known.tensorboard_log, known.track)
            conf_file = choose_config(known.algo, known.env, known.conf_file)
            if known.conf_file is None and conf_file is not None:
                argv += ["--conf-file", conf_file]
    except ZooUsageError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE

    import rl_zoo3.train

    from sb3_maxent.zoo.exp_manager import HyperparameterError, MaxEntExperimentManager
    from sb3_maxent.zoo.resume import ResumeError

    # rl_zoo3's train() builds `ExperimentManager(...)` from its module namespace: ours adds the conversions
    # for our keys (schedules, policy classes), the native Procgen vector env and resumable runs, and changes
    # nothing else. A database --storage gets Optuna's heartbeat, so that the trials of dead workers are run again.
    manager = type(
        MaxEntExperimentManager.__name__,
        (MaxEntExperimentManager,),
        {
            "resume_freq": own.resume_freq,
            "resume_from": own.resume,
            "__module__": MaxEntExperimentManager.__module__,
        },
    )
    with (
        _patched(rl_zoo3.train, "ExperimentManager", manager),
        heartbeat_storage(own.heartbeat_interval, own.grace_period),
    ):
        try:
            _run_script(prog, argv, rl_zoo3.train.train)
        except (HyperparameterError, ResumeError) as error:  # raised before any training step
            print(f"{prog}: error: {error}", file=sys.stderr)
            return EXIT_USAGE
    return 0


def _loader_without_replay_buffer(algo_class: type[Any]) -> type[Any]:
    """A stand-in for ``algo_class`` in rl_zoo3's ALGOS whose ``load`` skips the replay buffer allocation."""

    def load(cls: type[Any], path: Any, *args: Any, **kwargs: Any) -> Any:
        # Same as rl_zoo3's enjoy does for its own off-policy algorithms: watching needs no memory
        kwargs.setdefault("buffer_size", 1)
        kwargs.setdefault("optimize_memory_usage", False)
        return algo_class.load(path, *args, **kwargs)

    return type(algo_class.__name__, (algo_class,), {"load": classmethod(load), "__module__": __name__})


@contextlib.contextmanager
def small_replay_buffers_on_load() -> Iterator[None]:
    """While active, ``ALGOS[key].load`` passes ``buffer_size=1`` for every off-policy algorithm that rl_zoo3's
    enjoy does not already shrink (SoftDQN); the loaded model is of the original class."""
    from rl_zoo3.utils import ALGOS
    from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

    keys = [
        key
        for key, algo_class in ALGOS.items()
        if key not in RL_ZOO_SMALL_BUFFER_ON_ENJOY and issubclass(algo_class, OffPolicyAlgorithm)
    ]
    with contextlib.ExitStack() as stack:
        for key in keys:
            stack.enter_context(_patched(ALGOS, key, _loader_without_replay_buffer(ALGOS[key])))
        yield


def _check_model(known: argparse.Namespace) -> None:
    """The trained agent must exist (rl_zoo3 would raise, or try the Hugging Face hub for its own algorithms)."""
    from huggingface_sb3 import EnvironmentName
    from rl_zoo3.utils import get_model_path

    from sb3_maxent.zoo.registration import zoo_algorithms

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            get_model_path(
                known.exp_id,
                known.folder,
                known.algo,
                EnvironmentName(known.env),
                known.load_best,
                known.load_checkpoint,
                known.load_last_checkpoint,
            )
    except (AssertionError, ValueError) as error:
        if HUB_FOLDER in known.folder and known.algo not in zoo_algorithms():
            return  # rl_zoo3 downloads the agent from the hub
        raise ZooUsageError(
            f"{error} (train one with `{PROG} train --algo {known.algo} --env {known.env}`, then pass -f logs)"
        ) from None


def enjoy(argv: Sequence[str] | None = None) -> int:
    """``sb3-maxent enjoy``: rl_zoo3's enjoy script (all its flags) with our algorithms registered."""
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = f"{PROG} enjoy"
    try:
        _register()
        parser = _pre_parser()
        parser.add_argument("-f", "--folder", default=HUB_FOLDER)
        parser.add_argument("--exp-id", type=int, default=0)
        parser.add_argument("--load-best", action="store_true")
        parser.add_argument("--load-checkpoint", type=int)
        parser.add_argument("--load-last-checkpoint", action="store_true")
        parser.add_argument("--no-render", action="store_true")
        known, _ = parser.parse_known_args(argv)
        if not known.help:
            check_algo(known.algo)
            check_env(known.env, known.gym_packages)
            if not known.no_render:
                check_render(known.env)
            _check_model(known)
    except ZooUsageError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE

    import rl_zoo3.enjoy

    with small_replay_buffers_on_load():
        _run_script(prog, argv, rl_zoo3.enjoy.enjoy)
    return 0


def _plot_script(name: str) -> Callable[[Sequence[str] | None], int]:
    def run(argv: Sequence[str] | None = None) -> int:
        module = importlib.import_module(f"rl_zoo3.plots.{name}")
        _run_script(f"{PROG} {name}", list(sys.argv[1:] if argv is None else argv), getattr(module, name))
        return 0

    return run


COMMANDS: dict[str, Callable[[Sequence[str] | None], int]] = {
    "train": train,
    "enjoy": enjoy,
    "plot_train": _plot_script("plot_train"),
    "plot_from_file": _plot_script("plot_from_file"),
    "all_plots": _plot_script("all_plots"),
}


def main(argv: Sequence[str] | None = None) -> int:
    """``sb3-maxent <command> [rl-zoo options]``, like rl_zoo3's own ``rl_zoo3`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {PROG} {{{','.join(COMMANDS)}}} [options]  (`{PROG} <command> --help` lists the options)")
        return 0 if argv else EXIT_USAGE
    command, *rest = argv
    if command not in COMMANDS:
        print(f"{PROG}: error: unknown command {command!r}; choose from: {', '.join(COMMANDS)}", file=sys.stderr)
        return EXIT_USAGE
    return COMMANDS[command](rest)


if __name__ == "__main__":
    raise SystemExit(main())
