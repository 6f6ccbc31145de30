"""benchmarks/fruitbot_paper.py: ``--hyperparams`` changes the Procgen paper's PPO settings for a test of one
difference, checks what it is given, records the change and reaches the model; ``--reward-norm-gamma`` does the
same for the discount of the reward normalisation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import fruitbot_paper as paper

SCRIPT = Path(paper.__file__)


def report_of(**settings: object) -> str:
    """The markdown report of a file with no runs yet, whose settings are a tiny run's with ``settings`` on top."""
    tiny = {
        "timesteps": 1024,
        "policy": "cnn",
        "n_envs": 2,
        "eval_every": 512,
        "eval_episodes": 4,
        "eval_policy": paper.EVAL_POLICY,
        "quick": False,
    }
    data = {
        "settings": {**tiny, **settings},
        "environment": paper.environment_info(1, "cpu"),
        "runs": [],
        "in_progress": {},
    }
    return paper.render_markdown(data, Path("x.json"))


def test_overrides_are_parsed_as_literals() -> None:
    base = dict(paper.PPO_HYPERPARAMS)
    changed = paper.apply_overrides(base, ["vf_coef:0.25", "policy_kwargs:{'optimizer_kwargs': {'eps': 1e-05}}"])
    assert changed == {**base, "vf_coef": 0.25, "policy_kwargs": {"optimizer_kwargs": {"eps": 1e-05}}}
    assert base == paper.PPO_HYPERPARAMS  # the paper's settings are not modified
    assert paper.PPO_HYPERPARAMS["vf_coef"] == 0.5


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("vf_coef", "expected KEY:VALUE"),
        ("vf_coef:", "expected KEY:VALUE"),
        ("vf_coeff:0.25", "'vf_coeff' is not an argument of PPO"),
        ("env:1", "'env' is not an argument of PPO"),
        ("vf_coef:abc", "must be a Python literal"),
    ],
)
def test_bad_overrides(item: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        paper.apply_overrides(paper.PPO_HYPERPARAMS, [item])


def test_bad_override_on_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--hyperparams", "vf_coeff:0.25"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "'vf_coeff' is not an argument of PPO" in result.stderr


def test_override_reaches_the_model_and_the_report() -> None:
    pytest.importorskip("procgen")
    from sb3_maxent.envs.procgen import make_procgen_vec_env

    hyperparams = paper.apply_overrides(
        dict(paper.PPO_HYPERPARAMS, n_steps=16, batch_size=32), ["vf_coef:0.25", "max_grad_norm:1.0"]
    )
    env = make_procgen_vec_env(n_envs=2, num_levels=1, start_level=0, distribution_mode="easy", seed=0)
    try:
        model = paper.make_model("ppo:0.01", "cnn", env, 0, hyperparams, "cpu")
    finally:
        env.close()
    assert (model.vf_coef, model.max_grad_norm, model.ent_coef) == (0.25, 1.0, 0.01)

    text = report_of(hyperparameters=hyperparams, overrides={"vf_coef": 0.25})
    expected = "settings as this script sets them** (`--hyperparams`): `vf_coef` 0.25 (default here: 0.5)."
    assert expected in text


def test_reward_norm_gamma_reaches_vecnormalize_and_the_report() -> None:
    """Absent (older files) or None: the algorithm's gamma, as before; given: VecNormalize's discount."""
    pytest.importorskip("procgen")
    from sb3_maxent.envs.procgen import make_procgen_vec_env

    base = {"hyperparameters": dict(paper.PPO_HYPERPARAMS)}
    assert paper.reward_norm_gamma(base) == paper.reward_norm_gamma({**base, "reward_norm_gamma": None}) == 0.999
    monitor = make_procgen_vec_env(n_envs=2, num_levels=1, start_level=0, distribution_mode="easy", seed=0)
    try:
        assert paper.normalized_rewards(monitor, base).gamma == 0.999
        env = paper.normalized_rewards(monitor, {**base, "reward_norm_gamma": 0.99})
        assert (env.gamma, env.norm_obs, env.norm_reward) == (0.99, False, True)
    finally:
        monitor.close()

    text = report_of(**base, reward_norm_gamma=0.99)
    expected = "statistics with discount 0.99 (`--reward-norm-gamma`; default here: the algorithm's gamma 0.999)."
    assert expected in text


@pytest.mark.parametrize("value", ["0", "1", "1.5", "-0.9"])
def test_bad_reward_norm_gamma_on_the_command_line(value: str) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--reward-norm-gamma", value], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "--reward-norm-gamma must be a discount strictly between 0 and 1" in result.stderr


def test_a_file_without_reward_norm_gamma_resumes_with_the_default() -> None:
    """Files written before the option existed agree with a command that does not give it, not with one that does."""
    settings = {key: 0 for key in paper.SHARED_SETTINGS if key != "reward_norm_gamma"}
    data = {"settings": dict(settings)}
    paper.merge_header(data, {**settings, "reward_norm_gamma": None, "command": "a"}, {})
    with pytest.raises(SystemExit, match=r"'reward_norm_gamma': \(None, 0.99\)"):
        paper.merge_header(data, {**settings, "reward_norm_gamma": 0.99, "command": "b"}, {})


def test_checkpoints_without_an_update_curve_resume_with_an_empty_one() -> None:
    """Runs checkpointed before the per-update statistics were kept resume; another missing curve is an error."""
    callback = paper.PaperCallback(512, dict, lambda: None)
    state = {key: callback.state()[key] for key in paper.PaperCallback.STATE_KEYS if key != "update_curve"}
    state.update(episodes=7, elapsed_s=1.0)
    callback.restore(state)
    assert callback.episodes == 7
    assert callback.update_curve == {"timesteps": [], **{key: [] for key in paper.UPDATE_STATS}}
    with pytest.raises(KeyError, match="train_curve"):
        callback.restore({key: value for key, value in state.items() if key != "train_curve"})
