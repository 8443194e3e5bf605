"""Figures of fitted estimators (matplotlib): the paper's diagnostic plots.

Each function takes a fitted estimator (or an embedding) and a matplotlib
``ax`` (a new figure when None), draws on it and returns it, so the figures
compose into a user's own layout; the report builds its pages from them.
matplotlib is imported lazily (``pip install 'sksbi-manifold[report]'``).

- :func:`plot_spectrum`: Diffusion Maps eigenvalues (paper Appendix Figure 3);
- :func:`plot_gc_curve`: the geometric-consistency distortion against the
  kernel radius, with the chosen one;
- :func:`plot_dimension_vs_radius`: a dimension estimate against the radius
  (Appendix Figure 1);
- :func:`plot_local_dimension`: the histogram of the local dimensions;
- :func:`plot_embedding`: an embedding coloured by a function of the rows;
- :func:`plot_selection_frequency`, :func:`plot_tslasso_paths`: TSLasso's
  selection frequencies and regularisation paths (Appendix Figure 6).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "plot_dimension_vs_radius",
    "plot_embedding",
    "plot_gc_curve",
    "plot_local_dimension",
    "plot_selection_frequency",
    "plot_spectrum",
    "plot_tslasso_paths",
]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "sksbi_manifold.plotting needs matplotlib: "
            "pip install 'sksbi-manifold[report]'"
        ) from exc
    return plt


def _axes(ax, figsize=(5, 3.4)):
    return _pyplot().subplots(figsize=figsize)[1] if ax is None else ax


def _fitted(estimator, *attributes: str):
    check_is_fitted(estimator)
    missing = [a for a in attributes if getattr(estimator, a, None) is None]
    if missing:
        raise ValueError(
            f"{type(estimator).__name__} has no {', '.join(missing)}: this plot "
            "needs an estimator that computes it (see the function's docstring)."
        )


def _log_radius_axis(ax, radii) -> None:
    """Log x axis with five plain-number labels (two significant digits).

    Radius grids span about a decade, where matplotlib's default labels the
    minor ticks in scientific notation and they overlap.
    """
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    radii = np.asarray(radii, dtype=float)
    radii = radii[np.isfinite(radii) & (radii > 0)]
    ax.set_xscale("log")
    if radii.size == 0:
        return
    ticks = sorted(
        {float(f"{t:.2g}") for t in np.geomspace(radii.min(), radii.max(), 5)}
    )
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:g}")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_spectrum(estimator, ax=None):
    """Non-zero Laplacian eigenvalues of a fitted DiffusionMapsGC against k.

    Parameters
    ----------
    estimator : DiffusionMapsGC
        Fitted (uses ``eigenvalues_``).
    ax : matplotlib Axes or None, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold import DiffusionMapsGC
    >>> from sksbi_manifold.plotting import plot_spectrum
    >>> t = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    >>> X = np.c_[np.cos(t), np.sin(t)]
    >>> dm = DiffusionMapsGC(n_components=6, epsilon=0.1).fit(X)
    >>> ax = plot_spectrum(dm)
    >>> len(ax.lines[0].get_xdata())
    6
    """
    _fitted(estimator, "eigenvalues_")
    ax = _axes(ax)
    values = np.asarray(estimator.eigenvalues_, dtype=float)
    ax.plot(np.arange(1, values.size + 1), values, "o-")
    ax.set_xlabel("eigenvalue index k")
    ax.set_ylabel("Laplacian eigenvalue")
    return ax


def plot_gc_curve(estimator, ax=None):
    """Geometric-consistency distortion against the kernel radius.

    Parameters
    ----------
    estimator : DiffusionMapsGC
        Fitted with ``epsilon="gc"`` (uses ``gc_radii_``, ``gc_loss_``,
        ``radius_``).
    ax : matplotlib Axes or None, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    _fitted(estimator, "gc_radii_", "gc_loss_")
    ax = _axes(ax)
    radii = np.asarray(estimator.gc_radii_, dtype=float)
    for row in np.atleast_2d(estimator.gc_loss_):
        ax.plot(radii, row, "o-")
    chosen = float(estimator.radius_)
    ax.axvline(chosen, color="k", ls="--", label=f"chosen R = {chosen:.3g}")
    _log_radius_axis(ax, radii)
    ax.set_xlabel("kernel radius R = 3 epsilon")
    ax.set_ylabel("geometric-consistency distortion")
    ax.legend()
    return ax


def plot_dimension_vs_radius(estimator, ax=None, *, label=None):
    """A dimension estimate against the radius (one line per call).

    Parameters
    ----------
    estimator : DoublingDimension or CorrelationDimension
        Fitted (uses ``radii_`` and ``dimension_by_radius_``).
    ax : matplotlib Axes or None, default=None
        Pass the same ``ax`` to overlay several estimators or data sets.
    label : str or None, default=None
        Legend entry (default: the estimator's class name).

    Returns
    -------
    ax : matplotlib Axes
    """
    _fitted(estimator, "radii_", "dimension_by_radius_")
    ax = _axes(ax)
    radii = np.asarray(estimator.radii_, dtype=float)
    ax.plot(
        radii,
        estimator.dimension_by_radius_,
        "o-",
        label=label or type(estimator).__name__,
    )
    lines = [np.asarray(line.get_xdata(), dtype=float) for line in ax.lines]
    _log_radius_axis(ax, np.concatenate(lines))
    ax.set_xlabel("radius R")
    ax.set_ylabel("dimension estimate")
    ax.legend()
    return ax


