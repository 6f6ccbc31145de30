"""benchmarks/impala_anchor.py: the published runs are read from train-procgen's CSV layout, and the comparison's
numbers (published mean and std, distance in standard deviations, window means, the verdict at 999,424 steps)
match a computation done here by hand on made-up curves."""

from __future__ import annotations

import csv
import json
import math
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
                "train": {
                    "timesteps": STEPS,
                    "ep_return_mean100": train,
                    "entropy": [2.0 + run / 10] * 61,
                    # ppo2's other columns: run r's episode length 80 + 10 r, clip fraction 0.1 + 0.05 r, ...
                    "episode_length": [80.0 + 10 * run] * 61,
                    "approx_kl": [0.001 * (run + 1)] * 61,
                    "clip_fraction": [0.1 + 0.05 * run] * 61,
                    "explained_variance": [0.5 + 0.1 * run] * 61,
                },
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
                columns = list(anchor.TRAIN_COLUMNS.items())
                writer.writerow(["eprewmean", *(column for _, column in columns), "misc/total_timesteps", "fps"])
                curve = curves[split]
                for row, step in enumerate(curve["timesteps"]):
                    train_values = [curve.get(key, [0.0] * 61)[row] for key, _ in columns]
                    writer.writerow([curve["ep_return_mean100"][row], *train_values, float(step), 4000.0])
                writer.writerow([99.0, *[0.0] * len(columns), 2_015_232.0, 4000.0])  # beyond the extract's 2M steps


def ours(last: int, offset: float, seed: int = 0, test: float = 0.5) -> dict[str, Any]:
    """Our train return at rollout k is k / 10 + 1 + offset (offset published stds from the mean)."""
    steps = [step for step in STEPS if step <= last]
    returns = [step / ROLLOUT / 10 + 1 + offset for step in steps]
    points = [
        {"timesteps": step, "test_return_mean": test, "train_levels_return_mean": 0.25}
        for step in (0, 163_840, 311_296)
        if step <= last
    ]
    record = {
        "seed": seed,
        "train_curve": {"timesteps": steps, "ep_return_mean100": returns},
        "entropy_curve": {"timesteps": steps, "entropy": [2.5] * len(steps)},
        "checkpoints": points,
    }
    return {"settings": {"timesteps": 999_424}, "runs": [], "in_progress": {f"ppo:0.01|200|{seed}": record}}


def finish(data: dict[str, Any]) -> dict[str, Any]:
    data["runs"] = list(data.pop("in_progress").values())
    return data


def test_extract_reads_train_procgen_layout(tmp_path: Path) -> None:
    write_checkout(tmp_path)
    extracted = anchor.extract(tmp_path)
    # the train columns the extract keeps, the test split's return only; the row past 2M steps is left out
    assert extracted["runs"] == [
        {"train": run["train"], "test": {key: run["test"][key] for key in ("timesteps", "ep_return_mean100")}}
        for run in published_runs()
    ]
    assert extracted["commit"] == "unknown"  # not a git checkout


def test_comparison_numbers_and_verdict(tmp_path: Path) -> None:
    published = {"commit": "0123456789", "runs": published_runs()}
    # In progress at 311,296 steps (rollout 19), 2 stds below: no verdict yet
    text = anchor.render([ours(311_296, -2.0)], published, "cmd")
    assert "Ours: one seed (seed 0 in progress: 311,296 of 999,424 steps)" in text
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
        text = anchor.render([finish(ours(999_424, offset))], published, "cmd")
        assert f"train return {6.1 + 1 + offset:.2f} against 7.10 ± 1.00: {word} the published spread" in text


@pytest.mark.parametrize("last", [311_296, 999_424])
def test_plot(tmp_path: Path, last: int) -> None:
    pytest.importorskip("matplotlib")
    path = anchor.plot([ours(last, 0.0), ours(311_296, 1.0, seed=1)], {"runs": published_runs()}, tmp_path / "a.png")
    assert path.stat().st_size > 10_000


