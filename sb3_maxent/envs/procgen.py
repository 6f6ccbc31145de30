"""Procgen environments (FruitBot in the maximum-entropy PPO paper) for Stable-Baselines3.

Two ways in, both on procgen's gym3 interface (``procgen.ProcgenGym3Env``):

* :class:`ProcgenVecEnv`, an SB3 ``VecEnv``: one native call steps all environments (procgen's C++ threads),
  with no Python process or Python loop per environment. The fast path for training.
* :class:`ProcgenEnv`, a single-environment ``gymnasium.Env`` for tools that build their own vectors
  (rl-zoo, ``make_vec_env``); the id ``FruitBot-v0`` makes one.

Observations are 64x64x3 ``uint8`` images (HWC), actions ``Discrete(15)``.

**Terminal observations.** Procgen resets an environment inside the same native step that ends its
episode and renders the first frame of the next level: the frame of the final state s_T is never drawn.
Where SB3 expects the terminal observation (``infos[i]["terminal_observation"]`` of the ``VecEnv``, the
observation returned by ``ProcgenEnv.step`` when the episode ends) this module gives the **last frame of
the finished episode**, the one the final action was chosen on (s_{T-1}). It is a frame of the right
episode one step before the end, so SB3's bootstrap on truncation, ``r + gamma * V(terminal_observation)``,
uses V(s_{T-1}) for V(s_T), which is far closer than the next level's first frame (what procgen returns).

**Truncation.** Procgen ends an episode after a fixed number of steps (1000 for FruitBot; 500 for maze and
leaper, 6000 for bigfish), read from the game's serialized state at construction (:attr:`ProcgenVecEnv.timeout`).
An episode that ends at that length without completing the level is reported as truncated
(``info["TimeLimit.truncated"] = True``); an agent dying on exactly that step would be mislabelled too.

Procgen is imported only when an environment is built: ``import sb3_maxent`` does not import it.
"""

from __future__ import annotations

import platform
import struct
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv, VecMonitor
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

__all__ = [
    "PROCGEN_ENV_NAMES",
    "PROCGEN_INSTALL_COMMAND",
    "ProcgenEnv",
    "ProcgenVecEnv",
    "evaluation_levels",
    "import_procgen",
    "make_procgen_eval_vec_env",
    "make_procgen_vec_env",
    "procgen_install_hint",
    "procgen_installable",
]

PROCGEN_INSTALL_COMMAND = 'pip install "sb3-maxent[procgen]"'
# Where the procgen extra finds a wheel (the markers of pyproject.toml's `procgen` extra; tests/test_procgen.py
# checks that the two agree): the official `procgen` 0.10.7 up to CPython 3.10, `procgen-mirror` for 3.11/3.12.
PROCGEN_BUILDS = "CPython 3.10 (x86_64), CPython 3.11 and 3.12 (x86_64 Linux)"

PROCGEN_ENV_NAMES: tuple[str, ...] = (
    "bigfish",
    "bossfight",
    "caveflyer",
    "chaser",
    "climber",
    "coinrun",
    "dodgeball",
    "fruitbot",
    "heist",
    "jumper",
    "leaper",
    "maze",
    "miner",
    "ninja",
    "plunder",
    "starpilot",
)

# Games that support each distribution mode (procgen's game.cpp aborts the process on the others,
# so they are checked here first). "exploration" fixes the level set itself.
_MODE_GAMES: dict[str, frozenset[str]] = {
    "easy": frozenset(PROCGEN_ENV_NAMES),
    "hard": frozenset(PROCGEN_ENV_NAMES),
    "extreme": frozenset({"chaser", "dodgeball", "leaper", "starpilot"}),
    "memory": frozenset({"caveflyer", "dodgeball", "heist", "jumper", "maze", "miner"}),
    "exploration": frozenset({"coinrun", "caveflyer", "leaper", "jumper", "maze", "heist", "climber", "ninja"}),
}
DISTRIBUTION_MODES: tuple[str, ...] = tuple(_MODE_GAMES)

