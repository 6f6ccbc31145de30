"""benchmarks/zoo_fruitbot_learns.py: the monitor files are read in the order the episodes ended, the learning
curve puts each episode in the tenth of the budget where it ended, and the verdict ("learns": the seed mean
above the random policy's return by more than two seed standard deviations) matches a computation by hand."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import zoo_fruitbot_learns as learns


def write_monitor(path: Path, rows: list[tuple[float, float, int]]) -> None:
    """An rl-zoo monitor file: a JSON header line, then r, l, t per episode (here not in the order of t)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"#{json.dumps({'t_start': 0.0, 'env_id': 'FruitBot-v0'})}", "r,l,t"]
    lines += [f"{reward},{length},{time}" for time, reward, length in rows]
    path.write_text("\n".join(lines) + "\n")


def test_monitor_episodes_in_the_order_they_ended(tmp_path: Path) -> None:
    write_monitor(tmp_path / "procgen.monitor.csv", [(3.0, 1.5, 30), (1.0, -2.0, 10), (2.0, 0.5, 20)])
    assert learns.monitor_episodes(tmp_path) == [(-2.0, 10), (0.5, 20), (1.5, 30)]


def test_learning_curve_by_hand() -> None:
    # budget 100 in 4 windows of 25 steps; the episodes end at steps 10, 25, 26, 60, 105
    episodes = [(1.0, 10), (2.0, 15), (4.0, 1), (6.0, 34), (9.0, 45)]
    # window 0 (1-25): 1, 2; window 1 (26-50): 4; window 2 (51-75): 6; window 3 (76-100, and past it): 9
    assert learns.learning_curve(episodes, budget=100, windows=4) == [1.5, 4.0, 6.0, 9.0]
    # a window in which no episode ended
    assert learns.learning_curve([(1.0, 10), (3.0, 70)], budget=100, windows=4) == [1.0, None, None, 3.0]
    # a budget the windows do not divide: 311,296 / 10 = 31,129.6, so step 31,129 is in the first tenth and 31,130
    # in the second
    assert learns.learning_curve([(1.0, 31_129), (2.0, 1)], budget=311_296) == [1.0, 2.0] + [None] * 8


def run(algo: str, seed: int, value: float, curve: list[float | None] | None = None, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "algo": algo,
        "seed": seed,
        "budget": 100,
        "hyperparams": [],
        "command": f"sb3-maxent train --algo {algo} --seed {seed}",
        "train_return_last100": value,
        **extra,
    }
    if curve is not None:
        record["curve"] = curve
    return record


def table_rows(text: str, first_cell: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith(f"| {first_cell} ")
    ]


def test_verdicts_and_curves_by_hand() -> None:
    data = {
        "budget": 100,
        "random": {"mean": -2.0, "standard_error": 0.1, "episodes": 500, "episode_std": 3.0},
        "runs": [
            # seed mean 0.1, std 0.1414 (ddof 1): margin 2.1 > 0.28, learns
            run("ppo", 0, 0.0, [-2.0, 0.0]),
            run("ppo", 1, 0.2, [-1.0, None]),
            # seed mean 0, std 1.414: margin 2.0 < 2.83, does not learn
            run("dqn", 0, -1.0),
            run("dqn", 1, 1.0),
            # one seed: no verdict
            run("soft_dqn", 0, 5.0, [0.0, 5.0], hyperparams=["temperature:0.1"]),
        ],
    }
    text = learns.markdown(data)
    assert table_rows(text, "ppo")[0] == ["ppo", "2", "0.00, 0.20", "0.10 ± 0.14", "+2.10", "0.28", "**yes**"]
    assert table_rows(text, "dqn")[0] == ["dqn", "2", "-1.00, 1.00", "0.00 ± 1.41", "+2.00", "2.83", "**no**"]
    verdict = table_rows(text, "soft_dqn temperature:0.1")[0]
    assert verdict[-1] == "n/a (1 seed)"
    # the curves: one row per run that has one
    assert table_rows(text, "ppo")[1:] == [["ppo", "0", "-2.00", "0.00"], ["ppo", "1", "-1.00", "n/a"]]
    assert table_rows(text, "soft_dqn temperature:0.1")[1] == ["soft_dqn temperature:0.1", "0", "0.00", "5.00"]
    assert "No curve for dqn seed 0, dqn seed 1" in text


def test_notes_of_runs_are_listed_under_the_commands() -> None:
    data = {
        "budget": 100,
        "random": {"mean": -2.0, "standard_error": 0.1, "episodes": 500, "episode_std": 3.0},
        "runs": [
            run("dqn", 1, 0.0, note="trained as a sweep candidate"),
            run("dqn", 0, 0.0, hyperparams=["n_steps:1"], note="the former entry"),
            run("ppo", 0, 0.0),
        ],
    }
    text = learns.markdown(data)
    notes = text.split("Notes:")[1].strip().splitlines()
    assert notes == ["- dqn seed 1: trained as a sweep candidate", "- dqn n_steps:1 seed 0: the former entry"]
    # seeds of one setting with the same note share a line
    data["runs"].append(run("dqn", 0, 0.0, note="trained as a sweep candidate"))
    notes = learns.markdown(data).split("Notes:")[1].strip().splitlines()
    assert notes[0] == "- dqn seeds 0, 1: trained as a sweep candidate"
    for record in data["runs"]:
        record.pop("note", None)
    assert "Notes:" not in learns.markdown(data)


def test_missing_curves_come_from_the_monitor_files_of_the_same_run(tmp_path: Path) -> None:
    rows = [(float(k), float(k % 3), 20) for k in range(1, 11)]  # returns 1, 2, 0, 1, ...: 200 steps in all
    write_monitor(learns.run_dir_of(tmp_path, "dqn", 0) / "procgen.monitor.csv", rows)
    write_monitor(learns.run_dir_of(tmp_path, "dqn", 1) / "procgen.monitor.csv", rows)
    mean = sum(reward for _, reward, _ in rows) / len(rows)
    data = {"runs": [run("dqn", 0, mean, budget=200), run("dqn", 1, mean + 1.0, budget=200), run("ppo", 0, mean)]}
    learns.add_missing_curves(data, tmp_path)
    # windows of 20 steps: one episode each
    assert data["runs"][0]["curve"] == [reward for _, reward, _ in rows]
    assert "curve" not in data["runs"][1]  # the monitor file holds another run than the one recorded
    assert "curve" not in data["runs"][2]  # no monitor file


@pytest.mark.parametrize("item", ["temperature:0.1/../x", "a b:1"])
def test_sweep_folders_refuse_odd_overrides(tmp_path: Path, item: str) -> None:
    with pytest.raises(ValueError, match="plain KEY:VALUE"):
        learns.seed_folder(tmp_path, 0, [item])
