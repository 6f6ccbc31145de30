"""SoftDQN: runs on every policy type, save/load (and loading other algorithms' files), logging, temperature
settings and their errors."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch as th
from sb3_contrib import QRDQN
from stable_baselines3 import DQN, PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import FakeImageEnv, SimpleMultiObsEnv
from stable_baselines3.common.logger import KVWriter, Logger, configure
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.utils import LinearSchedule

from sb3_maxent import MaxEntPPO
from sb3_maxent.common import exponential_schedule, linear_schedule, linear_schedule_from_rate
from sb3_maxent.soft_dqn import SoftDQN
from sb3_maxent.soft_dqn.soft_dqn import (
    DEFAULT_TEMPERATURE_FINAL,
    DEFAULT_TEMPERATURE_FRACTION,
    DEFAULT_TEMPERATURE_INITIAL,
)

SMALL: dict[str, Any] = dict(
    learning_starts=50, buffer_size=1_000, batch_size=16, train_freq=4, target_update_interval=20, seed=0
)

# One env per policy type (a dict, not an if/elif chain): a tiny image env for the CNN, a Dict env for MultiInput.
ENVS: dict[str, Callable[[], Any]] = {
    "MlpPolicy": lambda: "CartPole-v1",
    "CnnPolicy": lambda: FakeImageEnv(screen_height=36, screen_width=36, n_channels=1, discrete=True),
    "MultiInputPolicy": lambda: SimpleMultiObsEnv(random_start=False),
}
POLICY_KWARGS: dict[str, dict[str, Any]] = {
    "MlpPolicy": dict(net_arch=[16]),
    "CnnPolicy": dict(net_arch=[], features_extractor_kwargs=dict(features_dim=16)),
    "MultiInputPolicy": dict(net_arch=[16]),
}
OPTIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "linear": dict(temperature_initial=1.0, temperature_final=0.05, temperature_fraction=0.5),
    "exponential": dict(temperature=exponential_schedule(1.0, 0.01)),
    "auto": dict(temperature="auto_0.5", target_entropy=0.5),
    "double": dict(double_q=True, temperature=0.1),
    "munchausen": dict(munchausen_alpha=0.9, temperature=0.03),
}


class RecordWriter(KVWriter):
    """Keeps every dumped key/value, to check what SoftDQN logs."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0) -> None:
        self.records.append(dict(key_values))


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("policy", list(ENVS))
def test_run(policy: str, option: str) -> None:
    model = SoftDQN(policy, ENVS[policy](), policy_kwargs=POLICY_KWARGS[policy], **SMALL, **OPTIONS[option])
    model.learn(200)
    assert model.env is not None
    obs = model.env.reset()
    assert isinstance(obs, np.ndarray | dict)
    for deterministic in (True, False):
        action, _ = model.predict(obs, deterministic=deterministic)
        assert action.shape == (1,)
        assert model.action_space.contains(int(action[0]))
    assert math.isfinite(model.logger.name_to_value["train/loss"])


@pytest.mark.parametrize("n_steps", [1, 3])
def test_multi_env_and_n_step(n_steps: int) -> None:
    env = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    model = SoftDQN("MlpPolicy", env, policy_kwargs=dict(net_arch=[16]), n_steps=n_steps, **SMALL).learn(200)
    sample = model.replay_buffer.sample(8)  # type: ignore[union-attr]
    # n-step buffers hand SoftDQN their per-sample discounts gamma^k (k <= n); 1-step ones none
    assert (sample.discounts is not None) == (n_steps > 1)
    obs = env.reset()
    assert isinstance(obs, np.ndarray)
    action, _ = model.predict(obs, deterministic=False)
    assert action.shape == (2,)


def test_predict_shapes() -> None:
    model = SoftDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16]), **SMALL)
    single = model.observation_space.sample()
    for deterministic in (True, False):
        action, state = model.predict(single, deterministic=deterministic)
        assert action.shape == ()
        assert state is None
        actions, _ = model.predict(np.stack([single] * 5), deterministic=deterministic)
        assert actions.shape == (5,)
    with pytest.raises(ValueError, match="mixing Gym API"):
        model.predict((single, {}), deterministic=False)  # type: ignore[arg-type]


class TrainModeEveryStep(BaseCallback):
    """Puts the policy in train mode after every env step (as a careless callback might)."""

    def __init__(self) -> None:
        super().__init__()
        self.modes_at_sampling: list[bool] = []

    def _on_step(self) -> bool:
        self.model.policy.set_training_mode(True)
        return True


