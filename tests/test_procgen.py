"""Procgen (FruitBot) environments: the native VecEnv, the single-env adapter, seeding, episode semantics.

Episodes: a random FruitBot agent soon drives into a wall (episodes of about 55-230 steps, 80 on average),
so a few hundred steps of a few environments finish episodes in well under a second. The time limit is
checked on maze, whose limit is 500 steps and which a "do nothing" agent never solves.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import warnings
from pathlib import Path
from typing import NamedTuple

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecMonitor

from sb3_maxent.envs.procgen import (
    ProcgenEnv,
    ProcgenVecEnv,
    evaluation_levels,
    import_procgen,
    make_procgen_eval_vec_env,
    make_procgen_vec_env,
    procgen_install_hint,
    procgen_installable,
)

NOOP = 4  # procgen's action 4: no key pressed


class VersionInfo(NamedTuple):
    """A stand-in for sys.version_info."""

    major: int
    minor: int
    micro: int


@pytest.fixture
def procgen() -> None:
    pytest.importorskip("procgen", reason=f"Procgen is not installed: {procgen_install_hint()}")


def random_actions(rng: np.random.Generator, n_envs: int) -> np.ndarray:
    return rng.integers(0, 15, size=n_envs)


# ----------------------------------------------------------------------------- without procgen


def test_import_does_not_import_procgen() -> None:
    code = (
        "import sys, sb3_maxent, sb3_maxent.envs.procgen, sb3_maxent.common.torch_layers;"
        "assert 'procgen' not in sys.modules and 'gym3' not in sys.modules, 'procgen imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_prints_no_gym_notice() -> None:
    """The procgen extra installs the legacy gym, which SB3 imports whenever it is there and which prints a
    deprecation notice on import: `import sb3_maxent` (and so every `sb3-maxent train`) prints nothing."""
    code = (
        "import importlib.util, sys, sb3_maxent; assert ('gym' in sys.modules) == bool(importlib.util.find_spec('gym'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Gym has been unmaintained" not in result.stderr


def test_missing_procgen_error_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "procgen", None)  # makes `import procgen` raise ImportError
    for make in (import_procgen, lambda: ProcgenVecEnv(num_envs=2), ProcgenEnv):
        with pytest.raises(ImportError) as error:
            make()
        message = str(error.value)
        assert procgen_install_hint() in message
        assert "numpy<2" in message
        assert "procgen-mirror" in message


@pytest.mark.parametrize(
    ("version", "system", "machine"),
    [
        ((3, 10, 13), "linux", "x86_64"),
        ((3, 10, 13), "win32", "AMD64"),
        ((3, 10, 13), "darwin", "arm64"),
        ((3, 11, 7), "linux", "x86_64"),
        ((3, 12, 1), "linux", "x86_64"),
        ((3, 12, 1), "linux", "aarch64"),
        ((3, 12, 1), "darwin", "x86_64"),
        ((3, 13, 0), "linux", "x86_64"),
    ],
)
def test_install_hint_follows_the_extra(
    version: tuple[int, int, int], system: str, machine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """procgen_installable() agrees with the markers of pyproject.toml's procgen extra (where a wheel exists)."""
    tomllib = pytest.importorskip("tomllib")
    requirements = pytest.importorskip("packaging.requirements")
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    extra = [requirements.Requirement(line) for line in pyproject["project"]["optional-dependencies"]["procgen"]]
    here = {"python_version": "{}.{}".format(*version), "sys_platform": system, "platform_machine": machine}
    wheel_exists = any(requirement.marker is None or requirement.marker.evaluate(here) for requirement in extra)

    monkeypatch.setattr(sys, "version_info", VersionInfo(*version))
    monkeypatch.setattr(sys, "platform", system)
    monkeypatch.setattr(platform, "machine", lambda: machine)
    assert procgen_installable() == wheel_exists
    hint = procgen_install_hint()
    assert hint.startswith("pip install") if wheel_exists else hint.startswith("Procgen 0.10.7 has no build")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(env_name="fruitbott"), "Unknown Procgen game"),
        (dict(distribution_mode="medium"), "Unknown distribution_mode"),
        (dict(distribution_mode="memory"), "supports easy, hard"),
        (dict(num_levels=-1), "num_levels"),
        (dict(num_levels=2.5), "num_levels"),
        (dict(start_level=-3), "start_level"),
        (dict(start_level=2**31 - 10, num_levels=100), "32-bit"),
        (dict(render_mode="human"), "render_mode"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    # Checked before procgen is imported (procgen aborts the whole process on some of these).
    with pytest.raises(ValueError, match=match):
        ProcgenVecEnv(num_envs=2, **kwargs)
    with pytest.raises(ValueError, match=match):
        ProcgenEnv(**kwargs)


def test_bad_num_envs() -> None:
    with pytest.raises(ValueError, match="num_envs"):
        ProcgenVecEnv(num_envs=0)


def test_evaluation_levels() -> None:
    # The paper: train on levels 0-499, test on the unseen levels 500-999.
    assert evaluation_levels() == {"start_level": 500, "num_levels": 500}
    assert evaluation_levels(100, 0) == {"start_level": 100, "num_levels": 100}
    assert evaluation_levels(50, 10, num_levels=1000) == {"start_level": 60, "num_levels": 1000}
    with pytest.raises(ValueError, match="train_num_levels"):
        evaluation_levels(0)


# ----------------------------------------------------------------------------- ProcgenVecEnv


def test_vec_env_api(procgen: None) -> None:
    venv = ProcgenVecEnv(num_envs=3, seed=0)
    assert venv.num_envs == 3
    assert venv.observation_space == gym.spaces.Box(0, 255, (64, 64, 3), np.uint8)
    assert venv.action_space == gym.spaces.Discrete(15)
    assert venv.timeout == 1000  # FruitBot's step limit, read from procgen

    obs = venv.reset()
    assert obs.shape == (3, 64, 64, 3)
    assert obs.dtype == np.uint8
    assert all(0 <= info["level_seed"] < 500 for info in venv.reset_infos)
    obs, rewards, dones, infos = venv.step(np.array([0, 7, 14]))
    assert obs.shape == (3, 64, 64, 3)
    assert obs.dtype == np.uint8
    assert rewards.shape == (3,)
    assert rewards.dtype == np.float32
    assert dones.shape == (3,)
    assert dones.dtype == np.bool_
    assert isinstance(infos, list)
    assert len(infos) == 3
    assert all(isinstance(info, dict) for info in infos)
    # (n, 1) actions, as some algorithms pass them, are accepted too
    venv.step(np.zeros((3, 1), dtype=np.int64))

    with pytest.raises(ValueError, match="Actions must lie"):
        venv.step(np.array([0, 15, 1]))
    with pytest.raises(ValueError, match="3 integer actions"):
        venv.step(np.array([0, 1]))

    assert venv.get_attr("env_name") == ["fruitbot"] * 3
    assert venv.get_attr("num_levels", indices=[0, 2]) == [500, 500]
    assert venv.has_attr("timeout")
    assert not venv.has_attr("no_such_attribute")
    assert venv.env_is_wrapped(gym.Wrapper) == [False] * 3
    seeds = venv.env_method("seed", 3)
    assert seeds == [[3, 4, 5]] * 3
    with pytest.raises(ValueError, match="all environments"):
        venv.env_method("seed", 3, indices=[1])
    with pytest.raises(ValueError, match="all environments"):
        venv.set_attr("start_level", 10, indices=0)
    with pytest.raises(ValueError, match="has no distribution_mode"):
        venv.set_attr("distribution_mode", "extreme")
    with pytest.raises(IndexError):
        venv.get_attr("env_name", indices=[3])

    images = venv.get_images()
    assert len(images) == 3
    assert images[0].shape == (64, 64, 3)
    with pytest.warns(UserWarning, match="render_mode"):
        assert venv.render() is None
    venv.close()

    render_venv = ProcgenVecEnv(num_envs=2, seed=0, render_mode="rgb_array")
    frame = render_venv.render()
    assert frame is not None
    assert frame.dtype == np.uint8
    assert frame.shape == (1024, 512, 3)
    render_venv.close()


def test_terminal_observation(procgen: None) -> None:
    n_envs = 8
    venv = ProcgenVecEnv(num_envs=n_envs, seed=1)
    obs = venv.reset()
    rng = np.random.default_rng(0)
    n_done = 0
    for _ in range(400):
        new_obs, _, dones, infos = venv.step(random_actions(rng, n_envs))
        for idx in range(n_envs):
            if not dones[idx]:
                assert "terminal_observation" not in infos[idx]
                continue
            n_done += 1
            info = infos[idx]
            # The last frame of the finished episode: the observation the final action was taken on.
            np.testing.assert_array_equal(info["terminal_observation"], obs[idx])
            assert info["terminal_observation"].shape == (64, 64, 3)
            assert not np.array_equal(info["terminal_observation"], new_obs[idx])
            assert info["TimeLimit.truncated"] is False  # random FruitBot episodes end far before 1000 steps
            assert 0 <= info["level_seed"] < 500
            assert isinstance(info["level_complete"], bool)
        obs = new_obs
    assert n_done >= n_envs
    venv.close()


def test_time_limit_is_truncation(procgen: None) -> None:
    venv = ProcgenVecEnv(num_envs=2, env_name="maze", seed=0)
    assert venv.timeout == 500
    venv.reset()
    for step in range(1, 501):
        _, _, dones, infos = venv.step(np.full(2, NOOP))
        assert dones.all() == (step == 500)
    assert all(info["TimeLimit.truncated"] and not info["level_complete"] for info in infos)

    env = ProcgenEnv(env_name="maze")
    env.reset(seed=0)
    for step in range(1, 501):
        _, _, terminated, truncated, _ = env.step(NOOP)
        assert not terminated
        assert truncated == (step == 500)


def test_same_seed_same_observations(procgen: None) -> None:
    def rollout(**kwargs: object) -> tuple[np.ndarray, np.ndarray]:
        venv = ProcgenVecEnv(num_envs=4, **kwargs)  # type: ignore[arg-type]
        frames = [venv.reset()]
        rng = np.random.default_rng(0)
        for _ in range(50):
            frames.append(venv.step(random_actions(rng, 4))[0])
        seeds = venv.level_seeds
        venv.close()
        return np.stack(frames), seeds

    frames_a, seeds_a = rollout(seed=7)
    frames_b, seeds_b = rollout(seed=7)
    np.testing.assert_array_equal(frames_a, frames_b)
    np.testing.assert_array_equal(seeds_a, seeds_b)

    frames_c, _ = rollout(seed=7, start_level=500)
    assert not np.array_equal(frames_a[0], frames_c[0])
    frames_d, _ = rollout(seed=8)
    assert not np.array_equal(frames_a[0], frames_d[0])

    # seed() + reset() rebuilds from that seed: the same frames as a fresh environment
    venv = ProcgenVecEnv(num_envs=4, seed=123)
    venv.step(np.zeros(4, dtype=np.int64))
    venv.seed(7)
    np.testing.assert_array_equal(venv.reset(), frames_a[0])
    # a level option changed with set_attr applies at the next reset()
    venv.set_attr("start_level", 500)
    venv.seed(7)
    np.testing.assert_array_equal(venv.reset(), frames_c[0])
    assert ((venv.level_seeds >= 500) & (venv.level_seeds < 1000)).all()
    venv.close()


def test_reset_starts_new_episodes(procgen: None) -> None:
    venv = ProcgenVecEnv(num_envs=4, seed=0)
    first = venv.reset()
    np.testing.assert_array_equal(venv.reset(), first)  # nothing played yet: same episodes
    for _ in range(10):
        venv.step(np.full(4, NOOP))
    seeds_before = venv.level_seeds
    venv.reset()
    assert (venv.level_seeds != seeds_before).any()
    # the episode counters restarted: nothing is flagged as truncated or done spuriously
    _, _, dones, _ = venv.step(np.full(4, NOOP))
    assert not dones.any()
    venv.close()


def test_sb3_ppo_reports_episode_returns(procgen: None) -> None:
    # Random FruitBot episodes last ~80 steps: 16 envs x 2 x 64 steps finish a dozen or more.
    venv = make_procgen_vec_env(n_envs=16, seed=0)
    assert isinstance(venv, VecMonitor)
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=64,
        batch_size=512,
        n_epochs=1,
        policy_kwargs=dict(net_arch=[8]),
        seed=0,
        device="cpu",
    )
    model.learn(2 * 16 * 64)
    assert model.num_timesteps == 2 * 16 * 64
    assert len(model.ep_info_buffer) > 0
    assert all({"r", "l"} <= set(info) for info in model.ep_info_buffer)
    assert all(info["l"] > 0 for info in model.ep_info_buffer)
    venv.close()
    assert not isinstance(make_procgen_vec_env(n_envs=2, monitor=False), VecMonitor)


