"""Refuse, with a clear error, to load a file that another algorithm saved.

SB3's ``load()`` builds the loading class from whatever the file holds: ``SoftDQN.load("ppo.zip")`` fails deep
inside with ``'ActorCriticPolicy' object has no attribute 'q_net'``, and ``MaxEntPPO.load("ppo.zip")`` or
``SoftDQN.load("dqn.zip")`` silently give the subclass's default settings (an entropy bonus PPO never had, a
temperature DQN never had). SB3 does not record which algorithm saved a file, so the saving algorithm is
recognised by the parameters only it saves (:data:`FINGERPRINTS`), read from the archive's ``data`` entry
without unpickling anything; a file no fingerprint matches is left to SB3.

Use :class:`CheckedLoad` as the first base class of an algorithm (``class SoftDQN(CheckedLoad, DQN)``); its
``load()`` calls :func:`check_saved_algorithm` and then SB3's ``load()`` unchanged.
"""

from __future__ import annotations

import io
import json
import pathlib
import zipfile
from typing import Any, NamedTuple, TypeVar

import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.save_util import open_path
from stable_baselines3.common.type_aliases import GymEnv

SelfCheckedLoad = TypeVar("SelfCheckedLoad", bound="CheckedLoad")
SavePath = str | pathlib.Path | io.BufferedIOBase


class Fingerprint(NamedTuple):
    """An algorithm and what its saved ``data`` always holds."""

    #: class name, as its users import it
    name: str
    #: the package to import it from
    package: str
    #: parameters saved by this algorithm and by none listed after it
    keys: frozenset[str]
    #: module of the saved policy class, when the keys alone do not tell (MaskablePPO, RecurrentPPO vs PPO)
    policy_module: str | None = None


#: Most specific first: the first fingerprint whose keys (and policy module) a file matches names its algorithm.
FINGERPRINTS: tuple[Fingerprint, ...] = (
    Fingerprint("SoftDQN", "sb3_maxent", frozenset({"temperature", "munchausen_alpha"})),
    # SAC's keys with a DiscreteSAC policy (SAC's policies are in stable_baselines3.sac.policies)
    Fingerprint(
        "DiscreteSAC", "sb3_maxent", frozenset({"ent_coef", "target_entropy"}), "sb3_maxent.discrete_sac.policies"
    ),
    Fingerprint(
        "MaxEntMaskablePPO",
        "sb3_maxent",
        frozenset({"maxent_coef", "clip_range"}),
        "sb3_contrib.common.maskable.policies",
    ),
    Fingerprint("MaxEntTRPO", "sb3_maxent", frozenset({"maxent_coef", "cg_damping"})),
    Fingerprint("MaxEntPPO", "sb3_maxent", frozenset({"maxent_coef", "clip_range"})),
    Fingerprint("MaxEntA2C", "sb3_maxent", frozenset({"maxent_coef"})),
    Fingerprint("QRDQN", "sb3_contrib", frozenset({"n_quantiles"})),
    Fingerprint("DQN", "stable_baselines3", frozenset({"exploration_fraction", "target_update_interval"})),
    Fingerprint("TQC", "sb3_contrib", frozenset({"top_quantiles_to_drop_per_net"})),
    Fingerprint("CrossQ", "sb3_contrib", frozenset({"ent_coef", "policy_delay"})),
    Fingerprint("SAC", "stable_baselines3", frozenset({"ent_coef", "target_entropy"})),
    Fingerprint("TD3", "stable_baselines3", frozenset({"policy_delay", "target_policy_noise"})),  # or DDPG
    Fingerprint("TRPO", "sb3_contrib", frozenset({"cg_damping"})),
    Fingerprint("ARS", "sb3_contrib", frozenset({"n_delta"})),
    Fingerprint("MaskablePPO", "sb3_contrib", frozenset({"clip_range"}), "sb3_contrib.common.maskable.policies"),
    Fingerprint("RecurrentPPO", "sb3_contrib", frozenset({"clip_range"}), "sb3_contrib.common.recurrent.policies"),
    Fingerprint("PPO", "stable_baselines3", frozenset({"clip_range", "n_epochs"})),
    Fingerprint("A2C", "stable_baselines3", frozenset({"vf_coef", "gae_lambda"})),
)


