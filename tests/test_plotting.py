"""sksbi_manifold.plotting: each figure draws the fitted numbers on a given ax."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from sksbi_manifold import (
    DiffusionMapsGC,
    DoublingDimension,
    EigengapDimension,
    TSLasso,
    plotting,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def circle():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 2 * np.pi, 600)
    X = np.c_[np.cos(t), np.sin(t), 0.01 * rng.normal(size=(600, 3))]
    return X, t


def test_spectrum_and_gc_curve_show_the_fitted_numbers(circle):
    X, _ = circle
    dm = DiffusionMapsGC(n_components=5, intrinsic_dim=1, random_state=0).fit(X)
    _, ax = plt.subplots()
    assert plotting.plot_spectrum(dm, ax) is ax
    np.testing.assert_allclose(ax.lines[0].get_ydata(), dm.eigenvalues_)
    ax = plotting.plot_gc_curve(dm)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), dm.gc_radii_)
    assert ax.lines[-1].get_xdata()[0] == pytest.approx(dm.radius_)  # chosen
    fixed = DiffusionMapsGC(n_components=3, epsilon=0.2).fit(X)
    with pytest.raises(ValueError, match="gc_radii_"):
        plotting.plot_gc_curve(fixed)


def test_dimension_plots_overlay_on_one_ax(circle):
    X, _ = circle
    dd = DoublingDimension(random_state=0).fit(X)
    eg = EigengapDimension(random_state=0).fit(X)
    ax = plotting.plot_dimension_vs_radius(dd, label="circle")
    plotting.plot_dimension_vs_radius(dd, ax, label="again")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["circle", "again"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), dd.dimension_by_radius_)
    ax = plotting.plot_local_dimension(eg)
    assert ax.lines[0].get_xdata()[0] == pytest.approx(eg.dimension_)
    with pytest.raises(ValueError, match="radii_"):
        plotting.plot_dimension_vs_radius(eg)


def test_embedding_from_estimator_or_array(circle):
    X, t = circle
    dm = DiffusionMapsGC(n_components=3, epsilon=0.2).fit(X)
    ax = plotting.plot_embedding(dm, t, label="angle")
    np.testing.assert_allclose(ax.collections[0].get_offsets(), dm.embedding_[:, :2])
    assert ax.figure.axes[-1].get_ylabel() == "angle"  # the colour bar
    ax = plotting.plot_embedding(dm.embedding_, dims=(1, 2))
    np.testing.assert_allclose(ax.collections[0].get_offsets(), dm.embedding_[:, 1:3])
    with pytest.raises(ValueError, match="more than 3 columns"):
        plotting.plot_embedding(dm.embedding_, dims=(0, 3))


def test_tslasso_figures():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 3, 500)
    X = np.c_[t, np.sin(t), 0.01 * rng.normal(size=500)]
    F = np.c_[t, rng.normal(size=500)]
    ts = TSLasso(
        n_components=1, sample_size=60, n_repeats=3, epsilon=0.5, random_state=0
    ).fit(X, F)
    ax = plotting.plot_selection_frequency(ts, names=["t", "noise"])
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, ts.selection_frequency_)
    axes = plotting.plot_tslasso_paths(ts)
    assert axes[0].get_title().startswith("f0: selected")
    assert len(axes[0].lines) == 3  # one curve per repeat
    styles = {line.get_linestyle() for line in axes[0].lines}
    assert styles <= {"-", ":"}
    with pytest.raises(ValueError, match="panels for 2 functions"):
        plotting.plot_tslasso_paths(ts, axes=[plt.subplots()[1]])
