"""benchmarks/gridworld_tabular.py (the blog's tabular experiment): quick budget, checked against hand-verifiable
quantities computed here independently of the script."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import gridworld_tabular as tabular

from sb3_maxent.envs.gridworld import GridWorldEnv


def expected_visits_uniform_walk(grid: GridWorldEnv, first: int, last: int) -> np.ndarray:
    """
    Exact expected number of steps acted in each state during steps [first, last) of a uniform random walk that
    restarts at the start cell when it enters a goal or after ``max_steps`` steps: the distribution over
    (state, steps into the episode) pushed forward one step at a time.
    """
    move = grid.transition_matrix.mean(axis=1)  # (S, S'): uniform over actions
    is_goal = grid.goal_index >= 0
    start = grid.to_state(grid.start)
    dist = np.zeros((grid.n_states, grid.max_steps))
    dist[start, 0] = 1.0
    expected = np.zeros(grid.n_states)
    for step in range(last):
        if step >= first:
            expected += dist.sum(axis=1)
        moved = move.T @ dist  # moved[s', k]: mass arriving in s' after acting at episode step k
        restarted = moved[is_goal].sum() + moved[~is_goal, -1].sum()
        dist = np.zeros_like(dist)
        dist[~is_goal, 1:] = moved[~is_goal, :-1]
        dist[start, 0] += restarted
    return expected


def entropy(p: np.ndarray) -> float:
    p = p[p > 0] / p.sum()
    return float(-(p * np.log(p)).sum())


@pytest.fixture(scope="module")
def quick_uniform() -> dict:
    """The quick budget's uniform agent on both layouts (a few seconds)."""
    return tabular.run(dict(tabular.QUICK), list(tabular.LAYOUTS), ["uniform"])


@pytest.mark.parametrize("layout", list(tabular.LAYOUTS))
@pytest.mark.parametrize("window", list(tabular.QUICK["windows"]))
def test_uniform_walk_visitation_matches_exact_expectation(quick_uniform: dict, layout: str, window: str) -> None:
    grid = GridWorldEnv(layout)
    first, last = tabular.QUICK["windows"][window]
    result = tabular.result_of(quick_uniform, layout, "uniform")["windows"][window]
    pooled = np.asarray(result["pooled_visits"]).sum(axis=1)
    assert pooled.sum() == tabular.QUICK["runs"] * (last - first)  # one count per run and step of the window
    exact = expected_visits_uniform_walk(grid, first, last)
    assert exact.sum() == pytest.approx(last - first)
    frequency, exact_frequency = pooled / pooled.sum(), exact / exact.sum()
    # total variation and entropy of the pooled frequencies (20 runs x 1,000-2,000 steps) against the exact ones
    assert 0.5 * np.abs(frequency - exact_frequency).sum() < 0.05
    assert entropy(pooled) == pytest.approx(entropy(exact), abs=0.02)
    # the per-run entropies scatter around (below: plug-in bias) the exact expected-visit entropy
    assert np.mean(result["state_entropy"]) == pytest.approx(entropy(exact), abs=0.08)
    assert np.mean(result["state_entropy"]) < entropy(exact)


def test_blog_coded_sql_never_prefers_an_action_more_than_e_times() -> None:
    """
    softmax(pi) with pi = exp((Q - V_soft) / tau) in [0, 1]: max/min probability <= e for any Q and tau, as long as
    Q / tau stays inside the blog's exponent clip (+-300); the standard softmax(Q / tau) is not bounded.
    """
    rng = np.random.default_rng(0)
    for tau in (1.0, 0.5, 0.05, 0.005):
        q = rng.uniform(0.0, 1.2, size=(500, 9))  # the track's Q range: reward 1 plus the soft bonus; q/tau <= 240
        probs = tabular.blog_sql_probabilities(q, tau)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0)
        assert (probs.max(axis=1) / probs.min(axis=1)).max() <= math.e * (1 + 1e-12)
    q = np.array([[1.0, 0.0, 0.0]])
    blog = tabular.blog_sql_probabilities(q, 0.05)[0]
    pi_best = 1.0 / (1.0 + 2.0 * math.exp(-20.0))  # pi = (1, e^-20, e^-20) / (1 + 2 e^-20): just under e apart
    assert blog[0] / blog[1] == pytest.approx(math.exp(pi_best * (1.0 - math.exp(-20.0))), rel=1e-12)
    standard = tabular.boltzmann(q, 0.05)[0]
    assert standard[0] / standard[1] == pytest.approx(math.exp(20.0))
    # beyond the clip the blog's soft value is too small, pi exceeds 1 and the bound no longer holds
    clipped = tabular.blog_sql_probabilities(np.array([[20.0, 0.0]]), 0.05)[0]
    assert clipped[0] / clipped[1] > math.e


def test_blog_annealing_reaches_its_floor_at_step_16500() -> None:
    """0.5 lowered by 1e-5 per read, 3 reads per step: the floor 0.005 after 49,500 reads (float rounding aside)."""
    annealing = tabular.BlogAnnealing(**tabular.ANNEALING)
    reads = 0
    while annealing.temp > annealing.min_temp:
        annealing.read()
        reads += 1
    assert abs(reads - 49_500) <= 1
    assert math.ceil(reads / 3) <= tabular.FULL["windows"]["late"][0]  # the late window comes after the floor
