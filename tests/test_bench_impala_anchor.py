"""benchmarks/impala_anchor.py: the published runs are read from train-procgen's CSV layout, and the comparison's
numbers (published mean and std, distance in standard deviations, window means, the verdict at 999,424 steps)
match a computation done here by hand on made-up curves."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import impala_anchor as anchor

ROLLOUT = 16_384
STEPS = [ROLLOUT * k for k in range(1, 62)]  # 16,384 ... 999,424


def published_runs() -> list[dict[str, Any]]:
    """Run r's train return at rollout k is k / 10 + r (so the three runs' mean is k / 10 + 1, std 1)."""
    runs = []
    for run in range(3):
        train = [k / 10 + run for k in range(1, 62)]
        runs.append(
            {
                "train": {"timesteps": STEPS, "ep_return_mean100": train, "entropy": [2.0 + run / 10] * 61},
                "test": {"timesteps": STEPS, "ep_return_mean100": [value - 1 for value in train]},
            }
        )
    return runs


def write_checkout(root: Path) -> None:
    for run, curves in enumerate(published_runs()):
        for split in ("train", "test"):
            path = root / anchor.RUN_FILES.format(run=run, split=split)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["eplenmean", "eprewmean", "loss/policy_entropy", "misc/total_timesteps"])
                curve = curves[split]
                entropy = curve.get("entropy", [0.0] * 61)
                for step, value, ent in zip(curve["timesteps"], curve["ep_return_mean100"], entropy, strict=True):
                    writer.writerow([80.0, value, ent, float(step)])
                writer.writerow([80.0, 99.0, 0.0, 2_015_232.0])  # beyond the extract's 2M steps


def ours(last: int, offset: float) -> dict[str, Any]:
    """Our train return at rollout k is k / 10 + 1 + offset (offset published stds from the mean)."""
    steps = [step for step in STEPS if step <= last]
    returns = [step / ROLLOUT / 10 + 1 + offset for step in steps]
    points = [
        {"timesteps": step, "test_return_mean": 0.5, "train_levels_return_mean": 0.25}
        for step in (0, 163_840, 311_296)
        if step <= last
    ]
    record = {
        "seed": 0,
        "train_curve": {"timesteps": steps, "ep_return_mean100": returns},
        "entropy_curve": {"timesteps": steps, "entropy": [2.5] * len(steps)},
        "checkpoints": points,
    }
    return {"settings": {"timesteps": 999_424}, "runs": [], "in_progress": {"ppo:0.01|200|0": record}}


def test_extract_reads_train_procgen_layout(tmp_path: Path) -> None:
    write_checkout(tmp_path)
    extracted = anchor.extract(tmp_path)
    assert extracted["runs"] == published_runs()  # the row past 2M steps is left out
    assert extracted["commit"] == "unknown"  # not a git checkout


def test_comparison_numbers_and_verdict(tmp_path: Path) -> None:
    published = {"commit": "0123456789", "runs": published_runs()}
    # In progress at 311,296 steps (rollout 19), 2 stds below: no verdict yet
    text = anchor.render(ours(311_296, -2.0), published, "cmd")
    assert "in progress: 311,296 of 999,424 steps" in text
    # rollout 19: ours 1.9 + 1 - 2 = 0.90, published 2.90 +- 1.00 (1.90 to 3.90); test 0.5 against 1.90 +- 1.00
    assert (
        "| 311,296 | 0.90 | 2.90 ± 1.00 (1.90 to 3.90) | -2.0 | 0.25 | 0.50 | 1.90 ± 1.00 (0.90 to 2.90) | -1.4 |"
        in text
    )
    # first window: rollouts 1-4, ours mean 0.25 + 1 - 2 = -0.75, published per-run means 1.25, 2.25, 3.25
    assert "| 16,384 to 65,536 | -0.75 | 1.25 ± 1.00 (0.25 to 2.25) | -2.0 | 2.50 | 2.10 |" in text
    assert "No verdict yet" in text
    # finished run 0.5 std below the mean at 999,424 (rollout 61): inside; 1.5 std below: outside
    for offset, word in ((-0.5, "inside"), (-1.5, "outside")):
        data = ours(999_424, offset)
        data["runs"] = list(data.pop("in_progress").values())
        text = anchor.render(data, published, "cmd")
        assert f"train return {6.1 + 1 + offset:.2f} against 7.10 ± 1.00: {word} the published spread" in text


@pytest.mark.parametrize("last", [311_296, 999_424])
def test_plot(tmp_path: Path, last: int) -> None:
    pytest.importorskip("matplotlib")
    path = anchor.plot(ours(last, 0.0), {"runs": published_runs()}, tmp_path / "anchor.png")
    assert path.stat().st_size > 10_000
