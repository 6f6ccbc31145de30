"""``python -m sb3_maxent.train``: rl_zoo3's train script, with sb3-maxent's algorithms and configurations.

Every option of ``python -m rl_zoo3.train`` works; see ``docs/guide/zoo.md``.
"""

from sb3_maxent.zoo.cli import train

if __name__ == "__main__":
    raise SystemExit(train())