def test_eval_vec_env_uses_unseen_levels(procgen: None) -> None:
    venv = make_procgen_eval_vec_env(n_envs=8, seed=0)
    venv.reset()
    seeds = np.asarray(venv.get_attr("level_seeds")[0])
    assert ((seeds >= 500) & (seeds < 1000)).all()
    venv.close()


# ----------------------------------------------------------------------------- ProcgenEnv


def test_single_env_checkers(procgen: None) -> None:
    from gymnasium.utils.env_checker import check_env as gymnasium_check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with warnings.catch_warnings():
        # gymnasium cannot try other render modes of an env made without gym.make
        warnings.filterwarnings("ignore", message=".*alternative render modes.*")
        gymnasium_check_env(ProcgenEnv())
    sb3_check_env(ProcgenEnv(), warn=True)
    gymnasium_check_env(gym.make("FruitBot-v0").unwrapped)

    env = gym.make("FruitBot-v0", render_mode="rgb_array")
    assert env.observation_space.shape == (64, 64, 3)
    env.reset(seed=0)
    frame = env.render()
    assert isinstance(frame, np.ndarray)
    assert frame.shape == (512, 512, 3)
    env.close()


def test_single_env_episode_semantics(procgen: None) -> None:
    env = ProcgenEnv()
    obs, info = env.reset(seed=3)
    obs_again, info_again = env.reset(seed=3)
    np.testing.assert_array_equal(obs, obs_again)
    assert info == info_again
    assert 0 <= info["level_seed"] < 500
    rng = np.random.default_rng(0)
    for _ in range(1000):
        new_obs, reward, terminated, truncated, info = env.step(int(rng.integers(15)))
        assert isinstance(reward, float)
        if terminated or truncated:
            break
        obs = new_obs
    assert terminated
    assert not truncated
    # the last frame of the episode, not the next level's first frame
    np.testing.assert_array_equal(new_obs, obs)
    assert "level_complete" in info
    next_obs, next_info = env.reset()
    assert not np.array_equal(next_obs, new_obs)
    assert next_info["level_seed"] != info["level_seed"] or not np.array_equal(next_obs, obs)
    with pytest.raises(ValueError, match="Invalid action"):
        env.step(15)
    env.close()


