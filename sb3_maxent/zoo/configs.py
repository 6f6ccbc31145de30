"""Where the packaged rl-zoo configurations live.

The YAML files are kept in ``zoo_configs/`` at the repository root (rl-baselines3-zoo keeps its
``hyperparams/`` there too). ``sb3_maxent/zoo/configs`` is a symbolic link to that folder, so that
setuptools copies the files into the wheel as package data (``sb3_maxent/zoo/configs/*.yml``) while
the repository holds a single copy. Where the link is not followed (a checkout made without
symbolic links, on Windows for instance) the repository folder is used directly.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_CONFIGS = Path(__file__).resolve().parent / "configs"
_REPOSITORY_CONFIGS = Path(__file__).resolve().parents[2] / "zoo_configs"


def config_dir() -> Path:
    """The folder holding the packaged ``<algo>.yml`` files (installed package first, then the repository)."""
    for candidate in (_PACKAGE_CONFIGS, _REPOSITORY_CONFIGS):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"sb3-maxent's zoo configurations are missing: neither {_PACKAGE_CONFIGS} nor {_REPOSITORY_CONFIGS} exists"
    )


def config_path(algo: str) -> Path | None:
    """The packaged configuration for an rl-zoo algorithm key (``maxent_ppo``, ``ppo``, ...), or None."""
    path = config_dir() / f"{algo}.yml"
    return path if path.is_file() else None


def packaged_algos() -> list[str]:
    """Algorithm keys that have a packaged configuration file."""
    return sorted(path.stem for path in config_dir().glob("*.yml"))
