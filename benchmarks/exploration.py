"""Exploration metrics and the verdict rule shared by the two GridWorld exploration tracks (tabular and SB3).

Counts are ``n_visits[run, s, a]``: how often each run acted with ``a`` in ``s`` during a window of a fixed number
of environment steps (the soft Q-learning blog's ``n_visits``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.figure import Figure
from numpy.typing import NDArray

from sb3_maxent.envs.gridworld import GridWorldEnv
from sb3_maxent.envs.plotting import save_figure

#: The two layouts both tracks run: the open grid (the blog's) and two equally distant goals
LAYOUTS: dict[str, str] = {"open": "GridWorld-v0", "two_goals": "GridWorldTwoGoals-v0"}
COMPARABLE_SUCCESS = 0.10  # success rates within 10 percentage points are comparable
SUCCESS_KEYS: tuple[str, ...] = ("behaviour_success", "greedy_success")
VERDICT_RULE = (
    "a verdict only where behaviour and greedy success are each within "
    f"{100 * COMPARABLE_SUCCESS:.0f} points of the comparator's (means over runs); then 'more even' / 'less even' "
    "when the mean state-visitation entropy differs by more than the larger of the two run standard deviations, "
    "otherwise 'no difference'"
)
_WALL_COLOUR = ListedColormap(["tab:blue"])


def entropy(counts: NDArray[np.integer], axis: int | tuple[int, ...]) -> NDArray[np.float64]:
    """Entropy (nats) of the distribution of ``counts`` over ``axis`` (one value per remaining index)."""
    total = counts.sum(axis=axis, keepdims=True).astype(np.float64)
    p = np.divide(counts, total, out=np.zeros(counts.shape), where=total > 0)
    return -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=axis)


def window_metrics(
    counts: NDArray[np.int64], ended: NDArray[np.int64] | None, greedy: NDArray[np.int64] | None, n_goals: int
) -> dict[str, Any]:
    """
    Per-run metrics of one window (lists over runs).

    :param counts: ``(runs, S, A)`` visits in the window
    :param ended: ``(runs, n_goals + 1)`` episodes that ended in the window at each goal, last column: truncated
    :param greedy: ``(runs,)`` goal reached by the greedy policy at the window's end (-1: none)
    :param n_goals: number of goals of the layout
    """
    out: dict[str, Any] = {
        "state_entropy": entropy(counts.sum(axis=2), axis=1).tolist(),
        "state_action_entropy": entropy(counts.reshape(counts.shape[0], -1), axis=1).tolist(),
        "states_visited": (counts.sum(axis=2) > 0).sum(axis=1).tolist(),
    }
    if ended is not None:
        goals, n_ended = ended[:, :n_goals], ended.sum(axis=1)
        out["episodes_ended"] = n_ended.tolist()
        out["goal_episodes"] = goals.tolist()
        out["behaviour_success"] = [float(g.sum() / n) if n else math.nan for g, n in zip(goals, n_ended, strict=True)]
        out["both_goals"] = [bool((g > 0).all()) for g in goals] if n_goals > 1 else None
        out["rarer_goal_share"] = [float(g.min() / g.sum()) if g.sum() else math.nan for g in goals]
    if greedy is not None:
        out["greedy_success"] = (np.asarray(greedy) >= 0).astype(float).tolist()
        out["greedy_goal"] = np.asarray(greedy).tolist()
    return out


def verdict(soft: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """:data:`VERDICT_RULE` for one window of a soft agent (``soft``) against a comparator (``base``)."""
    gaps = {key: abs(harness.mean_std(soft[key])[0] - harness.mean_std(base[key])[0]) for key in SUCCESS_KEYS}
    soft_mean, soft_std, _ = harness.mean_std(soft["state_entropy"])
    base_mean, base_std, _ = harness.mean_std(base["state_entropy"])
    difference, threshold = soft_mean - base_mean, max(soft_std, base_std)
    if any(math.isnan(g) or g > COMPARABLE_SUCCESS for g in gaps.values()):
        result = "no verdict: success not comparable"
    elif difference > threshold:
        result = "more even"
    elif difference < -threshold:
        result = "less even"
    else:
        result = "no difference"
    return {"difference": difference, "threshold": threshold, "success_gaps": gaps, "verdict": result}


def success_text(metrics: dict[str, Any]) -> str:
    """``behaviour / greedy`` success, mean ± std in percent."""
    return " / ".join(harness.fmt(metrics[key], 0, percent=True) for key in SUCCESS_KEYS)


def state_action_image(grid: GridWorldEnv, counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each cell as 3 x 3 sub-cells, one per move in its direction from the centre ('stay': the centre); walls NaN."""
    image = np.full((3 * grid.height, 3 * grid.width), np.nan)
    for s in range(grid.n_states):
        row, col = divmod(s, grid.width)
        if grid.wall_mask[row, col]:
            continue
        image[3 * row : 3 * row + 3, 3 * col : 3 * col + 3] = 0.0
        for a, (dr, dc) in enumerate(grid.action_deltas):
            image[3 * row + 1 + dr, 3 * col + 1 + dc] = counts[s, a]
    return image


