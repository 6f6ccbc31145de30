"""benchmarks/fruitbot_paper.py: an interrupted run resumed from its checkpoint matches an uninterrupted one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sb3_maxent.envs.procgen import procgen_install_hint

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "fruitbot_paper.py"
# --quick: 8 environments x 64 steps (512 steps per rollout); 3 rollouts, a checkpoint after each
TINY = ["--quick", "--timesteps", "1536", "--eval-every", "512", "--eval-episodes", "4", "--seeds", "0"]


def run_script(*args: str) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *TINY, *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def only_run(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    assert len(data["runs"]) == 1, data.get("in_progress", {}).keys()
    return data["runs"][0]


def curves(run: dict[str, Any]) -> dict[str, Any]:
    """Everything measured, without wall-clock times."""
    train = {key: value for key, value in run["train_curve"].items() if key != "wall_s"}
    checkpoints = [{key: value for key, value in point.items() if key != "eval_s"} for point in run["checkpoints"]]
    return {
        "train": train,
        "entropy": run["entropy_curve"],
        "updates": run["update_curve"],
        "checkpoints": checkpoints,
    }


def test_resumed_run_matches_uninterrupted(tmp_path: Path) -> None:
    agent = "maxent_one_step:0.03"
    pytest.importorskip("procgen", reason=f"Procgen is not installed: {procgen_install_hint()}")
    whole = tmp_path / "whole.json"
    cut = tmp_path / "cut.json"
    run_script("--agents", agent, "--out", str(whole))

    # interrupted after 2 checkpoints (t = 0 and t = 512): nothing finished, a checkpoint on disk
    out = run_script("--agents", agent, "--out", str(cut), "--stop-after-checkpoints", "2")
    assert "stopped after 2 checkpoint(s) at t=512" in out
    cut_json = cut.with_name("cut_quick.json")
    partial = json.loads(cut_json.read_text())
    assert partial["runs"] == []
    (record,) = partial["in_progress"].values()
    assert record["train_curve"]["timesteps"] == [512]
    folder = tmp_path / "checkpoints" / "cut_quick" / f"{agent.replace(':', '_')}_500levels_seed0"
    assert (folder / "LATEST").read_text() == "t0000000512"

    out = run_script("--agents", agent, "--out", str(cut), "--resume")
    assert "resumed from" in out
    expected = only_run(whole.with_name("whole_quick.json"))
    # one entry per update, the last one (which no rollout follows) included
    assert expected["update_curve"]["timesteps"] == [512, 1024, 1536]
    assert min(expected["update_curve"]["approx_kl"]) > 0
    assert min(expected["update_curve"]["clip_fraction"]) >= 0
    resumed = only_run(cut_json)
    assert resumed["resumed_at"] == [512]
    assert resumed["timesteps"] == expected["timesteps"] == 1536
    # bit for bit: the curve up to the interruption, and every point after it
    assert curves(resumed) == curves(expected)
    assert not folder.exists()  # a finished run removes its checkpoint (unless --keep-checkpoints)

    # a finished run is skipped by --resume
    out = run_script("--agents", agent, "--out", str(cut), "--resume")
    assert "1 already in" in out


def test_checkpoints_between_evaluations(tmp_path: Path) -> None:
    """--checkpoint-every: a resume point between two evaluations, and the same curve as a run without it."""
    agent = "ppo:0.01"
    pytest.importorskip("procgen", reason=f"Procgen is not installed: {procgen_install_hint()}")
    sparse = ["--agents", agent, "--eval-every", "1024"]  # evaluations at 0, 1024 and the end (1536)
    whole = tmp_path / "whole.json"
    cut = tmp_path / "cut.json"
    run_script(*sparse, "--out", str(whole))

    # 2 checkpoints: the evaluation at t = 0, then t = 512 with no evaluation
    out = run_script(*sparse, "--checkpoint-every", "512", "--out", str(cut), "--stop-after-checkpoints", "2")
    assert "stopped after 2 checkpoint(s) at t=512" in out
    cut_json = cut.with_name("cut_quick.json")
    (record,) = json.loads(cut_json.read_text())["in_progress"].values()
    assert [point["timesteps"] for point in record["checkpoints"]] == [0]
    assert record["train_curve"]["timesteps"] == [512]  # the curves reach the checkpoint between evaluations
    folder = tmp_path / "checkpoints" / "cut_quick" / f"{agent.replace(':', '_')}_500levels_seed0"
    assert (folder / "LATEST").read_text() == "t0000000512"

    out = run_script(*sparse, "--checkpoint-every", "512", "--out", str(cut), "--resume")
    assert "resumed from" in out
    resumed = only_run(cut_json)
    assert resumed["resumed_at"] == [512]
    assert [point["timesteps"] for point in resumed["checkpoints"]] == [0, 1024, 1536]
    assert curves(resumed) == curves(only_run(whole.with_name("whole_quick.json")))

    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--checkpoint-every", "-1"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "--checkpoint-every must be a number of steps >= 0" in result.stderr


def test_agent_names_are_checked() -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for bad, message in (("maxent_one_step", "KIND:COEF"), ("maxent_one_step:-1", ">= 0"), ("sac:0.1", "KIND")):
        result = subprocess.run(
            [sys.executable, str(SCRIPT), "--quick", "--agents", bad], capture_output=True, text=True, env=env
        )
        assert result.returncode == 2
        assert message in result.stderr
