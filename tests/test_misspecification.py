"""misspecification_score: conformal p-values against a reference set."""

from __future__ import annotations

import numpy as np
import pytest

from sksbi_manifold import misspecification_score
from sksbi_manifold.datasets import make_lifted_manifold


def _sphere_rows(n, seed):
    """``n`` rows of one noisy sphere in R^20 (the lifting depends on the seed:
    split one draw into reference and query rows)."""
    X, _, _ = make_lifted_manifold(
        "sphere", n, ambient_dim=20, noise=0.01, random_state=seed
    )
    return X


def test_rows_like_the_reference_get_uniform_p_values():
    # Over 20 reference draws: the flagged share at alpha is ~alpha (marginal
    # conformal validity), and the p-values of fresh rows are uniform.
    shares, means = [], []
    for seed in range(20):
        rows = _sphere_rows(2500, seed)
        ref, X = rows[:1500], rows[1500:]
        res = misspecification_score(ref, X, random_state=seed)
        shares.append(res.flagged(0.05).mean())
        means.append(res.p_value.mean())
    assert np.mean(shares) == pytest.approx(0.05, abs=0.012)
    assert np.mean(means) == pytest.approx(0.5, abs=0.03)


def test_rows_off_the_reference_get_small_p_values():
    rows = _sphere_rows(2500, 0)
    ref, inside = rows[:2000], rows[2000:]
    rng = np.random.default_rng(1)
    off = inside * 1.3  # a sphere of radius 1.3: near, but off the manifold
    noisy = inside + 0.2 * rng.standard_normal(inside.shape)
    res = misspecification_score(ref, np.vstack([inside, off, noisy]), random_state=0)
    p_in, p_off, p_noisy = np.split(res.p_value, 3)
    assert np.mean(p_in <= 0.05) < 0.12
    assert np.mean(p_off <= 0.05) > 0.95 and np.mean(p_noisy <= 0.05) > 0.95
    assert res.score.shape == (1500,) and "flagged" in str(res)


def test_bad_input():
    ref = _sphere_rows(300, 0)
    with pytest.raises(ValueError, match="features"):
        misspecification_score(ref, ref[:, :5])
    with pytest.raises(ValueError, match="calibration rows"):
        misspecification_score(ref[:50], ref, calibration_size=0.2)
    with pytest.raises(ValueError):
        misspecification_score(ref, np.full((3, 20), np.nan))
    with pytest.raises(ValueError):
        misspecification_score(ref, ref, n_neighbors=0)