def draw_visits(ax: Axes, grid: GridWorldEnv, counts: NDArray[np.float64], title: str) -> None:
    """The blog's ``n_visits[s, a]`` picture: black never, grey to white more often (log scale), walls blue."""
    image = state_action_image(grid, counts)
    ax.set_facecolor("black")
    ax.imshow(np.ma.masked_less(image, 1), cmap="gray", norm=LogNorm(0.5, max(2.0, float(np.nanmax(image)))))
    ax.imshow(np.ma.masked_where(~np.isnan(image), np.zeros_like(image)), cmap=_WALL_COLOUR)
    for r, c in grid.goal_cells:
        ax.text(3 * c + 1, 3 * r + 1, "G", color="lime", ha="center", va="center", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=7)


FIGURE_NOTE = (
    "3 x 3 sub-cells per state: the move's direction, 'stay' in the centre; black = never, log scale; blue = wall"
)


def result_of(data: dict[str, Any], layout: str, agent: str) -> dict[str, Any]:
    """The result of ``agent`` on ``layout`` in a track's JSON document."""
    return next(r for r in data["results"] if r["layout"] == layout and r["agent"] == agent)


def verdicts(data: dict[str, Any], soft_agents: Sequence[str], comparators: Sequence[str]) -> list[dict[str, Any]]:
    """:func:`verdict` for every layout, step window, soft agent and comparator present in ``data``."""
    rows = []
    for layout in data["layouts"]:
        for window in data["budget"]["windows"]:
            for agent in (a for a in soft_agents if a in data["agents"]):
                for comparator in (c for c in comparators if c in data["agents"]):
                    soft = result_of(data, layout, agent)["windows"][window]
                    base = result_of(data, layout, comparator)["windows"][window]
                    row = {"layout": layout, "window": window, "agent": agent, "comparator": comparator}
                    rows.append({**row, **verdict(soft, base)})
    return rows


