"""Report figures (matplotlib, Agg backend): one function per figure type.

Each function writes ``<out>/<name>.png`` and returns ``(file name, caption)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "The report needs matplotlib: pip install 'sksbi-manifold[report]'"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: Path, name: str, caption: str) -> tuple[str, str]:
    # tight_layout ignores a suptitle: keep ~0.4 inch above the axes for it.
    top = 1.0 - 0.4 / fig.get_figheight() if fig._suptitle is not None else 1.0
    fig.tight_layout(rect=(0, 0, 1, top))
    fig.savefig(Path(out) / f"{name}.png", dpi=110)
    _plt().close(fig)
    return f"{name}.png", caption


def _caption(text: str, note: str) -> str:
    return f"{text} {note}" if note else text


def dimension_histogram(out, local, label: str, mode: float, note: str = ""):
    plt = _plt()
    finite = np.asarray(local, dtype=float)
    finite = finite[np.isfinite(finite)]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.hist(finite, bins=60, density=True, color="#4c72b0", alpha=0.8)
    ax.axvline(mode, color="k", ls="--", label=f"KDE mode {mode:.2f}")
    ax.set_xlabel(label)
    ax.set_ylabel("density of points")
    ax.legend()
    name = label.replace(" ", "_")
    caption = _caption(f"Histogram of the {label} over the points.", note)
    return _save(fig, out, name, caption)


def dimension_vs_radius(out, curves: dict):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for name, (radii, dims) in curves.items():
        ax.plot(radii, dims, "o-", label=name)
    _log_radius_axis(ax, np.concatenate([r for r, _ in curves.values()]))
    ax.set_xlabel("radius R")
    ax.set_ylabel("doubling dimension (KDE mode)")
    ax.legend()
    return _save(
        fig,
        out,
        "dimension_vs_radius",
        "Doubling dimension against the radius: noise inflates it at "
        "small R, curvature and boundaries deflate it at large R "
        "(paper Appendix Figure 1).",
    )


def count_histogram(out, counts, sampled_counts, radius: float, note: str = ""):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    bins = np.linspace(0, max(1, np.max(counts)), 50)
    ax.hist(counts, bins=bins, alpha=0.6, density=True, label="all points")
    ax.hist(
        sampled_counts, bins=bins, alpha=0.6, density=True, label="flattened sample"
    )
    ax.set_xlabel(f"neighbours within R = {radius:.3g}")
    ax.set_ylabel("density of points")
    ax.legend()
    return _save(
        fig,
        out,
        "neighbour_counts",
        _caption("Neighbour counts before and after density flattening.", note),
    )


def spectrum(out, eigenvalues):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    k = np.arange(1, len(eigenvalues) + 1)
    ax.plot(k, eigenvalues, "o-")
    ax.set_xlabel("eigenvalue index k")
    ax.set_ylabel("Laplacian eigenvalue")
    return _save(
        fig,
        out,
        "spectrum",
        "Non-zero Laplacian eigenvalues (paper Appendix Figure 3): "
        "a slowly growing spectrum means a smooth connected manifold.",
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


def gc_curve(out, radii, loss, chosen: float):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    loss = np.atleast_2d(loss)
    for row in loss:
        ax.plot(radii, row, "o-")
    ax.axvline(chosen, color="k", ls="--", label=f"chosen R = {chosen:.3g}")
    _log_radius_axis(ax, radii)
    ax.set_xlabel("kernel radius R = 3 epsilon")
    ax.set_ylabel("geometric-consistency distortion")
    ax.legend()
    return _save(
        fig,
        out,
        "gc_distortion",
        "Geometric-consistency distortion against the radius.",
    )


def _views(Y):
    """Two rotated 2-D views of a 3-D embedding (or the 2-D embedding)."""
    Y = np.asarray(Y, dtype=float)
    if Y.shape[1] < 3:
        return [(Y[:, 0], Y[:, -1], "coordinate 1", f"coordinate {Y.shape[1]}")]
    Yc = Y - Y.mean(0)
    _, _, Vt = np.linalg.svd(Yc[:, :3], full_matrices=False)
    P = Yc[:, :3] @ Vt.T
    return [
        (P[:, 0], P[:, 1], "view axis 1", "view axis 2"),
        (P[:, 0], P[:, 2], "view axis 1", "view axis 3"),
    ]


def embedding_grid(out, name: str, Y, colours: dict, title: str, note: str = ""):
    plt = _plt()
    views = _views(Y)
    size = 3 if len(Y) <= 10000 else 1  # tens of thousands of points: smaller
    fig, axes = plt.subplots(
        len(colours),
        len(views),
        figsize=(4.2 * len(views), 3.2 * len(colours)),
        squeeze=False,
    )
    for row, (label, values) in zip(axes, colours.items()):
        for ax, (a, b, xl, yl) in zip(row, views):
            sc = ax.scatter(a, b, c=values, s=size, cmap="viridis", rasterized=True)
            ax.set_xlabel(xl)
            ax.set_ylabel(yl)
            fig.colorbar(sc, ax=ax, label=label)
    fig.suptitle(f"Embedding {title}")
    return _save(
        fig,
        out,
        name,
        _caption(
            f"IES-selected Diffusion Maps coordinates {title}, shown as "
            "rotated 2-D views, coloured by each parameter and by the "
            "local dimension.",
            note,
        ),
    )


def selection_frequency(out, names, freq):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.bar(range(len(names)), freq)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_ylabel("selection frequency")
    ax.set_ylim(0, 1)
    return _save(
        fig,
        out,
        "tslasso_frequency",
        "How often TSLasso selected each function over the repeats.",
    )


def regularization_paths(out, names, paths):
    """Mean group norm of each function against lambda, one line per repeat."""
    plt = _plt()
    p = len(names)
    cols = min(p, 4)
    rows = int(np.ceil(p / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False
    )
    for k, ax in enumerate(axes.flat):
        if k >= p:
            ax.axis("off")
            continue
        for path in paths:
            lam = np.asarray(path.lambdas)
            norms = np.asarray(path.coef_mean_norms)[:, k]
            selected = path.selected is not None and k in path.selected
            order = np.argsort(lam)
            ax.plot(
                lam[order], norms[order], lw=0.8, alpha=0.7, ls="-" if selected else ":"
            )
        ax.set_title(names[k], fontsize=9)
        ax.set_xlabel("lambda")
        ax.set_ylabel("mean |B_k|")
    return _save(
        fig,
        out,
        "tslasso_paths",
        "TSLasso regularisation paths (paper Appendix Figure 6).",
    )