def test_cleanrl_curve_and_columns(tmp_path: Path) -> None:
    """CleanRL's logged episodes become the last-100 running return at each rollout end, with its update statistics
    and the episodes' count and summed length; its columns in both tables and its verdict line."""
    tensorboard = pytest.importorskip("torch.utils.tensorboard")
    writer = tensorboard.SummaryWriter(str(tmp_path))
    returns = []
    for rollout in range(1, 5):  # rollouts of 1,000 steps, 60 episodes each, returns 0, 1, 2, ...; length = rollout
        for episode in range(60):
            writer.add_scalar("charts/episodic_return", len(returns), rollout * 1000 - 60 + episode)
            writer.add_scalar("charts/episodic_length", rollout, rollout * 1000 - 60 + episode)
            returns.append(len(returns))
        for tag, value in (("entropy", 2.0), ("clipfrac", 0.1), ("approx_kl", 0.01), ("explained_variance", 0.5)):
            writer.add_scalar(f"losses/{tag}", value - rollout / 100, rollout * 1000)
    writer.add_scalar("losses/entropy", 1.0, 4500)  # not a rollout end: left out
    writer.close()
    curve = anchor.cleanrl_curve(tmp_path, rollout=1000)
    assert curve["timesteps"] == [1000, 2000, 3000, 4000]
    # after rollout k, 60k episodes numbered 0 ... 60k-1 have ended: the mean of the last min(100, 60k) of them
    expected = [sum(range(max(0, 60 * k - 100), 60 * k)) / min(100, 60 * k) for k in range(1, 5)]
    assert curve["ep_return_mean100"] == pytest.approx(expected)
    assert curve["entropy"] == pytest.approx([1.99, 1.98, 1.97, 1.96])
    assert curve["clip_fraction"] == pytest.approx([0.09, 0.08, 0.07, 0.06])
    assert curve["approx_kl"] == pytest.approx([0.0, -0.01, -0.02, -0.03], abs=1e-7)
    assert curve["explained_variance"] == pytest.approx([0.49, 0.48, 0.47, 0.46])
    assert curve["episodes_ended"] == [60, 120, 180, 240]
    assert curve["episode_steps"] == pytest.approx([60, 180, 360, 600])  # 60 episodes of length k in rollout k
    assert curve["episodes"] == 240
    assert anchor.cleanrl_window(curve, "episode_length", [3000, 4000]) == pytest.approx(3.5)
    assert anchor.cleanrl_window(curve, "clip_fraction", [1000, 2000]) == pytest.approx(0.085)
    assert math.isnan(anchor.cleanrl_window(curve, "clip_fraction", [4000, 5000]))  # not reached

    # CleanRL at 1 std above the published mean on the first two windows, absent from the others
    cleanrl = {
        "commit": "fedcba9876",
        "seed": 0,
        "episodes": 999,
        "timesteps": STEPS[:8],
        "ep_return_mean100": [k / 10 + 2 for k in range(1, 9)],
        "entropy": [2.25] * 8,
    }
    text = anchor.render([ours(311_296, 0.0)], {"commit": "0123456789", "runs": published_runs()}, "cmd", [cleanrl])
    assert "CleanRL: `ppo_procgen.py` of vwxyzjn/cleanrl (commit fedcba9)" in text
    assert "| 16,384 to 65,536 | 1.25 | 1.25 ± 1.00 (0.25 to 2.25) | +0.0 | 2.50 | 2.10 | 2.25 | +1.0 | 2.25 |" in text
    late_window = text.split("| 147,456 to 196,608 |")[1].split("\n")[0]
    assert late_window.endswith("| 2.50 | 2.10 |  |  |  |")  # CleanRL has not reached it
    # an extract without the update statistics (older cleanrl_curve) leaves CleanRL's update columns empty
    assert "| episode length (ours) | CleanRL | published | clip fraction (ours) | CleanRL | published |" in text
    assert "CleanRL at 999,424 steps" not in text

    # a full CleanRL run: its window statistics beside ours, and its own verdict line (2 std above the mean)
    full = {
        **cleanrl,
        "timesteps": STEPS,
        "ep_return_mean100": [k / 10 + 3 for k in range(1, 62)],
        "entropy": [2.25] * 61,
        "clip_fraction": [0.2] * 61,
        "approx_kl": [0.02] * 61,
        "explained_variance": [0.7] * 61,
        "episodes_ended": [10 * k for k in range(1, 62)],
        "episode_steps": [1000.0 * k for k in range(1, 62)],  # 10 episodes of 100 steps in every rollout
    }
    text = anchor.render([ours(311_296, 0.0)], {"commit": "0123456789", "runs": published_runs()}, "cmd", [full])
    first = text.split("**Episode length and update size")[1].split("| 16,384 to 65,536 |")[1].split("\n")[0]
    # ours (no episode counts, no update statistics) n/a; CleanRL; published
    cells = [cell.strip() for cell in first.split("|")[:-1]]
    expected_cells = "n/a,100.0,90.0 ± 10.0,n/a,0.200,0.150 ± 0.050,n/a,0.0200,0.0020 ± 0.0010,n/a,0.700,0.600 ± 0.100"
    assert cells == expected_cells.split(",")
    assert "**CleanRL at 999,424 steps: train return 9.10 against 7.10 ± 1.00 (d +2.0): outside" in text

    # two CleanRL seeds (the second unfinished): a column group each, labelled by seed; a verdict for the finished
    text = anchor.render(
        [ours(311_296, 0.0)], {"commit": "0123456789", "runs": published_runs()}, "cmd", [full, {**cleanrl, "seed": 1}]
    )
    assert (
        "| CleanRL seed 0 train return | d (CleanRL seed 0) | entropy (CleanRL seed 0) | CleanRL seed 1 train" in text
    )
    assert "| episode length (ours) | CleanRL seed 0 | CleanRL seed 1 | published |" in text
    assert (
        "| 16,384 to 65,536 | 1.25 | 1.25 ± 1.00 (0.25 to 2.25) | +0.0 | 2.50 | 2.10 | 3.25 | +2.0 | 2.25 | 2.25 |"
        in text
    )
    assert "**CleanRL seed 0 at 999,424 steps" in text
    assert "CleanRL seed 1 at 999,424" not in text
    assert "CleanRL seed 1: `ppo_procgen.py` of vwxyzjn/cleanrl (commit fedcba9) with its training levels" in text