N_ACTIONS = 15
OBS_SHAPE = (64, 64, 3)
_MAX_INT32 = 2**31 - 1
# Options that define which levels are played: changing one (set_attr) rebuilds the native env at reset().
_LEVEL_OPTIONS = ("env_name", "num_levels", "start_level", "distribution_mode")


def procgen_installable() -> bool:
    """Whether the ``procgen`` extra has a Procgen build for this Python and platform (see :data:`PROCGEN_BUILDS`)."""
    machine = platform.machine()
    if sys.version_info < (3, 11):
        return machine in ("x86_64", "AMD64")
    return sys.version_info < (3, 13) and sys.platform == "linux" and machine == "x86_64"


def procgen_install_hint() -> str:
    """The command that installs Procgen, or, where the extra has no build for this Python, which Pythons have one."""
    if procgen_installable():
        return PROCGEN_INSTALL_COMMAND
    here = f"CPython {sys.version_info.major}.{sys.version_info.minor} on {sys.platform} {platform.machine()}"
    return f"Procgen 0.10.7 has no build for {here}; it installs on {PROCGEN_BUILDS}"


def import_procgen() -> ModuleType:
    """
    Import and return the ``procgen`` module, or raise an ``ImportError`` that says how to install it.

    :return: the ``procgen`` module
    """
    try:
        import procgen
    except ImportError as error:
        raise ImportError(
            "The Procgen environments (FruitBot) need the `procgen` package:\n"
            f"    {procgen_install_hint()}\n"
            "On Python 3.11/3.12 the import name `procgen` comes from the PyPI package `procgen-mirror` "
            "(the official `procgen` wheels stop before 3.11). Its compiled code is built against NumPy 1 "
            "(it requires numpy<2: with NumPy 2 the import fails); it also installs `gym3` and imports the "
            f"legacy `gym` package. Original error: {error}"
        ) from error
    return procgen


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_procgen_args(env_name: str, distribution_mode: str, num_levels: int, start_level: int) -> None:
    """Validate the level options before procgen sees them (it aborts the process on some bad values)."""
    if env_name not in PROCGEN_ENV_NAMES:
        raise ValueError(f"Unknown Procgen game env_name={env_name!r}; choose one of {', '.join(PROCGEN_ENV_NAMES)}")
    if distribution_mode not in _MODE_GAMES:
        raise ValueError(
            f"Unknown distribution_mode={distribution_mode!r}; choose one of {', '.join(DISTRIBUTION_MODES)} "
            '(the paper trains FruitBot in "easy")'
        )
    if env_name not in _MODE_GAMES[distribution_mode]:
        supported = [mode for mode, games in _MODE_GAMES.items() if env_name in games]
        raise ValueError(
            f"{env_name!r} has no distribution_mode={distribution_mode!r}; it supports {', '.join(supported)}"
        )
    num_levels = _check_int("num_levels (0 means unlimited levels)", num_levels, 0)
    start_level = _check_int("start_level", start_level, 0)
    if start_level + num_levels > _MAX_INT32:
        raise ValueError(f"start_level + num_levels must fit in a 32-bit integer, got {start_level} + {num_levels}")


def _episode_timeout(gym3_env: Any) -> int | None:
    """
    Step limit of the game, read from the serialized state of the first environment (procgen does not
    expose it). Layout of ``Game::serialize`` (procgen 0.10): int version, string name, 17 ints of options
    and level settings, two random generators (int + string each), float reward, 3 ints, then ``timeout``.
    """
    try:
        state = gym3_env.get_state()[0]
        offset = 0

        def read_int() -> int:
            nonlocal offset
            (value,) = struct.unpack_from("<i", state, offset)
            offset += 4
            return int(value)

        def skip_string() -> None:
            nonlocal offset
            length = read_int()  # read before `offset` is: read_int() moves it
            offset += length

        if read_int() != 0:  # serialization format version
            raise ValueError("unknown procgen state version")
        skip_string()  # game name
        offset += 4 * 17
        for _ in range(2):  # level_seed_rand_gen, rand_gen
            read_int()
            skip_string()
        offset += 4 * 4  # reward (float), done, level_complete, action
        timeout = read_int()
        if not 0 < timeout < 10**7:
            raise ValueError(f"implausible timeout {timeout}")
        return timeout
    except Exception as error:  # a different procgen build: fall back to no truncation flag
        warnings.warn(
            f"Could not read the episode step limit from procgen's state ({error}); episodes that end on the "
            "time limit will not be flagged with TimeLimit.truncated.",
            stacklevel=3,
        )
        return None