def plot_local_dimension(estimator, ax=None, *, label="local dimension"):
    """Histogram of ``local_dimension_`` with the estimate ``dimension_``.

    Parameters
    ----------
    estimator : DoublingDimension, CorrelationDimension or EigengapDimension
        Fitted (uses ``local_dimension_`` and ``dimension_``).
    ax : matplotlib Axes or None, default=None
    label : str, default="local dimension"
        x-axis label.

    Returns
    -------
    ax : matplotlib Axes
    """
    _fitted(estimator, "local_dimension_", "dimension_")
    ax = _axes(ax)
    local = np.asarray(estimator.local_dimension_, dtype=float).ravel()
    ax.hist(local[np.isfinite(local)], bins=60, density=True, color="#4c72b0")
    d = float(estimator.dimension_)
    ax.axvline(d, color="k", ls="--", label=f"estimate {d:.2f}")
    ax.set_xlabel(label)
    ax.set_ylabel("density of points")
    ax.legend()
    return ax


def plot_embedding(embedding, color=None, ax=None, *, label=None, dims=(0, 1)):
    """Two coordinates of an embedding, coloured by a function of the rows.

    Parameters
    ----------
    embedding : fitted estimator with ``embedding_`` or array of shape (n, s)
        DiffusionMapsGC, IESSelector, RiemannianRelaxation, or coordinates.
    color : array-like of shape (n,) or None, default=None
        Values to colour by (e.g. theta, the SNR, the local dimension).
    ax : matplotlib Axes or None, default=None
    label : str or None, default=None
        Colour-bar label.
    dims : tuple of two int, default=(0, 1)
        Coordinates shown.

    Returns
    -------
    ax : matplotlib Axes
    """
    if hasattr(embedding, "fit"):
        _fitted(embedding, "embedding_")
        embedding = embedding.embedding_
    Y = np.asarray(embedding, dtype=float)
    if Y.ndim != 2 or Y.shape[1] <= max(dims):
        raise ValueError(
            f"dims={dims} needs an embedding with more than {max(dims)} columns; "
            f"got shape {Y.shape}."
        )
    ax = _axes(ax, figsize=(4.2, 3.4))
    size = 3 if len(Y) <= 10000 else 1  # tens of thousands of points: smaller
    colour = {} if color is None else {"c": color, "cmap": "viridis"}
    sc = ax.scatter(Y[:, dims[0]], Y[:, dims[1]], s=size, rasterized=True, **colour)
    if color is not None:
        ax.figure.colorbar(sc, ax=ax, label=label)
    ax.set_xlabel(f"coordinate {dims[0] + 1}")
    ax.set_ylabel(f"coordinate {dims[1] + 1}")
    return ax


def plot_selection_frequency(tslasso, ax=None, *, names=None):
    """How often TSLasso selected each dictionary function over the repeats.

    Parameters
    ----------
    tslasso : TSLasso
        Fitted (uses ``selection_frequency_`` and ``dictionary_names_``).
    ax : matplotlib Axes or None, default=None
    names : list of str or None, default=None
        Function names (default: ``dictionary_names_``).

    Returns
    -------
    ax : matplotlib Axes
    """
    _fitted(tslasso, "selection_frequency_", "dictionary_names_")
    ax = _axes(ax, figsize=(6, 3.4))
    names = [str(n) for n in (tslasso.dictionary_names_ if names is None else names)]
    ax.bar(range(len(names)), tslasso.selection_frequency_)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_ylabel("selection frequency")
    ax.set_ylim(0, 1)
    return ax