def test_runs_beside_ours_and_the_ours_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--ours compares another run (the Glorot-init one) into <ours>_vs_published; --beside adds a run's columns."""
    glorot = ours(311_296, 1.0)
    glorot["settings"]["policy"] = "impala_glorot"
    glorot["title"] = "Glorot anchor"
    default = ours(311_296, -2.0)
    default["settings"]["policy"] = "impala"
    curve = anchor.curve_of(default["in_progress"]["ppo:0.01|200|0"])
    assert curve["timesteps"] == STEPS[:19]
    assert curve["ep_return_mean100"] == pytest.approx([k / 10 - 1 for k in range(1, 20)])
    assert curve["entropy"] == [2.5] * 19

    published = {"commit": "0123456789", "runs": published_runs()}
    text = anchor.render([glorot], published, "cmd", beside={"ours, impala": curve})
    assert "Ours: Glorot anchor (network: `impala_glorot`)." in text
    assert "| ours, impala train return | d (ours, impala) | entropy (ours, impala) |" in text
    # first window: Glorot 0.25 + 1 + 1 = 2.25 (+1.0); the default-init run -0.75 (-2.0)
    assert "| 16,384 to 65,536 | 2.25 | 1.25 ± 1.00 (0.25 to 2.25) | +1.0 | 2.50 | 2.10 | -0.75 | -2.0 | 2.50 |" in text

    for name, data in (("glorot.json", glorot), ("default.json", default), ("published.json", published)):
        (tmp_path / name).write_text(json.dumps(data))
    monkeypatch.setattr(anchor, "PUBLISHED", tmp_path / "published.json")
    monkeypatch.setattr(anchor, "CLEANRL", tmp_path / "no_cleanrl.json")
    argv = ["impala_anchor.py", "--ours", str(tmp_path / "glorot.json"), "--beside", str(tmp_path / "default.json")]
    monkeypatch.setattr(sys, "argv", argv)
    pytest.importorskip("matplotlib")
    anchor.main()
    report = (tmp_path / "glorot_vs_published.md").read_text()
    assert "| 16,384 to 65,536 | 2.25 |" in report
    assert "d (ours, SB3 orthogonal init, seed 0)" in report
    assert (tmp_path / "glorot_vs_published.png").stat().st_size > 10_000