def test_env_state_restores_levels_and_randomness(procgen: None) -> None:
    """get_env_state / set_env_state: a fresh environment continues exactly where the snapshot was taken."""
    rng = np.random.default_rng(0)
    env = ProcgenVecEnv(num_envs=4, seed=3, num_threads=1)
    for _ in range(40):
        env.step(random_actions(rng, 4))
    snapshot = env.get_env_state()
    actions = [random_actions(rng, 4) for _ in range(400)]  # several episodes end in 400 steps

    def play(venv: ProcgenVecEnv) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]]:
        steps = []
        for action in actions:
            obs, rewards, dones, infos = venv.step(action)
            steps.append((obs.copy(), rewards.copy(), dones.copy(), [info.get("level_seed", -1) for info in infos]))
        return steps

    expected = play(env)
    restored = ProcgenVecEnv(num_envs=4, seed=99, num_threads=1)  # another seed: the snapshot decides
    restored.set_env_state(snapshot)
    got = play(restored)
    assert sum(int(step[2].sum()) for step in expected) >= 2
    for (obs_a, rew_a, done_a, seeds_a), (obs_b, rew_b, done_b, seeds_b) in zip(expected, got, strict=True):
        np.testing.assert_array_equal(obs_a, obs_b)
        np.testing.assert_array_equal(rew_a, rew_b)
        np.testing.assert_array_equal(done_a, done_b)
        assert seeds_a == seeds_b
    for venv in (env, restored):
        venv.close()


def test_env_state_rejects_other_settings(procgen: None) -> None:
    env = ProcgenVecEnv(num_envs=2, num_levels=10, num_threads=1)
    snapshot = env.get_env_state()
    other = ProcgenVecEnv(num_envs=2, num_levels=20, num_threads=1)
    with pytest.raises(ValueError, match="level options"):
        other.set_env_state(snapshot)
    for venv in (env, other):
        venv.close()