@dataclass(frozen=True)
class Track:
    """
    What a track's report needs to know: its results name, layouts, agent labels and extra (non-step) windows.

    :param name: stem of the result files (``results/<name>[_<layout>][_quick].<ext>``)
    :param layouts: layout name -> environment id
    :param labels: agent -> label, in display order
    :param unit: what the repetitions are called in the report ("runs", "seeds")
    :param extra_windows: window key -> title, for windows that are not step ranges (drawn first)
    """

    name: str
    layouts: dict[str, str]
    labels: dict[str, str]
    unit: str
    extra_windows: dict[str, str] = field(default_factory=dict)

    def paths(self, quick: bool) -> dict[str, Path]:
        out = {"json": harness.result_path(self.name, quick), "md": harness.result_path(self.name, quick, ".md")}
        out.update({layout: harness.result_path(self.name, quick, ".png", layout) for layout in self.layouts})
        return out

    def window_title(self, data: dict[str, Any], window: str) -> str:
        if window in self.extra_windows:
            return self.extra_windows[window]
        first, last = data["budget"]["windows"][window]
        return f"steps {first:,}-{last:,}"

    def agents(self, data: dict[str, Any]) -> list[str]:
        return [agent for agent in self.labels if agent in data["agents"]]

    def layout_heading(self, layout: str) -> list[str]:
        """The layout's heading: size, goals and the largest possible state entropy (every acting cell alike)."""
        grid = GridWorldEnv(layout)
        acting = int((~grid.wall_mask).sum()) - len(grid.goal_cells)
        return [
            f"### {self.layouts[layout]} ({grid.height} x {grid.width}, {len(grid.goal_cells)} goal(s), {acting} cells "
            f"an agent acts in: max state entropy log {acting} = {math.log(acting):.3f} nats)",
            "",
        ]

    def window_table(self, data: dict[str, Any], layout: str, window: str) -> list[str]:
        """Exploration and success of every agent in one step window (multi-modality columns on several goals)."""
        two_goals = len(GridWorldEnv(layout).goal_cells) > 1
        header = ["agent", "H(state)", "H(state, action)", "states visited", "behaviour success"]
        header += ["greedy success at the end"]
        header += [f"{self.unit} reaching both goals", "rarer goal's share"] if two_goals else []
        rows = []
        for agent in self.agents(data):
            m = result_of(data, layout, agent)["windows"][window]
            row = [self.labels[agent], harness.fmt(m["state_entropy"], 3), harness.fmt(m["state_action_entropy"], 3)]
            row += [harness.fmt(m["states_visited"], 1)]
            row += [harness.fmt(m[key], 0, percent=True) for key in SUCCESS_KEYS]
            if two_goals:
                row += [f"{sum(m['both_goals'])}/{len(m['both_goals'])}", harness.fmt(m["rarer_goal_share"], 0, True)]
            rows.append(row)
        return [f"{self.window_title(data, window).capitalize()}:", "", *harness.md_table(header, rows), ""]

    def verdict_lines(self, data: dict[str, Any]) -> list[str]:
        """The rule, then one row per (layout, window, soft agent, comparator) of ``data['verdicts']``."""
        table = []
        for v in data["verdicts"]:
            windows = (result_of(data, v["layout"], a)["windows"] for a in (v["agent"], v["comparator"]))
            soft, base = (w[v["window"]] for w in windows)
            table.append(
                [
                    self.layouts[v["layout"]],
                    self.window_title(data, v["window"]),
                    self.labels[v["agent"]],
                    self.labels[v["comparator"]],
                    f"{v['difference']:+.3f} ({v['threshold']:.3f})",
                    f"{success_text(soft)} vs {success_text(base)}",
                    f"**{v['verdict']}**",
                ]
            )
        header = ["layout", "window", "soft agent", "comparator", "H(state) difference (threshold)"]
        header += ["success behaviour / greedy: soft vs comparator", "verdict"]
        rule = f"Rule (computed by the script): {VERDICT_RULE}."
        return ["### Verdicts", "", rule, "", *harness.md_table(header, table), ""]

    def render_heatmaps(
        self, data: dict[str, Any], quick: bool, caption: Callable[[dict[str, Any]], str]
    ) -> list[Path]:
        """Per layout: agents side by side (columns), one row per window; visits summed over repetitions."""
        written = []
        windows = [*self.extra_windows, *data["budget"]["windows"]]
        n = len(data["results"][0]["windows"][windows[-1]]["state_entropy"])
        for layout in data["layouts"]:
            grid = GridWorldEnv(layout)
            agents = self.agents(data)
            figure = Figure(figsize=(2.4 * len(agents), 0.7 + 2.5 * len(windows) * grid.height / grid.width))
            axes = figure.subplots(len(windows), len(agents), squeeze=False)
            for col, agent in enumerate(agents):
                for row, window in enumerate(windows):
                    metrics = result_of(data, layout, agent)["windows"][window]
                    title = f"{self.labels[agent]}\n" if row == 0 else ""
                    title += f"{self.window_title(data, window)}\n{caption(metrics)}"
                    draw_visits(axes[row, col], grid, np.asarray(metrics["pooled_visits"], dtype=np.float64), title)
            figure.suptitle(
                f"{self.layouts[layout]}: n_visits[s, a] summed over {n} {self.unit} ({FIGURE_NOTE})", fontsize=9
            )
            figure.set_layout_engine("constrained")
            written.append(save_figure(figure, self.paths(quick)[layout]))
        return written

    def write_report(self, data: dict[str, Any], quick: bool, markdown: str, caption: Callable[..., str]) -> None:
        out = self.paths(quick)
        harness.write_text(out["md"], markdown)
        written = self.render_heatmaps(data, quick, caption)
        print(f"wrote {out['md']}" + "".join(f", {p}" for p in written))