def _make_gym3_env(
    num: int,
    env_name: str,
    distribution_mode: str,
    num_levels: int,
    start_level: int,
    rand_seed: int | None,
    render_mode: str | None,
    num_threads: int | None,
    options: dict[str, Any],
) -> Any:
    procgen = import_procgen()
    kwargs: dict[str, Any] = dict(options)
    if distribution_mode != "exploration":  # exploration mode fixes its single level itself
        kwargs.update(num_levels=num_levels, start_level=start_level)
    if num_threads is not None:
        kwargs["num_threads"] = num_threads
    return procgen.ProcgenGym3Env(
        num=num,
        env_name=env_name,
        distribution_mode=distribution_mode,
        rand_seed=rand_seed,
        render_mode=render_mode,
        **kwargs,
    )


def _check_render_mode(render_mode: str | None) -> None:
    if render_mode not in (None, "rgb_array"):
        raise ValueError(f'render_mode must be None or "rgb_array", got {render_mode!r}')


class ProcgenVecEnv(VecEnv):
    """
    SB3 ``VecEnv`` over procgen's native vectorised gym3 environment: one C++ call steps all ``num_envs``
    environments (procgen's own thread pool), ``step_async`` starts it and ``step_wait`` collects it.

    * observations: ``uint8`` images ``(num_envs, 64, 64, 3)`` (HWC; SB3 adds ``VecTransposeImage`` for CNN
      policies), actions: ``Discrete(15)``;
    * environments reset themselves when an episode ends (``done=True``); ``infos[i]`` then holds
      ``terminal_observation`` (the last frame of the finished episode, see the module docstring),
      ``TimeLimit.truncated``, ``level_seed`` (the level just played) and ``level_complete``;
    * episode returns and lengths: wrap with SB3's ``VecMonitor`` (:func:`make_procgen_vec_env` does);
    * seeding: procgen draws every environment's levels from one generator seeded with ``seed``. The same
      ``seed`` and level options give the same observations; ``seed(s)`` then ``reset()`` rebuilds the
      native environment with seed ``s``. ``reset()`` without a new seed starts a new episode (new level)
      in every environment.

    All sub-environments share one native instance, so ``get_attr`` returns the shared value for each
    requested index, while ``set_attr`` and ``env_method`` act on all environments at once (``indices``
    must be ``None`` or cover every environment). Setting a level option (``env_name``, ``num_levels``,
    ``start_level``, ``distribution_mode``) takes effect at the next ``reset()``.

    The defaults are the paper's FruitBot set-up (easy, 500 training levels from 0); procgen's own
    defaults are ``distribution_mode="hard"``, ``num_levels=0`` (unlimited).

    :param num_envs: Number of environments stepped together
    :param env_name: Procgen game (see ``PROCGEN_ENV_NAMES``)
    :param num_levels: Number of distinct levels (0: unlimited)
    :param start_level: First level seed; levels are ``start_level .. start_level + num_levels - 1``
    :param distribution_mode: ``"easy"``, ``"hard"``, ``"extreme"``, ``"memory"`` or ``"exploration"``
        (not every game has every mode)
    :param seed: Seed of procgen's level and game randomness (None: drawn at random by procgen)
    :param render_mode: None or ``"rgb_array"`` (512x512 frames from ``render()``; slower stepping)
    :param num_threads: Threads of procgen's native pool (None: procgen's default, 4)
    :param options: Further procgen options (``center_agent``, ``use_backgrounds``, ``paint_vel_info``,
        ``use_sequential_levels``, ``restrict_themes``, ``use_monochrome_assets``, ``use_generated_assets``)
    """

    def __init__(
        self,
        num_envs: int = 64,
        env_name: str = "fruitbot",
        num_levels: int = 500,
        start_level: int = 0,
        distribution_mode: str = "easy",
        seed: int | None = None,
        render_mode: str | None = None,
        num_threads: int | None = None,
        **options: Any,
    ) -> None:
        num_envs = _check_int("num_envs", num_envs, 1)
        _check_procgen_args(env_name, distribution_mode, num_levels, start_level)
        _check_render_mode(render_mode)
        if num_threads is not None:
            _check_int("num_threads", num_threads, 0)
        self.env_name = env_name
        self.num_levels = int(num_levels)
        self.start_level = int(start_level)
        self.distribution_mode = distribution_mode
        self.render_mode = render_mode
        self.num_threads = num_threads
        self.options = dict(options)
        self.num_envs = num_envs

        self._gym3_env: Any = None
        self._built_config: tuple[Any, ...] | None = None
        self._rand_seed = None if seed is None else int(seed) % (_MAX_INT32 + 1)
        self._build()
        super().__init__(
            num_envs,
            spaces.Box(low=0, high=255, shape=OBS_SHAPE, dtype=np.uint8),
            spaces.Discrete(N_ACTIONS),
        )
        self.closed = False

    # ------------------------------------------------------------------ native environment

    def _level_config(self) -> tuple[Any, ...]:
        return (self.env_name, self.num_levels, self.start_level, self.distribution_mode)

    def _build(self) -> None:
        """(Re)create the native environment with ``self._rand_seed`` and the current level options."""
        _check_procgen_args(self.env_name, self.distribution_mode, self.num_levels, self.start_level)
        if self._gym3_env is not None:
            self._gym3_env.close()
        self._gym3_env = _make_gym3_env(
            self.num_envs,
            self.env_name,
            self.distribution_mode,
            self.num_levels,
            self.start_level,
            self._rand_seed,
            self.render_mode,
            self.num_threads,
            self.options,
        )
        self._built_config = self._level_config()
        self.timeout = _episode_timeout(self._gym3_env)
        _, obs, _ = self._gym3_env.observe()
        self._obs: np.ndarray = obs["rgb"]
        self._episode_lengths = np.zeros(self.num_envs, dtype=np.int64)
        # True while every environment is at the first frame of an episode no action was taken in.
        self._at_episode_start = True

    @property
    def level_seeds(self) -> np.ndarray:
        """Level seed of the episode each environment is playing, shape ``(num_envs,)``."""
        return np.array([info["level_seed"] for info in self._gym3_env.get_info()], dtype=np.int64)

    def get_env_state(self) -> dict[str, Any]:
        """
        Snapshot of every environment, for checkpoints that resume a run exactly: procgen's serialized game
        states (each game's level and random generators included) and this wrapper's step bookkeeping.

        :return: a picklable dict for :meth:`set_env_state`
        """
        return {
            "level_config": self._level_config(),
            "num_envs": self.num_envs,
            "game_states": [bytes(state) for state in self._gym3_env.get_state()],
            "obs": self._obs.copy(),
            "episode_lengths": self._episode_lengths.copy(),
            "at_episode_start": self._at_episode_start,
        }

    def set_env_state(self, state: dict[str, Any]) -> None:
        """
        Restore a snapshot of :meth:`get_env_state`: the next ``step`` continues every episode where the
        snapshot was taken, with the same random draws.

        :param state: a snapshot taken from an environment with the same level options and ``num_envs``
        """
        if state["level_config"] != self._level_config() or state["num_envs"] != self.num_envs:
            raise ValueError(
                f"The snapshot was taken with level options {state['level_config']} and {state['num_envs']} "
                f"environments, this environment has {self._level_config()} and {self.num_envs}: build the "
                "environment with the snapshot's settings first."
            )
        if self._level_config() != self._built_config:
            self._build()
        self._gym3_env.set_state(list(state["game_states"]))
        self._obs = state["obs"].copy()
        self._episode_lengths = state["episode_lengths"].copy()
        self._at_episode_start = bool(state["at_episode_start"])

    # ------------------------------------------------------------------ VecEnv API

    def reset(self) -> VecEnvObs:
        """
        Start a new episode in every environment and return the first observations.

        A seed given with ``seed()`` (or changed level options) rebuilds the native environment, so the
        levels that follow are those of that seed; otherwise every environment moves on to its next level.

        :return: observations, shape ``(num_envs, 64, 64, 3)``
        """
        if any(options for options in self._options):
            warnings.warn("ProcgenVecEnv.reset() ignores reset options: procgen has none.", stacklevel=2)
        if self._seeds[0] is not None:
            self._rand_seed = int(self._seeds[0]) % (_MAX_INT32 + 1)
            self._build()
        elif self._level_config() != self._built_config:
            self._build()
        elif not self._at_episode_start:
            # Action -1 makes procgen end the current episode of every environment and load a new level.
            self._gym3_env.act(np.full(self.num_envs, -1, dtype=np.int32))
            _, obs, _ = self._gym3_env.observe()
            self._obs = obs["rgb"]
            self._episode_lengths[:] = 0
            self._at_episode_start = True
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [{"level_seed": int(seed)} for seed in self.level_seeds]
        return self._obs

    def step_async(self, actions: np.ndarray) -> None:
        """
        Start one native step of all environments.

        :param actions: integer actions in ``[0, 15)``, shape ``(num_envs,)`` (or ``(num_envs, 1)``)
        """
        actions = np.asarray(actions)
        if actions.size != self.num_envs or not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(
                f"Expected {self.num_envs} integer actions (one per environment), got an array of shape "
                f"{actions.shape} and dtype {actions.dtype}"
            )
        actions = actions.reshape(self.num_envs).astype(np.int32, copy=False)
        if actions.min() < 0 or actions.max() >= N_ACTIONS:
            raise ValueError(f"Actions must lie in [0, {N_ACTIONS}), got min {actions.min()}, max {actions.max()}")
        self._gym3_env.act(actions)

    def step_wait(self) -> VecEnvStepReturn:
        """
        Wait for the native step and return ``(obs, rewards, dones, infos)``.

        :return: observations ``(num_envs, 64, 64, 3)`` uint8, rewards ``(num_envs,)`` float32,
            dones ``(num_envs,)`` bool, and one info dict per environment
        """
        # gym3 returns (reward, observation, first): `first` marks the first frame of a new episode, so it
        # is the `done` of the step that has just ended the previous one.
        rewards, obs_dict, dones = self._gym3_env.observe()
        obs: np.ndarray = obs_dict["rgb"]
        self._episode_lengths += 1
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if dones.any():
            native_infos = self._gym3_env.get_info()
            for idx in np.flatnonzero(dones):
                level_complete = bool(native_infos[idx]["prev_level_complete"])
                truncated = bool(
                    not level_complete and self.timeout is not None and self._episode_lengths[idx] >= self.timeout
                )
                infos[idx]["terminal_observation"] = self._obs[idx].copy()
                infos[idx]["TimeLimit.truncated"] = truncated
                infos[idx]["level_seed"] = int(native_infos[idx]["prev_level_seed"])
                infos[idx]["level_complete"] = level_complete
            self._episode_lengths[dones] = 0
        self._obs = obs
        self._at_episode_start = False
        return obs, rewards, dones, infos

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """
        Seed procgen's level and game randomness at the next ``reset()`` (which rebuilds the native env).

        Procgen seeds all environments from one generator, so only ``seed`` itself is used; the list
        returned follows SB3's convention (``seed + index``).

        :param seed: The seed (None: a random one)
        :return: the seeds, one per environment
        """
        return super().seed(seed)

    def close(self) -> None:
        """Free the native environment."""
        if self._gym3_env is not None:
            self._gym3_env.close()
            self._gym3_env = None
        self.closed = True

    def get_images(self) -> Sequence[np.ndarray | None]:
        """
        Frames of every environment: 512x512 renders with ``render_mode="rgb_array"``, else the 64x64
        observations.

        :return: one HWC ``uint8`` image per environment
        """
        if self.render_mode == "rgb_array":
            return [info["rgb"] for info in self._gym3_env.get_info()]
        return list(self._obs)

    def _get_indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        index_list = [int(indices)] if isinstance(indices, (int, np.integer)) else [int(i) for i in indices]
        for i in index_list:
            if not 0 <= i < self.num_envs:
                raise IndexError(f"Environment index {i} out of range for {self.num_envs} environments")
        return index_list

    def _check_all_indices(self, indices: VecEnvIndices, what: str) -> list[int]:
        index_list = self._get_indices(indices)
        if sorted(set(index_list)) != list(range(self.num_envs)):
            raise ValueError(
                f"ProcgenVecEnv.{what} acts on all environments at once (they share one native instance): "
                "pass indices=None"
            )
        return index_list

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """
        Return the value of a (shared) attribute once per requested environment.

        :param attr_name: Name of the attribute, e.g. ``"env_name"``, ``"num_levels"``, ``"timeout"``
        :param indices: Indices of the environments
        :return: the value, once per index
        """
        value = getattr(self, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """
        Set an attribute of all environments. Level options take effect at the next ``reset()``.

        :param attr_name: Name of the attribute
        :param value: Value to assign
        :param indices: None (all environments; a subset is an error)
        """
        self._check_all_indices(indices, "set_attr")
        if attr_name in _LEVEL_OPTIONS:
            config = dict(zip(_LEVEL_OPTIONS, self._level_config(), strict=True))
            config[attr_name] = value
            _check_procgen_args(**config)
        setattr(self, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        """
        Call a method of the (shared) environment once; its result is returned once per environment.

        :param method_name: Name of the method
        :param method_args: Positional arguments
        :param indices: None (all environments; a subset is an error)
        :param method_kwargs: Keyword arguments
        :return: the result, once per environment
        """
        index_list = self._check_all_indices(indices, "env_method")
        result = getattr(self, method_name)(*method_args, **method_kwargs)
        return [result for _ in index_list]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        """
        The native environments carry no gymnasium wrapper.

        :param wrapper_class: Wrapper class
        :param indices: Indices of the environments
        :return: False for each index
        """
        return [False for _ in self._get_indices(indices)]


class ProcgenEnv(gym.Env[np.ndarray, np.int64]):
    """
    A single Procgen environment as a ``gymnasium.Env`` (for rl-zoo and other tools that vectorise
    environments themselves; :class:`ProcgenVecEnv` is much faster for training). ``FruitBot-v0`` makes one.

    ``reset(seed=s)`` rebuilds the native environment from ``s`` (same seed, same levels, same frames).
    ``reset()`` continues with the next level: after an episode ends, the next level's first frame, which
    procgen has already drawn, is returned; otherwise the current episode is abandoned for a new level.
    When an episode ends, ``step`` returns the last frame of that episode (see the module docstring) with
    ``terminated`` (level completed or agent died) or ``truncated`` (step limit reached).

    :param env_name: Procgen game (see ``PROCGEN_ENV_NAMES``)
    :param num_levels: Number of distinct levels (0: unlimited)
    :param start_level: First level seed
    :param distribution_mode: ``"easy"``, ``"hard"``, ``"extreme"``, ``"memory"`` or ``"exploration"``
    :param render_mode: None or ``"rgb_array"`` (512x512 frames)
    :param options: Further procgen options (see :class:`ProcgenVecEnv`)
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(
        self,
        env_name: str = "fruitbot",
        num_levels: int = 500,
        start_level: int = 0,
        distribution_mode: str = "easy",
        render_mode: str | None = None,
        **options: Any,
    ) -> None:
        _check_procgen_args(env_name, distribution_mode, num_levels, start_level)
        _check_render_mode(render_mode)
        import_procgen()  # fail now, with the install command, rather than at the first reset()
        self.env_name = env_name
        self.num_levels = int(num_levels)
        self.start_level = int(start_level)
        self.distribution_mode = distribution_mode
        self.render_mode = render_mode
        self.options = dict(options)
        self.observation_space = spaces.Box(low=0, high=255, shape=OBS_SHAPE, dtype=np.uint8)
        self.action_space = spaces.Discrete(N_ACTIONS)
        self._gym3_env: Any = None
        self.timeout: int | None = None
        self._last_obs: np.ndarray | None = None
        self._next_obs: np.ndarray | None = None  # first frame of the next episode, after a done
        self._episode_length = 0

    def _build(self, rand_seed: int) -> None:
        if self._gym3_env is not None:
            self._gym3_env.close()
        self._gym3_env = _make_gym3_env(
            1,
            self.env_name,
            self.distribution_mode,
            self.num_levels,
            self.start_level,
            rand_seed,
            self.render_mode,
            1,
            self.options,
        )
        self.timeout = _episode_timeout(self._gym3_env)
        _, obs, _ = self._gym3_env.observe()
        self._next_obs = obs["rgb"][0]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """
        Start a new episode.

        :param seed: Rebuild the native environment from this seed (None: continue with the next level)
        :param options: Unused (procgen has no reset options)
        :return: the first observation and ``{"level_seed": ...}``
        """
        super().reset(seed=seed)
        if seed is not None or self._gym3_env is None:
            # Procgen takes a 31-bit seed; derive it from gymnasium's generator (seeded by `seed`).
            self._build(int(self.np_random.integers(0, _MAX_INT32)))
        elif self._next_obs is None:
            self._gym3_env.act(np.full(1, -1, dtype=np.int32))  # -1: procgen ends the episode
            _, obs, _ = self._gym3_env.observe()
            self._next_obs = obs["rgb"][0]
        assert self._next_obs is not None
        self._last_obs, self._next_obs = self._next_obs, None
        self._episode_length = 0
        return self._last_obs, {"level_seed": int(self._gym3_env.get_info()[0]["level_seed"])}

    def step(self, action: int | np.integer | np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """
        Take one step.

        :param action: an integer in ``[0, 15)``
        :return: observation, reward, terminated, truncated, info (``level_seed`` and ``level_complete``
            when the episode ends)
        """
        if self._gym3_env is None:
            raise RuntimeError("Call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"Invalid action {action!r}: expected an integer in [0, {N_ACTIONS})")
        self._gym3_env.act(np.full(1, int(action), dtype=np.int32))
        rewards, obs_dict, first = self._gym3_env.observe()
        obs = obs_dict["rgb"][0]
        self._episode_length += 1
        info: dict[str, Any] = {}
        terminated = truncated = False
        if first[0]:
            native_info = self._gym3_env.get_info()[0]
            level_complete = bool(native_info["prev_level_complete"])
            truncated = bool(not level_complete and self.timeout is not None and self._episode_length >= self.timeout)
            terminated = not truncated
            info = {"level_seed": int(native_info["prev_level_seed"]), "level_complete": level_complete}
            # Procgen has already drawn the next level's first frame: keep it for reset() and return the
            # last frame of the finished episode.
            self._next_obs = obs
            obs = self._last_obs
        else:
            self._next_obs = None
        assert obs is not None
        self._last_obs = obs
        return obs, float(rewards[0]), terminated, truncated, info

    def render(self) -> np.ndarray | None:
        """
        :return: the current 512x512 frame with ``render_mode="rgb_array"``, else None
        """
        if self.render_mode != "rgb_array" or self._gym3_env is None:
            return None
        return self._gym3_env.get_info()[0]["rgb"]

    def close(self) -> None:
        """Free the native environment."""
        if self._gym3_env is not None:
            self._gym3_env.close()
            self._gym3_env = None


def evaluation_levels(
    train_num_levels: int = 500, train_start_level: int = 0, num_levels: int | None = None
) -> dict[str, int]:
    """
    The unseen levels that follow a training range, the paper's test set: training on levels 0-499
    (``num_levels=500, start_level=0``) gives levels 500-999 (``start_level=500, num_levels=500``).

    :param train_num_levels: Number of training levels (must be > 0: 0 means every level is a training level)
    :param train_start_level: First training level
    :param num_levels: Number of test levels (None: as many as training levels)
    :return: ``{"start_level": ..., "num_levels": ...}``, keyword arguments of the environments
    """
    train_num_levels = _check_int("train_num_levels", train_num_levels, 1)
    train_start_level = _check_int("train_start_level", train_start_level, 0)
    test_num_levels = train_num_levels if num_levels is None else _check_int("num_levels", num_levels, 1)
    return {"start_level": train_start_level + train_num_levels, "num_levels": test_num_levels}


def make_procgen_vec_env(
    env_name: str = "fruitbot",
    n_envs: int = 64,
    num_levels: int = 500,
    start_level: int = 0,
    distribution_mode: str = "easy",
    seed: int | None = None,
    monitor: bool = True,
    monitor_kwargs: dict[str, Any] | None = None,
    **env_kwargs: Any,
) -> VecEnv:
    """
    A :class:`ProcgenVecEnv` (the paper's FruitBot training set-up by default), wrapped in SB3's
    ``VecMonitor`` so that episode returns reach the logger (``rollout/ep_rew_mean``).

    :param env_name: Procgen game
    :param n_envs: Number of environments (the Procgen paper and the maximum-entropy PPO paper use 64)
    :param num_levels: Number of training levels (0: unlimited)
    :param start_level: First level
    :param distribution_mode: Procgen distribution mode
    :param seed: Seed of the levels and game randomness
    :param monitor: Wrap in ``VecMonitor``
    :param monitor_kwargs: Keyword arguments of ``VecMonitor`` (``filename``, ``info_keywords``)
    :param env_kwargs: Further :class:`ProcgenVecEnv` arguments (``render_mode``, ``num_threads``, procgen options)
    :return: the vectorised environment
    """
    venv: VecEnv = ProcgenVecEnv(
        num_envs=n_envs,
        env_name=env_name,
        num_levels=num_levels,
        start_level=start_level,
        distribution_mode=distribution_mode,
        seed=seed,
        **env_kwargs,
    )
    if monitor:
        venv = VecMonitor(venv, **(monitor_kwargs or {}))
    return venv


def make_procgen_eval_vec_env(
    env_name: str = "fruitbot",
    n_envs: int = 64,
    train_num_levels: int = 500,
    train_start_level: int = 0,
    num_levels: int | None = None,
    distribution_mode: str = "easy",
    seed: int | None = None,
    **kwargs: Any,
) -> VecEnv:
    """
    The test environment of a training set-up: the unseen levels of :func:`evaluation_levels`
    (levels 500-999 for the paper's 500 training levels), in a monitored :class:`ProcgenVecEnv`.

    :param env_name: Procgen game
    :param n_envs: Number of environments
    :param train_num_levels: Number of training levels
    :param train_start_level: First training level
    :param num_levels: Number of test levels (None: as many as training levels)
    :param distribution_mode: Procgen distribution mode (the training one)
    :param seed: Seed of the levels and game randomness
    :param kwargs: Further :func:`make_procgen_vec_env` arguments
    :return: the vectorised test environment
    """
    levels = evaluation_levels(train_num_levels, train_start_level, num_levels)
    return make_procgen_vec_env(
        env_name=env_name,
        n_envs=n_envs,
        num_levels=levels["num_levels"],
        start_level=levels["start_level"],
        distribution_mode=distribution_mode,
        seed=seed,
        **kwargs,
    )
