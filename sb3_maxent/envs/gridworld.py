"""A configurable tabular GridWorld whose transition model is exposed for exact (soft) value iteration.

Cells are addressed as ``(row, col)`` with row 0 at the top, as in the ASCII layouts and the rendered
images. The observation is the state index ``row * width + col`` (a ``Discrete`` space, one-hot encoded by
SB3's ``MlpPolicy``). Moving into a wall or off the grid leaves the agent where it is. Entering a goal cell
ends the episode (``terminated``); reaching ``max_steps`` steps without a goal ends it as ``truncated``.

The transition model is available in two forms, built once at construction:

* ``env.P[s][a] = [(probability, next_state, reward, terminated)]``, the table gymnasium's FrozenLake
  exposes, so code written for FrozenLake (and :func:`sb3_maxent.envs.solver.soft_value_iteration`)
  works unchanged;
* dense arrays ``transition_matrix[s, a, s']``, ``reward_matrix[s, a]`` and ``terminal_mask[s]``.

Goal and wall cells are absorbing in the model (every action loops with reward 0 and
``terminated=True``, FrozenLake's convention): the agent never acts there, and solvers give them value 0.
"""

from __future__ import annotations

import textwrap
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

Cell = tuple[int, int]

# Action order: the four compass moves first, then the diagonals, then "stay", so that "4" is a prefix of
# "8" and the action index of a move does not depend on whether "stay" is present.
MOVE_DELTAS: dict[str, Cell] = {
    "up": (-1, 0),
    "right": (0, 1),
    "down": (1, 0),
    "left": (0, -1),
    "up_right": (-1, 1),
    "down_right": (1, 1),
    "down_left": (1, -1),
    "up_left": (-1, -1),
    "stay": (0, 0),
}
_FOUR = ("up", "right", "down", "left")
_EIGHT = (*_FOUR, "up_right", "down_right", "down_left", "up_left")
MOVE_SETS: dict[str, tuple[str, ...]] = {
    "4": _FOUR,
    "4+stay": (*_FOUR, "stay"),
    "8": _EIGHT,
    "8+stay": (*_EIGHT, "stay"),
}

# Fixed layouts: '.' free cell, '#' wall, 'S' start, 'G' goal (reward ``goal_reward``).
# "open" is not listed here: it is an empty ``width`` x ``height`` grid built on demand.
LAYOUTS: dict[str, str] = {
    # Two goals at the same distance on either side of a wall in front of the start: the hard-optimal
    # policy commits to one side (an arbitrary tie-break), the soft-optimal policy keeps both.
    "two_goals": """
        G.......G
        .........
        .........
        ...###...
        ....S....
    """,
    # A wall across the grid with a single door: the shortest path has to go through it.
    "walls": """
        S.......
        ........
        ........
        #####.##
        ........
        ........
        ........
        .......G
    """,
}
LAYOUT_NAMES: tuple[str, ...] = ("open", *LAYOUTS)
_LAYOUT_CHARS = frozenset(".#SG")

# Colours of the rgb_array rendering
_COLOURS: dict[str, tuple[int, int, int]] = {
    "free": (245, 245, 245),
    "wall": (60, 60, 60),
    "start": (200, 220, 255),
    "goal": (90, 190, 90),
    "agent": (220, 50, 50),
    "grid": (190, 190, 190),
}


