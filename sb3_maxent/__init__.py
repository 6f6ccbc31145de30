"""sb3-maxent: maximum-entropy reinforcement learning for Stable-Baselines3."""

import contextlib
import importlib.util
import io
import os
import sys


def _import_legacy_gym_quietly() -> None:
    """
    Import the legacy ``gym`` package, where installed, without its deprecation notice.

    Only the ``procgen`` extra installs ``gym`` (procgen imports it), but SB3 imports it whenever it is
    installed (``stable_baselines3.common.vec_env.patch_gym``) and gym then prints a four-line notice on
    stderr with ``print`` (no warning filter can stop it), before every run, FruitBot or not. sb3-maxent never
    uses gym: importing it first with stderr captured leaves SB3 a silent, already imported module.
    """
    if "gym" in sys.modules or importlib.util.find_spec("gym") is None:
        return
    with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(ImportError):
        import gym  # noqa: F401


_import_legacy_gym_quietly()

from stable_baselines3 import SAC  # noqa: E402  (after the quiet gym import above)

from sb3_maxent.discrete_sac import DiscreteSAC  # noqa: E402
from sb3_maxent.envs import register_envs  # noqa: E402
from sb3_maxent.maxent_a2c import MaxEntA2C  # noqa: E402
from sb3_maxent.maxent_ppo import MaxEntPPO  # noqa: E402
from sb3_maxent.maxent_ppo_mask import MaxEntMaskablePPO  # noqa: E402
from sb3_maxent.maxent_trpo import MaxEntTRPO  # noqa: E402
from sb3_maxent.soft_dqn import SoftDQN  # noqa: E402

# Read the version from the file (single place, also read by pyproject.toml)
with open(os.path.join(os.path.dirname(__file__), "version.txt")) as file_handler:
    __version__ = file_handler.read().strip()

register_envs()

__all__ = [
    "SAC",
    "DiscreteSAC",
    "MaxEntA2C",
    "MaxEntMaskablePPO",
    "MaxEntPPO",
    "MaxEntTRPO",
    "SoftDQN",
    "__version__",
]
