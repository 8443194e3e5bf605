"""search_log_grid: the one grid search of the package's scale choices."""

import numpy as np
import pytest

from sksbi_manifold._geometry.scales import search_log_grid


def _quadratic_in_log(opt):
    calls = []

    def score(h):
        calls.append(np.asarray(h).copy())
        return (np.log(h) - np.log(opt)) ** 2

    return score, calls


@pytest.mark.parametrize("opt", [1e-3, 0.3, 1.0, 50.0])
def test_finds_an_optimum_outside_the_first_grid(opt):
    score, calls = _quadratic_in_log(opt)
    res = search_log_grid(
        score, np.geomspace(0.5, 2.0, 5), n_extend=4, max_extensions=20
    )
    assert not res.at_edge
    # the optimum is bracketed by the values next to it
    assert res.values[res.best - 1] < opt < res.values[res.best + 1]
    assert np.all(np.diff(res.values) > 0)
    assert sum(c.size for c in calls) == res.values.size  # each value scored once


def test_extensions_are_capped_and_reported_at_edge():
    score, _ = _quadratic_in_log(1e6)
    res = search_log_grid(score, np.geomspace(1, 2, 3), n_extend=2, max_extensions=3)
    assert res.at_edge and res.best == res.values.size - 1
    assert res.values.size == 3 + 3 * 2


def test_min_ratio_and_refinement():
    score, _ = _quadratic_in_log(30.0)
    grid = np.geomspace(1.0, 1.1, 3)  # ratio ~1.05: extension steps of 1.5
    res = search_log_grid(score, grid, n_extend=4, max_extensions=20, min_ratio=1.5)
    ext = res.values[res.values > 1.1]
    np.testing.assert_allclose(ext[1:] / ext[:-1], 1.5, rtol=0.2)
    refined = search_log_grid(
        score, grid, n_extend=4, max_extensions=20, min_ratio=1.5, n_refine=4
    )
    assert refined.values.size == res.values.size + 4
    assert abs(np.log(refined.values[refined.best] / 30.0)) <= abs(
        np.log(res.values[res.best] / 30.0)
    )


def test_no_finite_score_grows_upwards_and_ties_go_up():
    res = search_log_grid(
        lambda h: np.where(h > 10, 1.0, np.inf),  # flat once finite: a tie
        np.geomspace(1, 2, 3),
        n_extend=3,
        max_extensions=5,
    )
    assert np.isfinite(res.scores).any()
    assert res.best == res.values.size - 1  # ties: the largest value
    # a flat edge does not beat its neighbour: no further extension
    assert res.values.max() < 2 * 2**6


def test_unsorted_and_duplicated_grids_are_sorted_once():
    seen = []
    res = search_log_grid(
        lambda h: seen.append(h) or (h - 2.0) ** 2,
        [3.0, 1.0, 2.0, 3.0],
        n_extend=2,
        max_extensions=0,
    )
    np.testing.assert_array_equal(res.values, [1.0, 2.0, 3.0])
    assert res.values[res.best] == 2.0


def test_upward_only_and_early_stopping_extensions():
    # Geometric consistency's use: extended only past the top, and an
    # extension may score a prefix of its values (it stops once they rise);
    # the unscored values are not added.
    score, calls = _quadratic_in_log(1e-3)
    res = search_log_grid(
        score, np.geomspace(1, 2, 4), n_extend=3, max_extensions=5, upward_only=True
    )
    assert res.values.size == 4 and len(calls) == 1  # its optimum is below

    def rising_stop(h):
        s = (np.log(h) - np.log(9.0)) ** 2
        if h.size == 4:  # the initial grid: scored whole
            return s
        rises = np.flatnonzero(np.diff(s) > 0)
        return s[: rises[0] + 2] if rises.size else s

    res = search_log_grid(
        rising_stop, np.geomspace(1, 2, 4), n_extend=6, max_extensions=4,
        min_ratio=1.5, upward_only=True,
    )  # fmt: skip
    assert not res.at_edge and res.values[res.best - 1] < 9.0 < res.values[res.best + 1]
    # one extension of six reached past 9 and stopped one value after the rise
    assert res.values.size < 4 + 6
    with pytest.raises(ValueError, match="every value of the initial grid"):
        search_log_grid(
            lambda h: h[:1], np.geomspace(1, 2, 3), n_extend=1, max_extensions=1
        )