def test_exploration_samples_in_eval_mode() -> None:
    # Exploration must sample in eval mode (dropout or batch norm in a custom Q-network behave differently in
    # train mode), even when something switched the policy to train mode during the rollout.
    model = SoftDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16]), **SMALL)
    callback = TrainModeEveryStep()
    sample_action = model._sample_action

    def recording_sample_action(*args: Any, **kwargs: Any) -> Any:
        result = sample_action(*args, **kwargs)
        callback.modes_at_sampling.append(any(module.training for module in model.policy.modules()))
        return result

    model._sample_action = recording_sample_action  # type: ignore[method-assign]
    model.learn(SMALL["learning_starts"] + 20, callback=callback)
    after_learning_starts = callback.modes_at_sampling[SMALL["learning_starts"] :]
    assert len(after_learning_starts) >= 20
    assert not any(after_learning_starts)


def logged_records(**kwargs: Any) -> list[dict[str, Any]]:
    model = SoftDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16]), **SMALL, **kwargs)
    writer = RecordWriter()
    model.set_logger(Logger(folder=None, output_formats=[writer]))
    model.learn(600, log_interval=1)
    return writer.records


@pytest.mark.parametrize("option", ["default", "auto"])
def test_logging_keys(option: str) -> None:
    records = logged_records(**OPTIONS[option])
    keys = set().union(*records)
    expected = {"rollout/temperature", "rollout/policy_entropy", "train/soft_value", "train/loss", "train/n_updates"}
    if option == "auto":
        expected |= {"train/temperature_loss", "train/entropy"}
    assert expected <= keys, expected - keys
    assert "rollout/exploration_rate" not in keys  # no epsilon
    last = next(r for r in reversed(records) if "rollout/policy_entropy" in r)
    assert 0.0 <= last["rollout/policy_entropy"] <= math.log(2) + 1e-6
    if option == "default":
        # annealed over the first 10% of the 600 steps, then constant at the final value
        assert last["rollout/temperature"] == DEFAULT_TEMPERATURE_FINAL
        first = next(r for r in records if "rollout/temperature" in r)
        assert first["rollout/temperature"] > DEFAULT_TEMPERATURE_FINAL


def assert_same_state(a: SoftDQN, b: SoftDQN) -> None:
    for (name, pa), pb in zip(a.policy.state_dict().items(), b.policy.state_dict().values(), strict=True):
        assert th.equal(pa, pb), name
    if a.log_temperature is not None or b.log_temperature is not None:
        assert a.log_temperature is not None
        assert b.log_temperature is not None
        assert th.equal(a.log_temperature, b.log_temperature)
        assert a.temperature_optimizer is not None
        assert b.temperature_optimizer is not None
        state_a, state_b = a.temperature_optimizer.state_dict(), b.temperature_optimizer.state_dict()
        assert state_a["param_groups"] == state_b["param_groups"]
        for key, value in state_a["state"][0].items():
            assert th.equal(value, state_b["state"][0][key]), key


@pytest.mark.parametrize("option", ["default", "exponential", "auto", "munchausen"])
def test_save_load_round_trip(option: str, tmp_path) -> None:
    model = SoftDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16]), **SMALL, **OPTIONS[option])
    model.learn(300)
    model.save(tmp_path / "model.zip")
    model.save_replay_buffer(tmp_path / "buffer.pkl")
    loaded = SoftDQN.load(tmp_path / "model.zip", env=make_vec_env("CartPole-v1", n_envs=1))
    loaded.load_replay_buffer(tmp_path / "buffer.pkl")
    loaded.set_logger(configure(None, []))
    assert_same_state(model, loaded)
    assert loaded._current_temperature() == model._current_temperature()
    if option == "auto":
        assert "log_temperature" not in loaded.get_parameters()  # a torch variable, not a module
        assert loaded.target_entropy == model.target_entropy == 0.5

    observations = np.stack([model.observation_space.sample() for _ in range(64)])
    for deterministic in (True, False):
        np.random.seed(7)  # noqa: NPY002  (Boltzmann samples draw from numpy's global generator, as DQN's epsilon)
        expected, _ = model.predict(observations, deterministic=deterministic)
        np.random.seed(7)  # noqa: NPY002
        actual, _ = loaded.predict(observations, deterministic=deterministic)
        np.testing.assert_array_equal(actual, expected)

    # The next update (same samples, same generators) is bit-identical, temperature and optimizers included
    for agent in (model, loaded):
        np.random.seed(3)  # noqa: NPY002  (SB3's replay buffer samples with numpy's global generator)
        th.manual_seed(3)
        agent.train(gradient_steps=2, batch_size=16)
    assert_same_state(model, loaded)


