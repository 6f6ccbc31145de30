"""``python -m sb3_maxent.enjoy``: rl_zoo3's enjoy script, with sb3-maxent's algorithms registered.

Every option of ``python -m rl_zoo3.enjoy`` works; see ``docs/guide/zoo.md``.
"""

from sb3_maxent.zoo.cli import enjoy

if __name__ == "__main__":
    raise SystemExit(enjoy())
