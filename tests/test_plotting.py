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


def test_tslasso_paths_coloured_by_a_value_per_run():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 3, 500)
    X = np.c_[t, np.sin(t), 0.01 * rng.normal(size=500)]
    F = np.c_[t, rng.normal(size=500)]
    q = np.array([0, 50, 90])
    pools = [t >= np.percentile(t, qi) for qi in q]
    ts = TSLasso(
        n_components=1, sample_size=60, n_repeats=3, epsilon=0.5, random_state=0
    ).fit(X, F, repeat_rows=pools)
    axes = plotting.plot_tslasso_paths(
        ts, color_by=q, color_label="SNR top-q percentile"
    )
    assert axes.size == 3  # two functions and the key
    assert axes[1].get_title().startswith("f1: selected")
    colours = np.array([line.get_color() for line in axes[0].lines])
    assert colours[0][2] > colours[0][0]  # q = 0: blue
    assert colours[-1][0] > colours[-1][2]  # q = 90: red
    assert colours[1][0] > colours[0][0] and colours[1][2] > colours[2][2]
    for k in range(2):  # continuous where selected, dotted where not
        styles = [line.get_linestyle() for line in axes[k].lines]
        chosen = ["-" if k in sel else ":" for sel in ts.selections_]
        assert styles == chosen
    key = axes[2]
    assert not key.axison
    (cax,) = key.child_axes
    assert cax.get_xlabel() == "SNR top-q percentile"
    assert [float(v) for v in cax.get_xticks()] == [0.0, 25.0, 50.0, 75.0, 90.0]
    labels = [text.get_text() for text in key.get_legend().get_texts()]
    assert labels == ["selected", "not selected"]
    _, given = plt.subplots(1, 2)  # no spare panel: the bar beside the last
    plotting.plot_tslasso_paths(ts, axes=given, color_by=q)
    assert len(given[1].child_axes) == 1
    with pytest.raises(ValueError, match="one finite number per repeat"):
        plotting.plot_tslasso_paths(ts, color_by=[0, 50])
    with pytest.raises(ValueError, match="one finite number per repeat"):
        plotting.plot_tslasso_paths(ts, color_by=[0, np.nan, 1])