def test_auto_temperature_is_saved_as_torch_variable(tmp_path) -> None:
    model = SoftDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16]), **SMALL, temperature="auto")
    state_dicts, variables = model._get_torch_save_params()
    assert "temperature_optimizer" in state_dicts
    assert variables == ["log_temperature"]
    plain = SoftDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16]), **SMALL)
    assert plain._get_torch_save_params() == (["policy", "policy.optimizer"], [])


RANGE = r"must be a finite float in \(0, 1e\+08\]"
BAD_INPUTS: dict[str, tuple[dict[str, Any], str]] = {
    "zero temperature": (dict(temperature=0.0), "temperature " + RANGE),
    "negative temperature": (dict(temperature=-1.0), "temperature " + RANGE),
    "nan temperature": (dict(temperature=float("nan")), "temperature " + RANGE),
    "inf temperature": (dict(temperature=math.inf), "temperature " + RANGE),
    "temperature above MAX_TEMPERATURE": (dict(temperature=1e9), "temperature " + RANGE),
    "bool temperature": (dict(temperature=True), "temperature must be a float > 0"),
    "unknown string": (dict(temperature="boltzmann"), "'auto' or 'auto_<initial value>'"),
    "bad auto value": (dict(temperature="auto_x"), "'auto' or 'auto_<initial value>'"),
    "zero auto value": (dict(temperature="auto_0"), r"initial value of 'auto_0'\) must lie in .*\[1e-08, 1e\+08\]"),
    "auto value below learned range": (dict(temperature="auto_1e-46"), r"must lie in the learned temperature's range"),
    "auto value above learned range": (dict(temperature="auto_1e9"), r"must lie in the learned temperature's range"),
    "schedule negative at end": (dict(temperature=lambda p: p - 0.5), r"temperature\(0.0\) " + RANGE),
    "schedule zero at start": (dict(temperature=lambda p: 1.0 - p), r"temperature\(1.0\) " + RANGE),
    "schedule above MAX_TEMPERATURE": (dict(temperature=exponential_schedule(1.0, 1e9)), r"temperature\(0.0\)"),
    "both ways": (dict(temperature=0.1, temperature_initial=1.0), "not both"),
    "both ways (fraction)": (dict(temperature="auto", temperature_fraction=0.5), "not both"),
    "zero final": (dict(temperature_initial=1.0, temperature_final=0.0), "temperature_final " + RANGE),
    "initial above MAX_TEMPERATURE": (dict(temperature_initial=1e9), "temperature_initial " + RANGE),
    "annealing upward": (
        dict(temperature_initial=0.1, temperature_final=1.0),
        r"temperature_final=1.0 > temperature_initial=0.1 would anneal the temperature upward.*linear_schedule",
    ),
    "upward from the default initial": (
        dict(temperature_final=2 * DEFAULT_TEMPERATURE_INITIAL),
        rf"temperature_final={2 * DEFAULT_TEMPERATURE_INITIAL} > temperature_initial={DEFAULT_TEMPERATURE_INITIAL}",
    ),
    "upward to the default final": (
        dict(temperature_initial=DEFAULT_TEMPERATURE_FINAL / 10),
        rf"temperature_final={DEFAULT_TEMPERATURE_FINAL} > temperature_initial={DEFAULT_TEMPERATURE_FINAL / 10}",
    ),
    "fraction > 1": (
        dict(temperature_initial=1.0, temperature_final=0.1, temperature_fraction=1.5),
        r"temperature_fraction must be a float in \(0, 1\]",
    ),
    "fraction 0": (dict(temperature_fraction=0.0), r"temperature_fraction must be a float in \(0, 1\]"),
    "target entropy without auto": (dict(target_entropy=0.3), "only used with a learned temperature"),
    "target entropy ratio without auto": (dict(target_entropy="auto_0.5"), "only used with a learned temperature"),
    "unknown target entropy": (dict(temperature="auto", target_entropy="max"), "target_entropy must be 'auto'"),
    "target entropy ratio not a number": (dict(temperature="auto", target_entropy="auto_x"), "'auto_<ratio>'"),
    "target entropy ratio 1": (dict(temperature="auto", target_entropy="auto_1"), r"ratio outside \(0, 1\)"),
    "target entropy ratio 0": (dict(temperature="auto", target_entropy="auto_0"), r"ratio outside \(0, 1\)"),
    "target entropy above log|A|": (dict(temperature="auto", target_entropy=0.8), "strictly between 0 and log"),
    "double_q not bool": (dict(double_q="yes"), "double_q must be True or False"),
    "munchausen alpha > 1": (dict(munchausen_alpha=1.5), r"munchausen_alpha must be a float in \[0, 1\]"),
    "munchausen alpha bool": (dict(munchausen_alpha=True), r"munchausen_alpha must be a float in \[0, 1\]"),
    "munchausen alpha < 0": (dict(munchausen_alpha=-0.1), r"munchausen_alpha must be a float in \[0, 1\]"),
    "munchausen l0 >= 0": (dict(munchausen_l0=0.0), "munchausen_l0 must be a finite float < 0"),
    "munchausen with n-step": (dict(munchausen_alpha=0.9, n_steps=3), "needs 1-step returns"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input(case: str) -> None:
    kwargs, message = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=message):
        SoftDQN("MlpPolicy", "CartPole-v1", **kwargs)


def test_non_discrete_action_space() -> None:
    with pytest.raises(ValueError, match="needs a Discrete action space"):
        SoftDQN("MlpPolicy", "Pendulum-v1")


def test_schedule_invalid_during_training() -> None:
    """Valid at the probed ends, NaN in between: the error names the temperature and the progress."""

    def broken(progress: float) -> float:
        return 1.0 if progress in (0.0, 1.0) else math.nan

    model = SoftDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16]), **SMALL, temperature=broken)
    with pytest.raises(ValueError, match=r"temperature \(schedule value at progress_remaining="):
        model.learn(100)


