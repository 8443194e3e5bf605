"""Report figures (matplotlib, Agg backend): one function per figure type.

Each function writes ``<out>/<name>.png`` and returns ``(file name, caption)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import plotting


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
    if fig.get_layout_engine() is None:  # plotting's grids are constrained
        # tight_layout ignores a suptitle: keep ~0.4 inch above the axes for it.
        top = 1.0 - 0.4 / fig.get_figheight() if fig._suptitle is not None else 1.0
        fig.tight_layout(rect=(0, 0, 1, top))
    fig.savefig(Path(out) / f"{name}.png", dpi=110)
    _plt().close(fig)
    return f"{name}.png", caption


def _caption(text: str, note: str) -> str:
    return f"{text} {note}" if note else text


def _figure(figsize):
    return _plt().subplots(figsize=figsize)


def dimension_histogram(out, estimator, label: str, note: str = ""):
    return _one_panel(
        out,
        label.replace(" ", "_"),
        _caption(f"Histogram of the {label} over the points.", note),
        plotting.plot_local_dimension,
        estimator,
        label=label,
    )


def dimension_vs_radius(out, estimators: dict):
    fig, ax = _figure((5, 3.4))
    for name, est in estimators.items():
        plotting.plot_dimension_vs_radius(est, ax, label=name)
    ax.set_ylabel("doubling dimension (KDE mode)")
    return _save(
        fig,
        out,
        "dimension_vs_radius",
        "Doubling dimension against the radius: noise inflates it at "
        "small R, curvature and boundaries deflate it at large R "
        "(paper Appendix Figure 1).",
    )


def count_histogram(out, counts, sampled_counts, radius: float, note: str = ""):
    fig, ax = _figure((5, 3.4))
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


def _one_panel(out, name: str, caption: str, draw, *args, **kwargs):
    """``draw(*args, ax, **kwargs)`` on a new 5 x 3.4 inch figure, saved."""
    fig, ax = _figure((5, 3.4))
    draw(*args, ax, **kwargs)
    return _save(fig, out, name, caption)


def spectrum(out, dm):
    return _one_panel(
        out,
        "spectrum",
        "Non-zero Laplacian eigenvalues (paper Appendix Figure 3): "
        "a slowly growing spectrum means a smooth connected manifold.",
        plotting.plot_spectrum,
        dm,
    )


def gc_curve(out, dm):
    return _one_panel(
        out,
        "gc_distortion",
        "Geometric-consistency distortion against the radius.",
        plotting.plot_gc_curve,
        dm,
    )


def _views(Y):
    """Two rotated 2-D views of a 3-D embedding (or the 2-D embedding)."""
    Y = np.asarray(Y, dtype=float)
    if Y.shape[1] < 3:
        return [(Y[:, [0, -1]], f"coordinate {Y.shape[1]}")]
    Yc = Y - Y.mean(0)
    _, _, Vt = np.linalg.svd(Yc[:, :3], full_matrices=False)
    P = Yc[:, :3] @ Vt.T
    return [(P[:, [0, 1]], "view axis 2"), (P[:, [0, 2]], "view axis 3")]


def embedding_grid(out, name: str, embeddings: dict, colours: dict, note: str = ""):
    """Rows: colourings; columns: rotated views of each embedding, side by side."""
    plt = _plt()
    panels = [(title, v) for title, Y in embeddings.items() for v in _views(Y)]
    fig, axes = plt.subplots(
        len(colours),
        len(panels),
        figsize=(4.0 * len(panels), 3.1 * len(colours)),
        squeeze=False,
    )
    for row, (label, values) in zip(axes, colours.items()):
        for ax, (_, (view, ylabel)) in zip(row, panels):
            plotting.plot_embedding(view, values, ax, label=label)
            ax.set_xlabel("view axis 1")
            ax.set_ylabel(ylabel)
    for ax, (title, _) in zip(axes[0], panels):
        ax.set_title(title, fontsize=10)
    fig.suptitle("Embedding (IES-selected Diffusion Maps coordinates)")
    return _save(
        fig,
        out,
        name,
        _caption(
            "IES-selected Diffusion Maps coordinates "
            + " and ".join(embeddings)
            + ", side by side as rotated 2-D views, coloured by each parameter "
            "and by the local dimension.",
            note,
        ),
    )


def selection_frequency(
    out, ts, names, per_snr: bool = False, name: str = "tslasso", what: str = ""
):
    fig, ax = _figure((6, 3.4))
    plotting.plot_selection_frequency(ts, ax, names=names)
    runs = "runs (one per SNR top-q percentile)" if per_snr else "repeats"
    on = f" on the {what} rows" if what else ""
    return _save(
        fig,
        out,
        f"{name}_frequency",
        f"How often TSLasso selected each function{on} over the {runs}.",
    )


def regularization_paths(
    out, ts, names, snr_quantiles=None, name: str = "tslasso", what: str = ""
):
    """Mean group norm of each function against lambda, one line per run."""
    axes = plotting.plot_tslasso_paths(
        ts,
        names=names,
        color_by=snr_quantiles,
        color_label=None if snr_quantiles is None else "SNR top-q percentile",
    )
    if snr_quantiles is None:
        runs = "one curve per repeat (random rows)"
    else:
        runs = (
            "one curve per run on the rows in the top q-th SNR percentile "
            "(q = 0, 5, ..., 95), blue to red as q increases"
        )
    on = f" of the {what} rows" if what else ""
    return _save(
        axes[0].figure,
        out,
        f"{name}_paths",
        f"TSLasso regularisation paths{on} (paper Appendix Figure 6): {runs}; "
        "continuous where the run selected the function, dotted where not; "
        "panel titles give the selection rate.",
    )
