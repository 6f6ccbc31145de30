"""Slow rl-zoo tests: the shipped GridWorld configurations learn, and the documented commands run.

``test_gridworld_configs_learn`` trains each algorithm with its packaged ``GridWorld-v0`` entry as it is
(no override but the seed) through ``sb3-maxent train`` and evaluates 20 episodes with the deterministic
policy, as ``sb3-maxent enjoy`` does. Budgets in zoo_configs/*.yml: dqn and soft_dqn 1e4 steps, ppo and
maxent_ppo 1.5e4 steps; at these budgets seeds 0-9 all reach success 1.0 (measured while tuning). The 12
runs take about 90 s of CPU: 50 s with `pytest -n 2 -m slow tests/test_zoo_learning.py -k gridworld`
on two cores."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from rl_zoo3.utils import ALGOS

from sb3_maxent.common.evaluation import evaluate_success
from sb3_maxent.envs.procgen import procgen_install_hint
from sb3_maxent.zoo import register_zoo
from sb3_maxent.zoo.cli import main

REPO = Path(__file__).resolve().parents[1]
GRIDWORLD_ALGOS = ["maxent_ppo", "soft_dqn", "ppo", "dqn"]
SEEDS = [0, 1, 2]
N_EVAL_EPISODES = 20
OFF_POLICY = {"dqn", "soft_dqn", "sac"}


def success_rate(model_path: Path, algo: str, env_id: str) -> float:
    register_zoo()
    model = ALGOS[algo].load(model_path, device="cpu", **({"buffer_size": 1} if algo in OFF_POLICY else {}))
    return evaluate_success(model, env_id, n_episodes=N_EVAL_EPISODES)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("algo", GRIDWORLD_ALGOS)
def test_gridworld_configs_learn(algo: str, seed: int, tmp_path: Path) -> None:
    argv = ["train", "--algo", algo, "--env", "GridWorld-v0", "--seed", str(seed), "-f", str(tmp_path)]
    assert main([*argv, "--eval-freq", "-1", "--verbose", "0"]) == 0
    model_path = tmp_path / algo / "GridWorld-v0_1" / "GridWorld-v0.zip"
    assert success_rate(model_path, algo, "GridWorld-v0") >= 0.95


def _script_environment() -> dict[str, str]:
    """PATH with the `sb3-maxent` script of this interpreter first, one thread, no plot window."""
    bin_dir = Path(sys.executable).parent
    if shutil.which("sb3-maxent", path=str(bin_dir)) is None:
        pytest.skip("the sb3-maxent console script is not installed (pip install -e . creates it)")
    path = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


@pytest.mark.slow
def test_docs_gridworld_script(tmp_path: Path) -> None:
    """docs/guide/zoo.md shows docs/guide/zoo_gridworld.sh: it must run as it is."""
    env = _script_environment()
    script = REPO / "docs" / "guide" / "zoo_gridworld.sh"
    result = subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    logs = tmp_path / "logs"
    for algo in ("maxent_ppo", "ppo"):
        assert (logs / algo / "GridWorld-v0_1" / "GridWorld-v0.zip").is_file()
        evaluations = np.load(logs / algo / "GridWorld-v0_1" / "evaluations.npz")
        assert evaluations["successes"].shape[1] == N_EVAL_EPISODES
    assert "Success rate:" in result.stdout
    assert len(list((logs / "soft_dqn").glob("report_GridWorld-v0_*.csv"))) == 2  # one report per worker
    # the optimise workers make no run folder (rl_zoo3 alone makes an empty one each): trial 0's run is the first
    assert [path.name for path in (logs / "soft_dqn").glob("GridWorld-v0_*")] == ["GridWorld-v0_1"]
    assert (logs / "soft_dqn" / "GridWorld-v0_1" / "GridWorld-v0.zip").is_file()
    assert (logs / "gridworld_success.pkl").is_file()


def _commands(script: Path) -> list[list[str]]:
    """The `sb3-maxent ...` commands of a shell script (continuation lines joined, comments dropped)."""
    text = script.read_text().replace("\\\n", " ")
    return [shlex.split(line)[1:] for line in text.splitlines() if line.strip().startswith("sb3-maxent ")]


def _with_tiny_budget(argv: list[str]) -> list[str]:
    """A FruitBot training command cut to 64 steps on 2 environments with two short evaluations (the tiny
    hyperparameters are merged into the command's own --hyperparams: a second occurrence would replace it)."""
    tiny = ["n_envs:2", "n_steps:16", "batch_size:32"]
    if "--hyperparams" in argv:
        start = argv.index("--hyperparams") + 1
        end = next((i for i in range(start, len(argv)) if argv[i].startswith("-")), len(argv))
        argv = [*argv[:end], *tiny, *argv[end:]]
    else:
        argv = [*argv, "--hyperparams", *tiny]
    return [*argv, "-n", "64", "--eval-freq", "32", "--eval-episodes", "2", "--n-eval-envs", "2"]


@pytest.mark.slow
def test_fruitbot_script_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """benchmarks/zoo_fruitbot.sh (the paper's three agents, hours each): every command, 64 steps each."""
    pytest.importorskip("procgen", reason=f"FruitBot needs Procgen: {procgen_install_hint()}")
    monkeypatch.chdir(tmp_path)
    commands = _commands(REPO / "benchmarks" / "zoo_fruitbot.sh")
    assert [argv[0] for argv in commands] == ["train", "train", "train", "all_plots"]
    for argv in commands[:3]:
        assert main(_with_tiny_budget(argv)) == 0
    assert main(commands[3]) == 0
    assert (tmp_path / "logs" / "fruitbot_test_reward.pkl").is_file()

    def load(folder: str, algo: str):
        return ALGOS[algo].load(tmp_path / folder / algo / "FruitBot-v0_1" / "FruitBot-v0.zip", device="cpu")

    no_entropy, regularised, maximised = load("logs/no_entropy", "ppo"), load("logs", "ppo"), load("logs", "maxent_ppo")
    assert (no_entropy.ent_coef, regularised.ent_coef, maximised.ent_coef) == (0.0, 0.01, 0.0)
    assert maximised.maxent_coef(1.0) == 0.003
    # the evaluations ran on the unseen levels 500-999
    run = tmp_path / "logs" / "maxent_ppo" / "FruitBot-v0_1"
    args = yaml.unsafe_load((run / "FruitBot-v0" / "args.yml").read_text())
    assert args["eval_env_kwargs"] == {"start_level": 500, "num_levels": 500}
    assert np.load(run / "evaluations.npz")["results"].shape == (2, 2)