class TemperatureTrace(BaseCallback):
    """Records (progress_remaining, temperature) at every environment step."""

    def __init__(self) -> None:
        super().__init__()
        self.trace: list[tuple[float, float]] = []

    def _on_step(self) -> bool:
        model = self.model
        assert isinstance(model, SoftDQN)
        self.trace.append((model._current_progress_remaining, model._current_temperature()))
        return True


DEFAULT_SCHEDULE = LinearSchedule(DEFAULT_TEMPERATURE_INITIAL, DEFAULT_TEMPERATURE_FINAL, DEFAULT_TEMPERATURE_FRACTION)
SCHEDULES: dict[str, tuple[dict[str, Any], Callable[[float], float]]] = {
    # no temperature argument: annealed like DQN's epsilon (1.0 -> 0.01 over the first 10%)
    "default": ({}, DEFAULT_SCHEDULE),
    # any of the three linear values alone, the others at their defaults (as DQN's exploration_* arguments)
    "fraction only": (
        dict(temperature_fraction=0.5),
        LinearSchedule(DEFAULT_TEMPERATURE_INITIAL, DEFAULT_TEMPERATURE_FINAL, 0.5),
    ),
    "initial only": (
        dict(temperature_initial=0.5),
        LinearSchedule(0.5, DEFAULT_TEMPERATURE_FINAL, DEFAULT_TEMPERATURE_FRACTION),
    ),
    "final only": (
        dict(temperature_final=0.05),
        LinearSchedule(DEFAULT_TEMPERATURE_INITIAL, 0.05, DEFAULT_TEMPERATURE_FRACTION),
    ),
    "no annealing (initial == final)": (dict(temperature_initial=0.2, temperature_final=0.2), lambda p: 0.2),
    "rising, explicitly": (dict(temperature=linear_schedule(0.1, 1.0, 0.5)), LinearSchedule(0.1, 1.0, 0.5)),
    "linear": (
        dict(temperature_initial=1.0, temperature_final=0.1, temperature_fraction=0.5),
        LinearSchedule(1.0, 0.1, 0.5),
    ),
    "linear default fraction": (dict(temperature_initial=2.0, temperature_final=0.2), LinearSchedule(2.0, 0.2, 0.1)),
    "exponential": (dict(temperature=exponential_schedule(1.0, 0.01)), exponential_schedule(1.0, 0.01)),
    "callable": (dict(temperature=lambda p: 0.1 + p), lambda p: 0.1 + p),
    "constant": (dict(temperature=0.2), lambda p: 0.2),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_temperature_schedule_follows_progress(name: str) -> None:
    kwargs, schedule = SCHEDULES[name]
    model = SoftDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16]), **SMALL, **kwargs)
    first, second = TemperatureTrace(), TemperatureTrace()
    model.learn(200, callback=first)
    # reset_num_timesteps=False: SB3 measures progress against 200 + 200 steps, the schedule goes on from there
    model.learn(200, callback=second, reset_num_timesteps=False)
    assert model.num_timesteps == 400
    for progress, temperature in first.trace + second.trace:
        assert temperature == pytest.approx(schedule(progress), rel=1e-12)
    # (the first action of a learn() call still sees the previous progress: SB3 updates it after each step)
    assert second.trace[1][0] == pytest.approx(1 - 201 / 400)
    assert second.trace[-1][0] == pytest.approx(1 - 399 / 400)
    assert model._current_temperature() == pytest.approx(schedule(0.0))