def plot_tslasso_paths(
    tslasso, axes=None, *, names=None, color_by=None, color_label=None
):
    """Regularisation paths of every dictionary function (Appendix Figure 6).

    One panel per function, titled with its name and selection rate; one
    curve per repeat, continuous where the repeat selected the function,
    dotted where not. Curves are coloured by the repeat, or, with
    ``color_by``, by a value per repeat from blue (smallest) to red
    (largest), e.g. the SNR percentile ``q`` of runs fitted with
    ``TSLasso.fit(..., repeat_rows=...)``; a colour bar and a line-style key
    then fill the first spare panel (one is added when the grid is new).

    Parameters
    ----------
    tslasso : TSLasso
        Fitted (uses ``coef_path_``, ``selection_frequency_``,
        ``dictionary_names_``).
    axes : array of matplotlib Axes or None, default=None
        At least one per function (a new grid of up to 4 columns when None).
    names : list of str or None, default=None
        Function names (default: ``dictionary_names_``).
    color_by : array-like of shape (n_repeats,) or None, default=None
        A number per repeat to colour its curves by; ``None``: by repeat.
    color_label : str or None, default=None
        Title of the colour bar of ``color_by``.

    Returns
    -------
    axes : ndarray of matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold import TSLasso, plotting
    >>> rng = np.random.RandomState(0)
    >>> u, v = rng.uniform(size=(2, 1500))
    >>> X = np.column_stack([u, v, 0.1 * np.sin(3 * u)])
    >>> F = np.column_stack([u, X[:, 2], v])
    >>> q = np.array([0, 50])  # runs on all rows, then on the top half of u
    >>> pools = [u >= np.percentile(u, qi) for qi in q]
    >>> ts = TSLasso(n_components=2, sample_size=50, n_repeats=2, epsilon=0.1,
    ...              random_state=0).fit(X, F, repeat_rows=pools)
    >>> axes = plotting.plot_tslasso_paths(ts, color_by=q, color_label="top-q")
    >>> axes[0].get_title()
    'f0: selected 100%'
    """
    _fitted(tslasso, "coef_path_", "selection_frequency_", "dictionary_names_")
    names = [str(n) for n in (tslasso.dictionary_names_ if names is None else names)]
    p = len(names)
    axes = _path_grid(axes, p + (color_by is not None))
    if axes.size < p:
        raise ValueError(f"axes holds {axes.size} panels for {p} functions.")
    colours, key = _repeat_colours(len(tslasso.coef_path_), color_by)
    for k, ax in enumerate(axes):
        if k >= p:
            ax.axis("off")
            continue
        _draw_paths(ax, tslasso.coef_path_, k, colours)
        rate = float(tslasso.selection_frequency_[k])
        ax.set_title(f"{names[k]}: selected {rate:.0%}", fontsize=9)
        ax.set_xlabel("lambda")
        ax.set_ylabel("mean |B_k|")
    if key is not None:
        _colour_key(axes, p, key, color_label)
    return axes


def _path_grid(axes, n_panels: int) -> np.ndarray:
    """``axes`` flattened, or a new grid of up to 4 columns for ``n_panels``."""
    if axes is None:
        cols = min(n_panels, 4)
        rows = -(-n_panels // cols)
        axes = _pyplot().subplots(
            rows,
            cols,
            figsize=(3.2 * cols, 2.6 * rows),
            squeeze=False,
            layout="constrained",  # titles clear of the x labels above
        )[1]
    return np.asarray(axes).ravel()


def _repeat_colours(n_repeats: int, color_by):
    """A colour per repeat; with ``color_by`` also its ScalarMappable."""
    plt = _pyplot()
    if color_by is None:
        return plt.cm.viridis(np.linspace(0, 1, max(n_repeats, 2))), None
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    values = np.asarray(color_by, dtype=float).ravel()
    if values.shape != (n_repeats,) or not np.isfinite(values).all():
        raise ValueError(
            f"color_by must hold one finite number per repeat ({n_repeats}), "
            f"got shape {np.shape(color_by)}."
        )
    cmap = LinearSegmentedColormap.from_list("blue_red", ["#1f4fd1", "#d62728"])
    lo, hi = float(values.min()), float(values.max())
    key = plt.cm.ScalarMappable(Normalize(lo, hi if hi > lo else lo + 1), cmap)
    return key.to_rgba(values), key


def _draw_paths(ax, paths, k: int, colours) -> None:
    """Function ``k``'s mean group norm against lambda, one curve per repeat."""
    for path, colour in zip(paths, colours):
        lam = np.asarray(path.lambdas)
        norms = np.asarray(path.coef_mean_norms)[:, k]
        chosen = path.selected is not None and k in path.selected
        order = np.argsort(lam)
        ax.plot(
            lam[order], norms[order], color=colour, lw=0.9, ls="-" if chosen else ":"
        )


def _end_ticks(lo: float, hi: float) -> list[float]:
    """Round ticks from ``lo`` with ``hi`` itself last (e.g. 0, 25, 50, 75, 95)."""
    from matplotlib.ticker import MaxNLocator

    ticks = MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    ticks = [float(t) for t in ticks if lo <= t <= hi]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else hi - lo
    if ticks and hi - ticks[-1] < 0.5 * step:
        ticks.pop()
    return [*ticks, hi]


def _colour_key(axes, p: int, key, label) -> None:
    """Colour bar of ``color_by`` and the line-style key: in the first spare
    panel, or beside the last panel when there is none."""
    from matplotlib.lines import Line2D

    fig = axes[0].figure
    if axes.size > p:
        spare = axes[p]
        cax = spare.inset_axes([0.08, 0.62, 0.84, 0.1])
        bar = fig.colorbar(key, cax=cax, orientation="horizontal", label=label)
        bar.set_ticks(_end_ticks(key.norm.vmin, key.norm.vmax))
        styles = [
            Line2D([], [], color="0.3", ls="-", label="selected"),
            Line2D([], [], color="0.3", ls=":", label="not selected"),
        ]
        spare.legend(handles=styles, loc="lower center", fontsize=8, frameon=False)
    else:
        cax = axes[p - 1].inset_axes([1.04, 0.0, 0.05, 1.0])
        fig.colorbar(key, cax=cax, label=label)
