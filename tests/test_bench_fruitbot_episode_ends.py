"""benchmarks/fruitbot_episode_ends.py: counts how FruitBot episodes end (completed, died, truncated)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import fruitbot_episode_ends as ends

SCRIPT = Path(ends.__file__)


def test_random_policy_episodes_are_counted_once_each() -> None:
    """Random play on FruitBot only dies (it never survives 1000 steps nor finishes a level): every finished
    episode is counted once, with its length, and the shares add up."""
    pytest.importorskip("procgen")
    n_envs, steps = 4, 400
    result = ends.play(None, n_envs=n_envs, num_levels=5, steps=steps, seed=0)
    assert result["timeout"] == 1000
    assert result["episodes"]["died"] > n_envs  # random episodes last ~80 steps: several per environment
    assert result["episodes"]["completed"] == result["episodes"]["truncated"] == 0
    assert result["steps"]["died"] <= n_envs * steps
    assert result["steps"]["died"] > n_envs * (steps - 300)  # only each environment's unfinished episode is left out
    assert result["mean_length"] == pytest.approx(result["steps"]["died"] / result["episodes"]["died"])
    assert sum(result["episode_share"].values()) == pytest.approx(1.0)
    assert sum(result["step_share"].values()) == pytest.approx(1.0)


def test_missing_model_is_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--model", "nowhere/model.zip"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "--model nowhere/model.zip: no such file" in result.stderr