def test_seeds_of_one_set_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several seeds: every number of ours is their mean, each seed's value follows; the window table and the
    verdict use only the rollouts that every seed reached; files of another set-up or a repeated seed are refused."""
    published = {"commit": "0123456789", "runs": published_runs()}
    # seed 0 finished 0.5 std below the published mean, seed 1 in progress 1.5 std below, test returns 0.5 and 1.5
    seed0, seed1 = finish(ours(999_424, -0.5, test=0.5)), ours(311_296, -1.5, seed=1, test=1.5)
    text = anchor.render([seed1, seed0], published, "cmd")  # ordered by seed whatever the order of the files
    assert "2 seeds, their mean ± std (ddof 1) and each seed's value" in text
    assert "(seed 0 finished; seed 1 in progress: 311,296 of 999,424 steps)" in text
    # rollout 19: seeds 2.40 and 1.40, mean 1.90 (d -1.0); tests 0.5 and 1.5: mean 1.00 against 1.90 +- 1.00
    assert (
        "| 311,296 | 1.90 ± 0.71 (2.40, 1.40) | 2.90 ± 1.00 (1.90 to 3.90) | -1.0 | 0.25 ± 0.00 (0.25, 0.25) "
        "| 1.00 ± 0.71 (0.50, 1.50) | 1.90 ± 1.00 (0.90 to 2.90) | -0.9 |" in text
    )
    assert "| 999,424 |" not in text.split("**Every rollout")[1]  # only the rollouts both seeds reached
    assert "No verdict yet: not every seed has reached 999,424 steps." in text

    both = [seed0, finish(ours(999_424, -1.3, seed=1))]
    text = anchor.render(both, published, "cmd")
    # rollout 61: seeds 6.60 and 5.80, mean 6.20 against 7.10 +- 1.00: inside, though seed 1 alone is outside
    assert "train return (mean of 2 seeds) 6.20 against 7.10 ± 1.00: inside the published spread" in text
    assert "Each seed: seed 0 6.60 (d -0.5), seed 1 5.80 (d -1.3)." in text
    text = anchor.render([seed0, finish(ours(999_424, -2.0, seed=1))], published, "cmd")
    assert "train return (mean of 2 seeds) 5.85 against 7.10 ± 1.00: outside the published spread" in text

    other = finish(ours(999_424, 0.0, seed=2))
    other["settings"]["policy"] = "impala"
    with pytest.raises(SystemExit, match=r"these files differ .*'policy'.*--beside"):
        anchor.seeds_of([seed0, other])
    with pytest.raises(SystemExit, match=r"seed\(s\) \[0\] twice"):
        anchor.seeds_of([seed0, finish(ours(999_424, 0.0))])

    # from the command line: two files as --ours, a run beside them labelled by what it overrides
    variant = finish(ours(999_424, 0.0))
    variant["settings"]["overrides"] = {"vf_coef": 0.25}
    variant["runs"][0]["network"] = {"weight_init": "glorot_uniform"}
    assert anchor.run_label(variant, variant["runs"][0]) == "ours, glorot_uniform init, vf_coef 0.25, seed 0"
    ppo2_like = finish(ours(999_424, 0.0, seed=1))
    ppo2_like["settings"]["reward_norm_gamma"] = 0.99
    assert anchor.run_label(ppo2_like, ppo2_like["runs"][0]).endswith("init, reward-norm gamma 0.99, seed 1")
    with pytest.raises(SystemExit, match=r"these files differ .*'reward_norm_gamma': \(None, 0.99\)"):
        anchor.seeds_of([seed0, ppo2_like])
    for name, data in (("s0.json", seed0), ("s1.json", both[1]), ("vf.json", variant), ("published.json", published)):
        (tmp_path / name).write_text(json.dumps(data))
    monkeypatch.setattr(anchor, "PUBLISHED", tmp_path / "published.json")
    monkeypatch.setattr(anchor, "CLEANRL", tmp_path / "no_cleanrl.json")
    argv = ["impala_anchor.py", "--ours", str(tmp_path / "s0.json"), str(tmp_path / "s1.json")]
    monkeypatch.setattr(sys, "argv", [*argv, "--beside", str(tmp_path / "vf.json")])
    pytest.importorskip("matplotlib")
    anchor.main()
    report = (tmp_path / "s0_vs_published.md").read_text()
    assert "Each seed: seed 0 6.60 (d -0.5), seed 1 5.80 (d -1.3)." in report
    assert "| ours, glorot_uniform init, vf_coef 0.25, seed 0 train return |" in report


def test_episode_length_and_update_size_table() -> None:
    """Ours: steps over the episodes that ended in the window, and the mean of each update statistic over the
    window's updates (n/a where a run did not record them); published: mean ± std of the three runs."""
    data = ours(311_296, 0.0)
    record = data["in_progress"]["ppo:0.01|200|0"]
    record["train_curve"]["episodes"] = [200 * k for k in range(1, 20)]  # 200 episodes per rollout: 81.92 steps
    record["update_curve"] = {  # the first 8 updates only: update k has clip fraction k / 100
        "timesteps": STEPS[:8],
        "clip_fraction": [k / 100 for k in range(1, 9)],
        "approx_kl": [0.02] * 8,
        "explained_variance": [0.9] * 8,
    }
    text = anchor.render([data], {"commit": "0123456789", "runs": published_runs()}, "cmd")
    table = text.split("**Episode length and update size")[1]
    assert (
        "| 16,384 to 65,536 | 81.9 | 90.0 ± 10.0 | 0.025 | 0.150 ± 0.050 | 0.0200 | 0.0020 ± 0.0010 | 0.900 "
        "| 0.600 ± 0.100 |" in table
    )
    assert "| 81,920 to 131,072 | 81.9 | 90.0 ± 10.0 | 0.065 |" in table
    assert "| 147,456 to 196,608 | 81.9 | 90.0 ± 10.0 | n/a | 0.150 ± 0.050 | n/a |" in table
    # a second seed without the statistics: its mean is n/a, the episode length still the seeds' mean
    other = ours(311_296, 0.0, seed=1)
    other["in_progress"]["ppo:0.01|200|1"]["train_curve"]["episodes"] = [100 * k for k in range(1, 20)]
    table = anchor.render([data, other], {"commit": "0123456789", "runs": published_runs()}, "cmd")
    assert "| 16,384 to 65,536 | 122.9 | 90.0 ± 10.0 | n/a |" in table.split("**Episode length and update size")[1]
