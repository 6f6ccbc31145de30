"""GridWorld: gymnasium/SB3 env checkers, dynamics (borders, walls, diagonals, stay, goals, step limit),
the exposed transition model, layouts and input validation."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3 import DQN
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import sb3_maxent  # noqa: F401  (registers the ids)
from sb3_maxent.envs.gridworld import LAYOUT_NAMES, MOVE_SETS, GridWorldEnv, parse_layout

UP, RIGHT, DOWN, LEFT, UP_RIGHT, DOWN_RIGHT, DOWN_LEFT, UP_LEFT = range(8)


def _check(env: gym.Env) -> None:
    with warnings.catch_warnings():
        # A directly constructed env has no spec, so gymnasium cannot re-make it in other render modes.
        warnings.filterwarnings("ignore", message=".*not having a spec.*")
        gym_check_env(env)
    sb3_check_env(env, warn=True)


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
@pytest.mark.parametrize("moves", list(MOVE_SETS))
def test_env_checkers_direct(layout: str, moves: str) -> None:
    _check(GridWorldEnv(layout, moves=moves))


@pytest.mark.parametrize("render_mode", ["rgb_array", "ansi"])
def test_env_checkers_render_modes(render_mode: str) -> None:
    _check(GridWorldEnv("walls", render_mode=render_mode))


@pytest.mark.parametrize("env_id", ["GridWorld-v0", "GridWorldTwoGoals-v0"])
@pytest.mark.parametrize("render_mode", [None, "rgb_array", "ansi"])
def test_env_checkers_registered(env_id: str, render_mode: str | None) -> None:
    env = gym.make(env_id, render_mode=render_mode)
    # gymnasium's checker wants the raw env (with its spec, so other render modes are re-made and checked);
    # SB3's checker runs on what gym.make returns.
    gym_check_env(env.unwrapped)
    sb3_check_env(env)
    assert env.spec is not None
    assert env.spec.max_episode_steps is None
    assert isinstance(env.unwrapped, GridWorldEnv)


def test_registered_layouts() -> None:
    assert gym.make("GridWorld-v0").unwrapped.to_ascii() == GridWorldEnv("open").to_ascii()
    assert gym.make("GridWorldTwoGoals-v0").unwrapped.to_ascii() == GridWorldEnv("two_goals").to_ascii()
    two = GridWorldEnv("two_goals")
    assert len(two.goal_cells) == 2


# --------------------------------------------------------------------------------------------------
# Dynamics
# --------------------------------------------------------------------------------------------------
def _step_from(
    env: GridWorldEnv, cell: tuple[int, int], action: int
) -> tuple[tuple[int, int], float, bool, bool, dict]:
    env.reset(options={"start": cell})
    state, reward, terminated, truncated, info = env.step(action)
    return env.to_cell(int(state)), float(reward), terminated, truncated, info


def test_four_moves_and_borders() -> None:
    env = GridWorldEnv(width=3, height=3, moves="4")
    assert env.action_names == ("up", "right", "down", "left")
    assert _step_from(env, (1, 1), UP)[0] == (0, 1)
    assert _step_from(env, (1, 1), RIGHT)[0] == (1, 2)
    assert _step_from(env, (1, 1), DOWN)[0] == (2, 1)
    assert _step_from(env, (1, 1), LEFT)[0] == (1, 0)
    # off the grid: the agent stays
    assert _step_from(env, (0, 0), UP)[0] == (0, 0)
    assert _step_from(env, (0, 0), LEFT)[0] == (0, 0)
    assert _step_from(env, (0, 2), RIGHT)[0] == (0, 2)
    assert _step_from(env, (2, 0), DOWN)[0] == (2, 0)


def test_walls_block_moves() -> None:
    env = GridWorldEnv(
        """
        S#.
        ...
        .#G
        """,
        moves="8",
    )
    assert env.wall_mask.sum() == 2
    assert _step_from(env, (0, 0), RIGHT)[0] == (0, 0)  # into the wall
    assert _step_from(env, (1, 1), UP)[0] == (1, 1)
    assert _step_from(env, (1, 1), DOWN)[0] == (1, 1)
    assert _step_from(env, (0, 0), DOWN_RIGHT)[0] == (1, 1)  # diagonal between walls: only the target counts
    assert _step_from(env, (1, 0), UP_RIGHT)[0] == (1, 0)  # diagonal target is a wall


def test_diagonals_and_stay() -> None:
    env = GridWorldEnv(width=4, height=4, moves="8+stay")
    assert env.n_actions == 9
    assert env.action_names[-1] == "stay"
    expected = {UP_RIGHT: (0, 2), DOWN_RIGHT: (2, 2), DOWN_LEFT: (2, 0), UP_LEFT: (0, 0), 8: (1, 1)}
    for action, cell in expected.items():
        assert _step_from(env, (1, 1), action)[0] == cell, env.action_names[action]
    assert _step_from(env, (0, 0), UP_LEFT)[0] == (0, 0)  # corner: diagonal off the grid
    stay = GridWorldEnv(width=3, height=3, moves="4+stay")
    assert stay.action_names == ("up", "right", "down", "left", "stay")
    assert _step_from(stay, (1, 1), 4)[0] == (1, 1)


def test_goal_reward_termination_and_info() -> None:
    env = GridWorldEnv("S.G", moves="4", goal_reward=2.5, step_penalty=0.1)
    env.reset()
    state, reward, terminated, truncated, info = env.step(RIGHT)
    assert (int(state), reward, terminated, truncated, info) == (1, -0.1, False, False, {})
    state, reward, terminated, truncated, info = env.step(RIGHT)
    assert int(state) == 2
    assert reward == pytest.approx(2.4)
    assert terminated
    assert not truncated
    assert info == {"is_success": True, "goal": 0}


def test_several_goals_with_their_rewards() -> None:
    env = GridWorldEnv(width=3, height=1, moves="4", start=(0, 1), goals={(0, 0): -1.0, (0, 2): 3.0})
    assert env.goal_cells == ((0, 0), (0, 2))
    _, reward, terminated, _, info = _step_from(env, (0, 1), LEFT)
    assert (reward, terminated, info["goal"], info["is_success"]) == (-1.0, True, 0, True)
    _, reward, terminated, _, info = _step_from(env, (0, 1), RIGHT)
    assert (reward, terminated, info["goal"]) == (3.0, True, 1)


@pytest.mark.parametrize("max_steps", [1, 3, 100])
def test_truncation_at_step_limit(max_steps: int) -> None:
    env = GridWorldEnv(width=4, height=4, moves="4+stay", max_steps=max_steps)
    env.reset()
    for t in range(1, max_steps + 1):
        _, _, terminated, truncated, info = env.step(4)  # stay
        assert not terminated
        assert truncated == (t == max_steps)
        assert ("is_success" in info) == (t == max_steps)
    assert info == {"is_success": False, "goal": -1}
    # reset starts a fresh episode with a fresh step budget
    env.reset()
    assert not env.step(4)[3] or max_steps == 1


def test_goal_on_last_step_is_termination_not_truncation() -> None:
    env = GridWorldEnv("S.G", moves="4", max_steps=2)
    env.reset()
    env.step(RIGHT)
    _, _, terminated, truncated, info = env.step(RIGHT)
    assert terminated
    assert not truncated
    assert info["is_success"]


def test_reset_start_option_and_seeding() -> None:
    env = GridWorldEnv(width=5, height=5)
    assert int(env.reset(seed=0)[0]) == 0
    assert int(env.reset(options={"start": (2, 3)})[0]) == env.to_state((2, 3))
    assert int(env.reset()[0]) == 0  # the option applies to one episode only
    with pytest.raises(ValueError, match="goal cell"):
        env.reset(options={"start": (4, 4)})


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
@pytest.mark.parametrize("moves", ["4", "8+stay"])
def test_transition_model_matches_step(layout: str, moves: str) -> None:
    env = GridWorldEnv(layout, moves=moves, step_penalty=0.05)
    n_states, n_actions = env.n_states, env.n_actions
    assert set(env.P) == set(range(n_states))
    assert all(set(env.P[s]) == set(range(n_actions)) for s in env.P)
    np.testing.assert_allclose(env.transition_matrix.sum(-1), 1.0)
    for s in np.flatnonzero(env.free_mask.ravel()):
        for a in range(n_actions):
            cell, reward, terminated, _, _ = _step_from(env, env.to_cell(s), a)
            ((prob, next_state, model_reward, done),) = env.P[s][a]
            assert (prob, next_state, done) == (1.0, env.to_state(cell), terminated)
            assert model_reward == pytest.approx(reward)
            assert env.transition_matrix[s, a, next_state] == 1.0
            assert env.reward_matrix[s, a] == pytest.approx(reward)
    # goals and walls are absorbing in the model (FrozenLake's convention)
    for s in np.flatnonzero(env.terminal_mask):
        assert all(env.P[s][a] == [(1.0, int(s), 0.0, True)] for a in range(n_actions))


def test_ascii_layout_round_trip() -> None:
    env = GridWorldEnv("walls")
    height, width, start, goals, walls = parse_layout(env.to_ascii())
    assert (height, width, start) == (env.height, env.width, env.start)
    assert goals == list(env.goal_cells)
    assert sorted(walls) == sorted(zip(*np.nonzero(env.wall_mask), strict=True))
    assert GridWorldEnv(env.to_ascii()).to_ascii() == env.to_ascii()


def test_overrides_replace_layout_cells() -> None:
    env = GridWorldEnv("walls", start=(7, 0), goals=[(0, 7)], walls=[])
    assert env.start == (7, 0)
    assert env.goal_cells == ((0, 7),)
    assert not env.wall_mask.any()


def test_render_modes() -> None:
    env = GridWorldEnv(width=3, height=2, render_mode="rgb_array", cell_size=10)
    env.reset()
    first = env.render()
    assert isinstance(first, np.ndarray)
    assert first.shape == (20, 30, 3)
    assert first.dtype == np.uint8
    env.step(RIGHT)
    second = env.render()
    assert isinstance(second, np.ndarray)
    assert not np.array_equal(first, second)
    text_env = GridWorldEnv(width=3, height=2, render_mode="ansi")
    text_env.reset()
    text_env.step(RIGHT)
    text = text_env.render()
    assert isinstance(text, str)
    assert text.splitlines()[:2] == ["SA.", "..G"]
    assert "(right)" in text


def test_success_rate_reaches_sb3() -> None:
    # SB3 reads info["is_success"] at the end of each episode into ep_success_buffer (rollout/success_rate)
    env = GridWorldEnv("S.G", moves="4", max_steps=5)
    model = DQN("MlpPolicy", env, learning_starts=50, policy_kwargs=dict(net_arch=[8]), seed=0).learn(120)
    assert len(model.ep_success_buffer) > 0
    assert set(model.ep_success_buffer) <= {True, False}


# --------------------------------------------------------------------------------------------------
# Validation: bad input fails at construction, naming the problem and the fix
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(layout="S#G", start=(0, 1)), r"Start \(0, 1\) is on a wall; move the start or remove the wall"),
        (dict(layout="S.G", goals=[(0, 5)]), r"Goal \(0, 5\) is outside the 1 x 3 grid .* use a cell inside it"),
        (dict(layout="S#G", moves="4"), r"No goal is reachable from the start \(0, 0\).*open a path"),
        (dict(moves="6"), r"Unknown move set '6': use one of \['4', '4\+stay', '8', '8\+stay'\]"),
        (dict(layout="maze"), r"Unknown GridWorld layout 'maze': use one of \('open', 'two_goals', 'walls'\)"),
        (dict(layout="two_goals", width=5), r"width/height only apply to layout='open'"),
        (dict(width=0), r"width must be a positive integer"),
        (dict(width=1, height=1), r"Start \(0, 0\) is a goal cell"),
        (dict(layout="S..\n.G"), r"same length.*pad the short rows"),
        (dict(layout="S.x\n..G"), r"Unknown character\(s\) \['x'\].*use '\.' \(free\)"),
        (dict(layout="S.S.G"), r"2 start cells.*mark exactly one cell 'S'"),
        (dict(layout="S...."), r"needs at least one goal: mark a cell 'G'"),
        (dict(layout="..G"), r"no start: mark one cell 'S' or pass start="),
        (dict(layout="S#G", goals=[(0, 1)]), r"Goal \(0, 1\) is on a wall"),
        (dict(step_penalty=-0.1), r"step_penalty must be a finite number >= 0.*pass 0\.1 to penalise each step"),
        (dict(max_steps=0), r"max_steps must be a positive integer"),
        (dict(render_mode="human"), r"Unknown render_mode 'human': use one of \['rgb_array', 'ansi'\]"),
        (dict(start=(0, 0.5)), r"start must be a \(row, col\) pair of integers"),
    ],
)
def test_invalid_layouts_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GridWorldEnv(**kwargs)


def test_goal_reachable_around_a_wall() -> None:
    env = GridWorldEnv("S.\n#.\n.G", moves="4")
    assert env.goal_cells == ((2, 1),)


def test_invalid_action_raises() -> None:
    env = GridWorldEnv(moves="4")
    env.reset()
    with pytest.raises(ValueError, match=r"Invalid action 4: moves='4' has actions 0\.\.3"):
        env.step(4)
