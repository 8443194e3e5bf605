"""local_distortion: per-row distortion of an embedding from its Riemannian metric.

Known answers (doc/conventions.rst, 'Local distortion'): the strip's own
coordinates are an isometry (log condition and log volume 0 inside), a
stretch by 2 of one axis gives log 2 for both, a uniform scale by 2 gives
log volume d log 2 and log condition 0; relaxation lowers the distortion of
the IES chart of a swiss roll.
"""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sksbi_manifold import (
    DiffusionMapsGC,
    IESSelector,
    local_distortion,
)

LOG2 = np.log(2.0)


@pytest.fixture(scope="module")
def strip():
    # A 4 x 1.5 strip, rotated into R^12: the fitted Laplacian lives in R^12,
    # the coordinates assessed are the strip's own. "inside": farther than the
    # kernel cutoff (3 epsilon) from the boundary.
    rng = np.random.default_rng(0)
    T = rng.uniform([0, 0], [4, 1.5], size=(8000, 2))
    Q, _ = np.linalg.qr(rng.normal(size=(12, 2)))
    dm = DiffusionMapsGC(n_components=4, epsilon=0.1, random_state=0).fit(T @ Q.T)
    inside = (np.abs(T - [2, 0.75]) < [1.7, 0.45]).all(axis=1)
    return dm, T, inside


@pytest.mark.parametrize(
    "factor, condition, volume",
    [
        ([1, 1], 0.0, 0.0),  # isometry
        ([2, 1], LOG2, LOG2),  # one axis stretched
        ([2, 2], 0.0, 2 * LOG2),  # conformal: scale only
        ([1, 0.25], 4 * LOG2 / 2, -2 * LOG2),  # one axis shrunk 4x
    ],
)
def test_strip_known_answers(strip, factor, condition, volume):
    dm, T, inside = strip
    res = local_distortion(dm, 2, embedding=T * factor)
    assert res.singular_values.shape == (T.shape[0], 2)
    # Measured: isometry 0.046 / -0.018 (sampling noise: the top singular
    # value is the larger of two noisy ones). A factor-2 error in the
    # Laplacian scaling would move the log volume by log 2 = 0.69.
    assert np.median(res.log_condition[inside]) == pytest.approx(condition, abs=0.08)
    assert np.median(res.log_volume[inside]) == pytest.approx(volume, abs=0.08)
    sv = np.median(res.singular_values[inside], axis=0)
    np.testing.assert_allclose(sv, sorted(factor, reverse=True), rtol=0.05)


def test_boundary_rows_are_more_distorted(strip):
    # The metric is underestimated near the boundary (documented in Notes).
    dm, T, inside = strip
    res = local_distortion(dm, 2, embedding=T)
    edge = (T[:, 1] < 0.03) | (T[:, 1] > 1.47)
    assert np.median(res.log_condition[edge]) > np.median(res.log_condition[inside])


def test_diffusion_coordinates_are_distorted_on_a_strip(strip):
    # Cosine eigenfunctions stretch the strip unevenly: far from isometric.
    dm, T, inside = strip
    res = local_distortion(dm, 2, embedding=dm.embedding_[:, :2])
    iso = local_distortion(dm, 2, embedding=T)
    q = res.summary()["log_volume"]
    assert q["q90"] - q["q10"] > 1.0  # volume varies across the strip
    assert np.median(res.log_condition[inside]) > 3 * np.median(
        iso.log_condition[inside]
    )


def test_relaxation_lowers_distortion_on_a_swiss_roll(relaxed_swiss_roll):
    rr = relaxed_swiss_roll.rr
    after = local_distortion(rr)  # d from the relaxation: 2
    before = local_distortion(rr, embedding=rr.initial_embedding_)
    ies = local_distortion(rr.embedding_estimator_)
    assert after.intrinsic_dim == before.intrinsic_dim == ies.intrinsic_dim == 2
    # log condition is scale free: the IES chart and the initial one agree
    np.testing.assert_allclose(before.log_condition, ies.log_condition, atol=1e-9)
    assert np.median(after.log_condition) < 0.6 * np.median(before.log_condition)
    spread = [r.summary()["log_volume"] for r in (before, after)]
    assert spread[1]["q90"] - spread[1]["q10"] < spread[0]["q90"] - spread[0]["q10"]
    # the relaxed chart is close to isometric in the median
    assert abs(after.summary()["log_volume"]["median"]) < 0.3


def test_default_dimension_comes_from_the_chain(strip):
    dm, T, _ = strip
    assert local_distortion(dm).intrinsic_dim == 4  # no intrinsic_dim: columns
    dm3 = DiffusionMapsGC(n_components=4, epsilon=0.1, intrinsic_dim=2).fit(
        np.c_[T, np.zeros(len(T))]
    )
    assert local_distortion(dm3).intrinsic_dim == 2
    ies = IESSelector(n_components=3, embedding=dm3, prefit=True).fit(
        np.c_[T, np.zeros(len(T))]
    )
    assert local_distortion(ies).intrinsic_dim == 2  # the kernel's d, not s


def test_summary_and_str(strip):
    dm, T, _ = strip
    res = local_distortion(dm, 2, embedding=T)
    s = res.summary()
    assert set(s) == {"log_condition", "log_volume", "n_degenerate"}
    assert s["n_degenerate"] == 0
    text = str(res)
    assert "log_condition" in text and "d = 2" in text


def test_degenerate_rows_warn_and_are_infinite(strip):
    dm, T, _ = strip
    Y = np.c_[T[:, 0], np.zeros(len(T))]  # the second direction collapsed
    with pytest.warns(UserWarning, match="fewer than 2 positive metric"):
        res = local_distortion(dm, 2, embedding=Y)
    assert np.isposinf(res.log_condition).all()
    assert np.isneginf(res.log_volume).all()
    assert not np.isnan(res.log_condition).any()
    assert res.summary()["n_degenerate"] == len(T)


def test_bad_input(strip):
    dm, T, _ = strip
    with pytest.raises(NotFittedError):
        local_distortion(DiffusionMapsGC())
    with pytest.raises(ValueError, match="rows but the estimator was fitted"):
        local_distortion(dm, 2, embedding=T[:-1])
    with pytest.raises(ValueError, match="exceeds the 2 embedding columns"):
        local_distortion(dm, 3, embedding=T)
    with pytest.raises(ValueError, match="intrinsic_dim"):
        local_distortion(dm, 0)
    bad = T.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        local_distortion(dm, 2, embedding=bad)
    lean = DiffusionMapsGC(n_components=2, epsilon=0.1, store_graph=False).fit(T)
    with pytest.raises(ValueError, match="store_graph=True"):
        local_distortion(lean)