def parse_layout(text: str) -> tuple[int, int, Cell | None, list[Cell], list[Cell]]:
    """
    Read an ASCII layout: one line per row, ``.`` free, ``#`` wall, ``S`` start, ``G`` goal.
    Common indentation and blank lines around the map are ignored.

    :param text: the map, rows separated by newlines
    :return: ``(height, width, start or None, goals, walls)``
    """
    rows = [line.strip() for line in textwrap.dedent(text).strip().splitlines()]
    if not rows or not rows[0]:
        raise ValueError("Empty GridWorld layout: give at least one row of '.', '#', 'S' and 'G' characters.")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(
                f"GridWorld layout rows must all have the same length: row 0 has {width} characters, "
                f"row {i} has {len(row)} ({row!r}); pad the short rows with '.' or '#'."
            )
        unknown = set(row) - _LAYOUT_CHARS
        if unknown:
            raise ValueError(
                f"Unknown character(s) {sorted(unknown)} in GridWorld layout row {i} ({row!r}); "
                "use '.' (free), '#' (wall), 'S' (start) and 'G' (goal)."
            )
    starts = [(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch == "S"]
    if len(starts) > 1:
        raise ValueError(f"GridWorld layout has {len(starts)} start cells {starts}; mark exactly one cell 'S'.")
    goals = [(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch == "G"]
    walls = [(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch == "#"]
    return len(rows), width, (starts[0] if starts else None), goals, walls


def _as_cell(value: Any, what: str) -> Cell:
    try:
        row, col = value
        cell = (int(row), int(col))
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a (row, col) pair of integers, got {value!r}.") from None
    if cell != (row, col):
        raise ValueError(f"{what} must be a (row, col) pair of integers, got {value!r}.")
    return cell


class GridWorldEnv(gym.Env[np.int64, np.int64]):
    """
    Tabular GridWorld with a known transition model (the soft Q-learning blog's world, configurable).

    Each step costs ``step_penalty``; entering goal ``g`` adds its reward and ends the episode
    (``terminated=True``). After ``max_steps`` steps without reaching a goal the episode is ``truncated``
    (the limit is built in: no ``TimeLimit`` wrapper is needed or registered). On the final step of an
    episode ``info["is_success"]`` says whether a goal was reached (SB3 and rl-zoo report it as the success
    rate) and ``info["goal"]`` is the index of that goal in ``goal_cells`` (-1 when truncated).

    Layouts: ``"open"`` (an empty ``width`` x ``height`` grid, start top-left, goal bottom-right; 8 x 8
    unless given), ``"two_goals"`` (two equally distant goals: multi-modal soft policy), ``"walls"`` (a wall
    with a door), or any ASCII map (see :func:`parse_layout`). ``start``, ``goals`` and ``walls`` given
    explicitly replace those of the layout.

    :param layout: a name from ``LAYOUT_NAMES`` or an ASCII map with rows separated by newlines
    :param width: number of columns of the ``"open"`` layout (default 8); not allowed with other layouts
    :param height: number of rows of the ``"open"`` layout (default 8); not allowed with other layouts
    :param start: start cell ``(row, col)``; replaces the layout's ``S`` (``"open"``: ``(0, 0)``)
    :param goals: goal cells, either a sequence of ``(row, col)`` (each worth ``goal_reward``) or a mapping
        ``{(row, col): reward}``; replaces the layout's ``G`` cells (``"open"``: the bottom-right cell)
    :param walls: wall cells ``(row, col)``; replaces the layout's ``#`` cells
    :param moves: action set: ``"4"`` (up, right, down, left), ``"8"`` (plus the diagonals), each optionally
        with ``"+stay"``. Action order is up, right, down, left, up_right, down_right, down_left, up_left,
        stay (see ``action_names``). A diagonal move is blocked only when its target cell is a wall.
    :param goal_reward: reward for entering a goal listed without its own reward
    :param step_penalty: cost (>= 0) subtracted from the reward of every step, the goal step included
    :param max_steps: steps after which an episode is truncated
    :param render_mode: ``"rgb_array"`` (an image, ``cell_size`` pixels per cell), ``"ansi"`` (text) or None
    :param cell_size: side of one cell in pixels for ``"rgb_array"`` rendering

    The model, over states ``s = row * width + col`` and actions ``a``:

    * ``P[s][a] = [(1.0, next_state, reward, terminated)]`` (FrozenLake's table)
    * ``transition_matrix[s, a, s']``: probability of moving from ``s`` to ``s'`` with ``a``
    * ``next_state_table[s, a]``: the (deterministic) next state
    * ``reward_matrix[s, a]``: the reward of taking ``a`` in ``s``
    * ``terminal_mask[s]``: goal and wall cells (absorbing; walls are never entered)
    * ``goal_index[s]``: index of the goal at ``s`` in ``goal_cells``, -1 elsewhere
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}

    def __init__(
        self,
        layout: str = "open",
        *,
        width: int | None = None,
        height: int | None = None,
        start: Cell | None = None,
        goals: Sequence[Cell] | Mapping[Cell, float] | None = None,
        walls: Iterable[Cell] | None = None,
        moves: str = "8+stay",
        goal_reward: float = 1.0,
        step_penalty: float = 0.0,
        max_steps: int = 100,
        render_mode: str | None = None,
        cell_size: int = 24,
    ) -> None:
        super().__init__()
        # ---- layout -------------------------------------------------------------------------------
        if not isinstance(layout, str):
            raise ValueError(f"layout must be a string (a name from {LAYOUT_NAMES} or an ASCII map), got {layout!r}.")
        if layout == "open":
            n_rows = 8 if height is None else height
            n_cols = 8 if width is None else width
            for name, value in (("width", n_cols), ("height", n_rows)):
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                    raise ValueError(f"{name} must be a positive integer, got {value!r}.")
            n_rows, n_cols = int(n_rows), int(n_cols)
            layout_start: Cell | None = (0, 0)
            layout_goals: list[Cell] = [(n_rows - 1, n_cols - 1)]
            layout_walls: list[Cell] = []
        else:
            if width is not None or height is not None:
                raise ValueError(
                    f"width/height only apply to layout='open' (got layout={layout!r}); the size of a named or "
                    "ASCII layout comes from its map. Use layout='open' or draw the map at the size you want."
                )
            if layout in LAYOUTS:
                text = LAYOUTS[layout]
            elif "\n" in layout.strip() or (set(layout.strip()) <= _LAYOUT_CHARS and layout.strip()):
                text = layout
            else:
                raise ValueError(
                    f"Unknown GridWorld layout {layout!r}: use one of {LAYOUT_NAMES} or an ASCII map with rows "
                    "separated by newlines ('.' free, '#' wall, 'S' start, 'G' goal)."
                )
            n_rows, n_cols, layout_start, layout_goals, layout_walls = parse_layout(text)
        self.height, self.width = n_rows, n_cols

        # ---- moves and scalar settings --------------------------------------------------------------
        if moves not in MOVE_SETS:
            raise ValueError(f"Unknown move set {moves!r}: use one of {list(MOVE_SETS)}.")
        self.moves = moves
        self.action_names: tuple[str, ...] = MOVE_SETS[moves]
        self.action_deltas: NDArray[np.int64] = np.array([MOVE_DELTAS[m] for m in self.action_names], dtype=np.int64)
        goal_reward = float(goal_reward)
        if not np.isfinite(goal_reward):
            raise ValueError(f"goal_reward must be finite, got {goal_reward}.")
        step_penalty = float(step_penalty)
        if not (np.isfinite(step_penalty) and step_penalty >= 0):
            raise ValueError(
                f"step_penalty must be a finite number >= 0 (it is subtracted from every reward), got {step_penalty}; "
                f"pass {abs(step_penalty) if np.isfinite(step_penalty) else 0.01} to penalise each step."
            )
        if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
            raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}.")
        self.goal_reward = goal_reward
        self.step_penalty = step_penalty
        self.max_steps = int(max_steps)

        # ---- cells ----------------------------------------------------------------------------------
        wall_cells = layout_walls if walls is None else [_as_cell(w, "Each wall") for w in walls]
        for cell in wall_cells:
            self._check_in_bounds(cell, "Wall")
        self.wall_mask: NDArray[np.bool_] = np.zeros((n_rows, n_cols), dtype=bool)
        for cell in wall_cells:
            self.wall_mask[cell] = True

        if goals is None:
            goal_items = [(cell, goal_reward) for cell in layout_goals]
        elif isinstance(goals, Mapping):
            goal_items = [(_as_cell(cell, "Each goal"), float(reward)) for cell, reward in goals.items()]
        else:
            goal_items = [(_as_cell(cell, "Each goal"), goal_reward) for cell in goals]
        if not goal_items:
            raise ValueError(
                "GridWorld needs at least one goal: mark a cell 'G' in the layout or pass goals=[(row, col)]."
            )
        seen: set[Cell] = set()
        for cell, reward in goal_items:
            self._check_in_bounds(cell, "Goal")
            if self.wall_mask[cell]:
                raise ValueError(f"Goal {cell} is on a wall; move the goal or remove the wall at {cell}.")
            if cell in seen:
                raise ValueError(f"Goal {cell} is listed twice; give each goal cell once.")
            if not np.isfinite(reward):
                raise ValueError(f"The reward of goal {cell} must be finite, got {reward}.")
            seen.add(cell)
        self.goal_cells: tuple[Cell, ...] = tuple(cell for cell, _ in goal_items)
        self.goal_rewards: NDArray[np.float64] = np.array([reward for _, reward in goal_items], dtype=np.float64)

        if start is None:
            start = layout_start
        if start is None:
            raise ValueError("GridWorld layout has no start: mark one cell 'S' or pass start=(row, col).")
        self.start: Cell = self._check_start(start)

        # ---- model ----------------------------------------------------------------------------------
        self.n_states = n_rows * n_cols
        self.n_actions = len(self.action_names)
        self._build_model()
        if not self._goal_reachable_from(self.start):
            raise ValueError(
                f"No goal is reachable from the start {self.start} with moves={moves!r}: open a path through the "
                "walls, move the start or a goal, or allow diagonal moves ('8')."
            )

        # ---- gymnasium ------------------------------------------------------------------------------
        self.observation_space = spaces.Discrete(self.n_states)
        self.action_space = spaces.Discrete(self.n_actions)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"Unknown render_mode {render_mode!r}: use one of {self.metadata['render_modes']} or None."
            )
        if isinstance(cell_size, bool) or not isinstance(cell_size, (int, np.integer)) or cell_size < 2:
            raise ValueError(f"cell_size must be an integer >= 2 (pixels), got {cell_size!r}.")
        self.render_mode = render_mode
        self.cell_size = int(cell_size)
        self._state = self.to_state(self.start)
        self._episode_start = self.start
        self._elapsed_steps = 0
        self._last_action: int | None = None

    # ------------------------------------------------------------------------------------------------
    # Construction helpers
    # ------------------------------------------------------------------------------------------------
    def _check_in_bounds(self, cell: Cell, what: str) -> None:
        row, col = cell
        if not (0 <= row < self.height and 0 <= col < self.width):
            raise ValueError(
                f"{what} {cell} is outside the {self.height} x {self.width} grid (rows 0..{self.height - 1}, "
                f"cols 0..{self.width - 1}); use a cell inside it or enlarge the layout."
            )

    def _check_start(self, start: Any) -> Cell:
        cell = _as_cell(start, "start")
        self._check_in_bounds(cell, "Start")
        if self.wall_mask[cell]:
            raise ValueError(f"Start {cell} is on a wall; move the start or remove the wall at {cell}.")
        if cell in self.goal_cells:
            raise ValueError(f"Start {cell} is a goal cell; start somewhere else or move the goal.")
        return cell

    def _build_model(self) -> None:
        n_states, n_actions = self.n_states, self.n_actions
        goal_index = np.full(n_states, -1, dtype=np.int64)
        for g, cell in enumerate(self.goal_cells):
            goal_index[self.to_state(cell)] = g
        walls = self.wall_mask.ravel()
        absorbing = walls | (goal_index >= 0)

        next_state = np.empty((n_states, n_actions), dtype=np.int64)
        rewards = np.zeros((n_states, n_actions), dtype=np.float64)
        for s in range(n_states):
            row, col = divmod(s, self.width)
            for a, (d_row, d_col) in enumerate(self.action_deltas):
                if absorbing[s]:
                    next_state[s, a] = s
                    continue
                r2, c2 = row + int(d_row), col + int(d_col)
                inside = 0 <= r2 < self.height and 0 <= c2 < self.width
                s2 = r2 * self.width + c2 if inside and not walls[r2 * self.width + c2] else s
                next_state[s, a] = s2
                rewards[s, a] = -self.step_penalty + (self.goal_rewards[goal_index[s2]] if goal_index[s2] >= 0 else 0.0)

        self.next_state_table: NDArray[np.int64] = next_state
        self.reward_matrix: NDArray[np.float64] = rewards
        self.terminal_mask: NDArray[np.bool_] = absorbing
        self.goal_index: NDArray[np.int64] = goal_index
        transition = np.zeros((n_states, n_actions, n_states), dtype=np.float64)
        transition[np.arange(n_states)[:, None], np.arange(n_actions)[None, :], next_state] = 1.0
        self.transition_matrix: NDArray[np.float64] = transition
        self.P: dict[int, dict[int, list[tuple[float, int, float, bool]]]] = {
            s: {
                a: [(1.0, int(next_state[s, a]), float(rewards[s, a]), bool(absorbing[next_state[s, a]]))]
                for a in range(n_actions)
            }
            for s in range(n_states)
        }

    def _goal_reachable_from(self, cell: Cell) -> bool:
        start = self.to_state(cell)
        seen = {start}
        queue = deque([start])
        while queue:
            s = queue.popleft()
            if self.goal_index[s] >= 0:
                return True
            for s2 in self.next_state_table[s]:
                if int(s2) not in seen:
                    seen.add(int(s2))
                    queue.append(int(s2))
        return False

    # ------------------------------------------------------------------------------------------------
    # Coordinates
    # ------------------------------------------------------------------------------------------------
    def to_state(self, cell: Cell) -> int:
        """
        :param cell: ``(row, col)``
        :return: the state index ``row * width + col``
        """
        return int(cell[0]) * self.width + int(cell[1])

    def to_cell(self, state: int) -> Cell:
        """
        :param state: a state index
        :return: its cell ``(row, col)``
        """
        row, col = divmod(int(state), self.width)
        return row, col

    @property
    def free_mask(self) -> NDArray[np.bool_]:
        """``(height, width)`` mask of the cells the agent can act in (not walls, not goals)."""
        return ~self.terminal_mask.reshape(self.height, self.width)

    def to_ascii(self) -> str:
        """The layout as an ASCII map (``parse_layout`` reads it back; goal rewards are not part of it)."""
        chars = np.full((self.height, self.width), ".", dtype="<U1")
        chars[self.wall_mask] = "#"
        for cell in self.goal_cells:
            chars[cell] = "G"
        chars[self.start] = "S"
        return "\n".join("".join(row) for row in chars)

    # ------------------------------------------------------------------------------------------------
    # gymnasium API
    # ------------------------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.int64, dict[str, Any]]:
        """
        Put the agent on the start cell.

        :param seed: seeds ``np_random`` (the dynamics are deterministic; kept for the gymnasium API)
        :param options: ``{"start": (row, col)}`` starts this episode (only) from another cell
        :return: the start state index and an empty info dict
        """
        super().reset(seed=seed)
        start = self.start
        if options is not None and options.get("start") is not None:
            start = self._check_start(options["start"])
        self._episode_start = start
        self._state = self.to_state(start)
        self._elapsed_steps = 0
        self._last_action = None
        return np.int64(self._state), {}

    def step(self, action: np.int64 | int) -> tuple[np.int64, SupportsFloat, bool, bool, dict[str, Any]]:
        """
        Move the agent.

        :param action: index into ``action_names``
        :return: ``(state, reward, terminated, truncated, info)``; on the final step ``info`` holds
            ``is_success`` and ``goal`` (index into ``goal_cells``, -1 when no goal was reached)
        """
        a = int(action)
        if not 0 <= a < self.n_actions:
            raise ValueError(f"Invalid action {action!r}: moves={self.moves!r} has actions 0..{self.n_actions - 1}.")
        state = int(self.next_state_table[self._state, a])
        reward = float(self.reward_matrix[self._state, a])
        self._state = state
        self._elapsed_steps += 1
        self._last_action = a
        goal = int(self.goal_index[state])
        terminated = goal >= 0
        truncated = not terminated and self._elapsed_steps >= self.max_steps
        info: dict[str, Any] = {}
        if terminated or truncated:
            info["is_success"] = terminated
            info["goal"] = goal
        return np.int64(state), reward, terminated, truncated, info

    def render(self) -> NDArray[np.uint8] | str | None:
        """Return an RGB image (``render_mode="rgb_array"``) or a text map (``"ansi"``) of the current state."""
        if self.render_mode is None:
            gym.logger.warn('GridWorldEnv.render() called without render_mode; pass render_mode="rgb_array" or "ansi".')
            return None
        if self.render_mode == "ansi":
            chars = [list(line) for line in self.to_ascii().splitlines()]
            row, col = self.to_cell(self._state)
            chars[row][col] = "A"
            text = "\n".join("".join(line) for line in chars)
            if self._last_action is not None:
                text += f"\n({self.action_names[self._last_action]})"
            return text + "\n"
        return self._render_rgb()

    def _render_rgb(self) -> NDArray[np.uint8]:
        size = self.cell_size
        colours = np.empty((self.height, self.width, 3), dtype=np.uint8)
        colours[:] = _COLOURS["free"]
        colours[self.start] = _COLOURS["start"]
        colours[self.wall_mask] = _COLOURS["wall"]
        for cell in self.goal_cells:
            colours[cell] = _COLOURS["goal"]
        image = np.repeat(np.repeat(colours, size, axis=0), size, axis=1)
        image[::size, :] = _COLOURS["grid"]
        image[:, ::size] = _COLOURS["grid"]
        # the agent: a disc in its cell
        row, col = self.to_cell(self._state)
        yy, xx = np.mgrid[0:size, 0:size]
        centre = (size - 1) / 2
        disc = (yy - centre) ** 2 + (xx - centre) ** 2 <= (0.35 * size) ** 2
        patch = image[row * size : (row + 1) * size, col * size : (col + 1) * size]
        patch[disc] = _COLOURS["agent"]
        return image