def simulate_per_call(start: float, end: float, rate: float, n_calls: int) -> np.ndarray:
    """The per-call rule written out: change the value by `rate` at each call until it passes `end`."""
    values, value = [], start
    for _ in range(n_calls):
        if (rate < 0 and value > end) or (rate > 0 and value < end):
            value += rate
        values.append(value)
    return np.array(values)


@pytest.mark.parametrize(
    ("start", "end", "rate", "total_calls"),
    [(0.5, 0.005, -1e-5, 300_000), (0.5, 0.005, -1e-5, 30_000), (0.1, 1.0, 1e-3, 2_000)],
)
def test_linear_schedule_from_rate(start: float, end: float, rate: float, total_calls: int) -> None:
    schedule = linear_schedule_from_rate(start, end, rate, total_calls)
    per_call = simulate_per_call(start, end, rate, total_calls)
    calls = np.arange(1, total_calls + 1)
    linear = np.array([schedule(1 - k / total_calls) for k in calls])
    np.testing.assert_allclose(linear, per_call, rtol=0, atol=abs(rate) * 1.01)


def test_blog_annealing_numbers() -> None:
    """The docs' translation of the blog's per-call annealing (three reads per environment step)."""
    total_timesteps = 100_000
    schedule = linear_schedule_from_rate(0.5, 0.005, -1e-5, total_calls=3 * total_timesteps)
    assert schedule.end_fraction == pytest.approx(49_500 / 300_000) == pytest.approx(0.165)
    with pytest.raises(ValueError, match="rate must be non-zero and lead from start to end"):
        linear_schedule_from_rate(0.5, 0.005, 1e-5, 1000)


# Files saved by other algorithms: SoftDQN.load refuses them with an error naming both (sb3_maxent.common.save_util)
OTHER_ALGORITHMS: dict[str, tuple[type[BaseAlgorithm], str]] = {
    "DQN": (DQN, "CartPole-v1"),
    "QRDQN": (QRDQN, "CartPole-v1"),
    "PPO": (PPO, "CartPole-v1"),
    "MaxEntPPO": (MaxEntPPO, "CartPole-v1"),
    "SAC": (SAC, "Pendulum-v1"),
}


@pytest.mark.parametrize("saved_by", list(OTHER_ALGORITHMS))
def test_load_refuses_other_algorithms(saved_by: str, tmp_path) -> None:
    algo, env_id = OTHER_ALGORITHMS[saved_by]
    kwargs: dict[str, Any] = {"buffer_size": 100} if issubclass(algo, OffPolicyAlgorithm) else {}
    algo("MlpPolicy", env_id, policy_kwargs=dict(net_arch=[8]), **kwargs).save(tmp_path / "model.zip")
    message = (
        rf"saved by {saved_by}, not by SoftDQN: it lacks SoftDQN's munchausen_alpha, temperature.*{saved_by}.load\(\)"
    )
    with pytest.raises(ValueError, match=message):
        SoftDQN.load(tmp_path / "model.zip")
    with pytest.raises(ValueError, match=message):
        SoftDQN.load(str(tmp_path / "model"))  # SB3 adds the .zip suffix
    with open(tmp_path / "model.zip", "rb") as file, pytest.raises(ValueError, match=message):
        SoftDQN.load(file)


class SubclassedSoftDQN(SoftDQN):
    """A user's subclass: loads SoftDQN files (its fingerprint is SoftDQN's)."""


def test_load_own_files_by_path_and_file_object(tmp_path) -> None:
    model = SoftDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8]), **SMALL, temperature=0.2)
    model.save(tmp_path / "model.zip")
    for source in (tmp_path / "model.zip", str(tmp_path / "model")):
        assert SoftDQN.load(source).temperature == 0.2
    with open(tmp_path / "model.zip", "rb") as file:
        file.seek(0)
        loaded = SoftDQN.load(file)  # the check reads the archive, then rewinds the file for SB3's load()
    assert_same_state(model, loaded)
    assert SubclassedSoftDQN.load(tmp_path / "model.zip").temperature == 0.2
    buffer = io.BytesIO((tmp_path / "model.zip").read_bytes())
    assert_same_state(model, SoftDQN.load(buffer))