def _read_saved_data(path: SavePath) -> dict[str, Any] | None:
    """The raw JSON ``data`` entry of a saved model (values not deserialised), or None if it cannot be read."""
    try:
        file = open_path(path, "r", verbose=0, suffix="zip")
    except (OSError, TypeError, ValueError):
        return None  # SB3's load() reports a missing or unreadable file itself
    start = file.tell()
    try:
        with zipfile.ZipFile(file) as archive:
            if "data" not in archive.namelist():
                return None
            data = json.loads(archive.read("data").decode())
            return data if isinstance(data, dict) else None
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError):
        return None
    finally:
        if file is path:
            file.seek(start)  # a file object given by the caller: SB3 reads it next
        else:
            file.close()


def identify_saved_algorithm(data: dict[str, Any]) -> Fingerprint | None:
    """The algorithm that saved ``data`` (the raw JSON ``data`` entry of a model file), or None if unknown."""
    keys = set(data)
    policy_class = data.get("policy_class")
    policy_module = policy_class.get("__module__") if isinstance(policy_class, dict) else None
    for fingerprint in FINGERPRINTS:
        if fingerprint.keys <= keys and fingerprint.policy_module in (None, policy_module):
            return fingerprint
    return None


def _own_fingerprint(algorithm: type[BaseAlgorithm]) -> Fingerprint | None:
    """The fingerprint of ``algorithm``: its own, or that of its nearest ancestor that has one."""
    by_name = {fingerprint.name: fingerprint for fingerprint in FINGERPRINTS}
    for cls in algorithm.__mro__:
        if cls.__name__ in by_name:
            return by_name[cls.__name__]
    return None


def check_saved_algorithm(path: SavePath, algorithm: type[BaseAlgorithm]) -> None:
    """
    Raise a ``ValueError`` naming both algorithms when the model file at ``path`` was saved by another
    algorithm than ``algorithm`` (or its subclasses). Files that no fingerprint recognises, and files that
    cannot be read, pass: SB3's ``load()`` then behaves (or fails) as it always does.

    :param path: what ``algorithm.load()`` was given (a path, with or without ``.zip``, or a file object)
    :param algorithm: the class whose ``load()`` was called
    """
    expected = _own_fingerprint(algorithm)
    data = _read_saved_data(path)
    if expected is None or data is None:
        return
    saved = identify_saved_algorithm(data)
    if saved is None or saved.name == expected.name:
        return
    missing = ", ".join(sorted(expected.keys - set(data)))
    what = f"{algorithm.__name__}'s {missing}" if missing else f"{algorithm.__name__}'s settings"
    raise ValueError(
        f"{path!s} was saved by {saved.name}, not by {algorithm.__name__}: it lacks {what}, and "
        f"{algorithm.__name__}.load() would build a model that {saved.name} never trained. Load it with "
        f"{saved.name}.load() (from {saved.package} import {saved.name}), or train a new {algorithm.__name__}."
    )


class CheckedLoad(BaseAlgorithm):
    """
    Base-class mixin: ``load()`` first refuses a file saved by another algorithm (:func:`check_saved_algorithm`),
    then is SB3's ``load()`` unchanged. Put it first among the bases: ``class SoftDQN(CheckedLoad, DQN)``.
    """

    @classmethod
    def load(
        cls: type[SelfCheckedLoad],
        path: str | pathlib.Path | io.BufferedIOBase,
        env: GymEnv | None = None,
        device: th.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> SelfCheckedLoad:
        check_saved_algorithm(path, cls)
        return super().load(
            path,
            env=env,
            device=device,
            custom_objects=custom_objects,
            print_system_info=print_system_info,
            force_reset=force_reset,
            **kwargs,
        )
