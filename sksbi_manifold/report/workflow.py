"""The paper's workflow, stage by stage, with automatic defaults.

Each stage is a small function that reads what earlier stages left in a
:class:`_State`, fits the package's estimators, and records numbers (for
``results.json``), figures and HTML sections.  Stages that need something the
input lacks (a reference set, parameters) are skipped with a note.

Scale as the paper: everything quadratic runs on subsamples whose sizes are
:class:`ReportConfig` fields; the "out of sample" stage then gives every row
its local dimension and embedding coordinates (and "parameter transfer" its
parameters) at a cost linear in the number of rows.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

from ..datasets import (
    load_cryoem_latents,
    load_latents,
    load_parameters,
    make_cryoem_latents,
)
from ..exceptions import InputError
from . import figures
from .findings import findings, with_interval
from .html import write_html

log = logging.getLogger("sksbi_manifold.report")
_MAX_COLOURINGS = 6  # parameters shown as colourings of the embedding
_CHUNK = 25_000  # rows per out-of-sample step (one progress line each)
_DEGREE_QUANTILE = 0.05  # weakest kernel degrees dropped before embedding (A.4)
_MAX_OUTLIERS = 0.05  # DensityFlatteningSampler(radius="auto") keeps >= 95 %


@dataclass
class ReportConfig:
    """Inputs and sizes of one report run (see ``sksbi-manifold report -h``).

    The sizes default to the paper's (Section 3, Appendix A.4); a size larger
    than the data uses all rows. Everything quadratic runs on these
    subsamples only; every target row then gets its local dimension,
    parameters and embedding coordinates out of sample, at a cost linear in
    the number of rows.
    """

    latents: Path | None = None
    params: Path | None = None
    reference: Path | None = None
    reference_params: Path | None = None
    out: Path = Path("report_out")
    max_samples: int = 20000  # rows drawn by density flattening (paper: 20,000)
    n_default: int = 10000  # rows per set of the embedded default data
    n_dimension: int = 20000  # rows per set used by the dimension estimators
    intrinsic_dim: int = 3  # dimension of the selected / relaxed embedding
    n_jobs: int | None = 2
    random_state: int = 0
    key: str | None = None  # array of .npz/.pt LATENTS and reference files
    n_subsample: int = 50000  # target rows counted for outliers and flattening
    n_coverage_fit: int = 17000  # KDE rows per set (coverage)
    n_coverage_test: int = 3000  # held-out rows per set (coverage)
    n_reference: int = 20000  # reference rows the parameters are carried from
    # Embedded rows relaxed (the paper: all ~19,000; L-BFGS takes ~16 s on
    # 19,000 cryo-EM latents, 2 cores); other rows follow by Nadaraya-Watson.
    n_relax: int = 20000
    n_plot: int = 50000  # points per embedding scatter
    # Largest share of the inliers drawn by the flattening (the paper: 20,000
    # of 40,846); a sample of nearly all rows would not be flatter.
    flatten_fraction: float = 0.5
    # Embedded rows TSLasso estimates gradients and tangent spaces on (the
    # paper's code: 5,000); its cost grows with the rows in each kernel ball.
    n_tslasso: int = 5000


@dataclass
class _Dataset:
    name: str
    X: np.ndarray
    params: np.ndarray | None = None
    names: list[str] | None = None


@dataclass
class _Fitted:
    """What one stage fits and a later stage uses (rows index the target)."""

    doubling: object = None  # DoublingDimension on the target subsample
    flattened: np.ndarray | None = None  # rows kept by density flattening
    embedded: np.ndarray | None = None  # flattened rows less the weakest degrees
    Xs: np.ndarray | None = None  # their latents
    dm: object = None  # DiffusionMapsGC of the embedded rows
    ies: object = None  # IESSelector on it
    rr: object = None  # RiemannianRelaxation of the relaxed rows
    relaxed: np.ndarray | None = None  # rows relaxed
    eigengap: object = None  # EigengapDimension at the DM scale
    local: np.ndarray | None = None  # local doubling dimension of every row
    before: np.ndarray | None = None  # IES coordinates of every row
    after: np.ndarray | None = None  # relaxed coordinates of every row


@dataclass
class _State:
    config: ReportConfig
    target: _Dataset
    reference: _Dataset | None
    results: dict = field(default_factory=dict)
    sections: list = field(default_factory=list)
    fitted: _Fitted = field(default_factory=_Fitted)


@contextmanager
def _stage(state: _State, title: str):
    log.info("%s ...", title)
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    state.results.setdefault("timings_s", {})[title] = round(elapsed, 2)
    log.info("%s done in %.1f s", title, elapsed)


# --------------------------------------------------------------------------- #
# Input
# --------------------------------------------------------------------------- #
def _read(path: Path | None, loader, what: str, **kwargs):
    """``loader(path, **kwargs)``, its errors as one-line :class:`InputError`."""
    if path is None:
        return None
    if not Path(path).exists():
        raise InputError(f"{what} file not found: {path}")
    try:
        return loader(path, **kwargs)  # no copy: a .npy file stays memory-mapped
    except (ValueError, KeyError, ImportError, OSError) as exc:
        # str(KeyError) quotes its message; messages of other libraries may
        # span lines.
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        text = " ".join(str(text).split())
        raise InputError(f"cannot read {what} {path}: {text}") from None


def _nonfinite_rows(X: np.ndarray) -> np.ndarray:
    """Rows with NaN or inf, read ``_CHUNK`` rows at a time (memmaps stay on disk)."""
    return np.concatenate(
        [
            ~np.isfinite(X[s : s + _CHUNK]).all(axis=1)
            for s in range(0, X.shape[0], _CHUNK)
        ]
        or [np.zeros(0, bool)]
    )


def _check_rows(ds: _Dataset) -> None:
    bad = _nonfinite_rows(ds.X)
    if bad.any():
        raise InputError(
            f"{ds.name} latents have {bad.sum()} rows with NaN or inf (first: "
            f"row {np.flatnonzero(bad)[0]}); remove them and run again"
        )
    if ds.X.shape[0] < 50:
        raise InputError(
            f"{ds.name} latents have {ds.X.shape[0]} rows; the report needs >= 50"
        )
    if ds.params is not None:
        if ds.params.shape[0] != ds.X.shape[0]:
            raise InputError(
                f"{ds.name} parameters have {ds.params.shape[0]} rows but the "
                f"latents have {ds.X.shape[0]}; they must match row for row"
            )
        if not np.isfinite(ds.params).all():
            raise InputError(f"{ds.name} parameters contain NaN or inf")


def _load(config: ReportConfig) -> tuple[_Dataset, _Dataset | None]:
    if config.latents is None:
        if config.params or config.reference or config.reference_params:
            raise InputError("--params/--reference need a LATENTS file")
        return _default_data(config)
    key = config.key
    target = _Dataset("target", _read(config.latents, load_latents, "latents", key=key))
    params = _read(config.params, load_parameters, "parameters")
    if params is not None:
        target.params, target.names = params
    reference = None
    if config.reference is not None:
        reference = _Dataset(
            "reference",
            _read(config.reference, load_latents, "reference latents", key=key),
        )
        rparams = _read(
            config.reference_params, load_parameters, "reference parameters"
        )
        if rparams is not None:
            reference.params, reference.names = rparams
        if reference.X.shape[1] != target.X.shape[1]:
            raise InputError(
                f"reference latents have {reference.X.shape[1]} columns but "
                f"LATENTS have {target.X.shape[1]}; they must live in one space"
            )
    elif config.reference_params is not None:
        raise InputError("--reference-params needs --reference")
    for ds in (target, reference):
        if ds is not None:
            _check_rows(ds)
    return target, reference


def _default_data(config: ReportConfig) -> tuple[_Dataset, _Dataset]:
    """Experimental latents (unlabelled) and a labelled simulated reference.

    Realistic cryo-EM latents: AdK particles from the physical forward model,
    encoded by the shipped NPE network (the experimental set with a physical
    model mismatch). Up to 10,000 rows per set are shipped; more are simulated
    and encoded now (needs torch, ~1,000 rows/s).
    """
    n = config.n_default
    sets = {}
    for domain in ("experimental", "simulated"):
        try:
            sets[domain] = load_cryoem_latents(domain, n)
        except ValueError:
            log.info("simulating and encoding %d %s particles", n, domain)
            seed = config.random_state + (domain == "simulated")
            sets[domain] = make_cryoem_latents(
                n, domain, random_state=seed, n_jobs=config.n_jobs
            )
    exp, sim = sets["experimental"], sets["simulated"]
    target = _Dataset("experimental", exp.data)
    reference = _Dataset("simulated", sim.data, sim.params, list(sim.param_names))
    return target, reference


def _subsample(n: int, size: int, rng) -> np.ndarray:
    return np.sort(rng.choice(n, size=min(n, size), replace=False))


def _record_size(state: _State, name: str, what: str, used, configured=None) -> None:
    """One row of the report's "Sizes" table (and of ``results["sizes"]``)."""
    state.results.setdefault("sizes", {})[name] = {
        "what": what,
        "configured": configured,
        "used": used,
    }


def _every_row(what: str, X, fn, known=None, values=None, quiet=()) -> np.ndarray:
    """``fn`` on every row of ``X``, ``_CHUNK`` rows per step (one log line each).

    Rows ``known`` take ``values`` instead. The warnings in ``quiet`` would
    repeat once per step; the caller reports their count once.
    """
    n = X.shape[0]
    out, todo = None, np.arange(n)
    if known is not None:
        values = np.asarray(values, dtype=np.float64)
        out = np.empty((n, *values.shape[1:]))
        out[known] = values
        todo = np.setdiff1d(todo, known, assume_unique=True)
    with warnings.catch_warnings():
        for category in quiet:
            warnings.simplefilter("ignore", category)
        for start in range(0, todo.size, _CHUNK):
            rows = todo[start : start + _CHUNK]
            part = np.asarray(fn(X[rows]), dtype=np.float64)
            if out is None:
                out = np.empty((n, *part.shape[1:]))
            out[rows] = part
            log.info("%s: %d / %d rows", what, start + rows.size, todo.size)
    return out


# --------------------------------------------------------------------------- #
# Stages
# --------------------------------------------------------------------------- #
def _dimension(state: _State) -> None:
    cfg = state.config
    rng = np.random.default_rng(cfg.random_state)
    curves, out = {}, {}
    for ds in filter(None, (state.target, state.reference)):
        rows = _subsample(ds.X.shape[0], cfg.n_dimension, rng)
        log.info("intrinsic dimension: %d %s rows", rows.size, ds.name)
        curves[ds.name], out[ds.name] = _fit_dimensions(ds.X[rows], cfg)
    state.fitted.doubling = curves[state.target.name]
    state.results["intrinsic_dimension"] = out
    _record_size(
        state,
        "n_dimension",
        "rows per set fitted by the doubling, correlation and GRIDE estimators",
        {name: r["n_rows"] for name, r in out.items()},
        cfg.n_dimension,
    )
    dd = state.fitted.doubling
    state.sections.append(
        (
            "Intrinsic dimension",
            [
                figures.dimension_histogram(
                    cfg.out,
                    dd,
                    "local doubling dimension",
                    note=f"{dd.local_dimension_.size} rows sampled for the vote.",
                ),
                figures.dimension_vs_radius(cfg.out, curves),
            ],
            _dimension_table(out),
        )
    )


def _fit_dimensions(X: np.ndarray, cfg: ReportConfig) -> tuple[object, dict]:
    """The three count- and ratio-based estimates of one set, with intervals."""
    from ..dimension import CorrelationDimension, DoublingDimension, GrideDimension

    seed = cfg.random_state  # the estimators sample rows: same seed, same report
    fitted = {
        name: Est(n_bootstrap=100, random_state=seed, n_jobs=cfg.n_jobs).fit(X)
        for name, Est in (
            ("doubling", DoublingDimension),
            ("correlation", CorrelationDimension),
            ("gride", GrideDimension),
        )
    }
    dd = fitted["doubling"]
    result = {name: float(est.dimension_) for name, est in fitted.items()}
    result.update(
        doubling_radius=float(dd.radius_),
        intervals={
            name: list(est.dimension_ci_)
            for name, est in fitted.items()
            if est.dimension_ci_ is not None
        },
        lower_bounds=[
            name for name, est in fitted.items() if est.dimension_is_lower_bound_
        ],
        n_rows=int(X.shape[0]),
    )
    return dd, result


def _dimension_table(out: dict) -> list[list]:
    rows = [
        [
            "set",
            "doubling (KDE mode) [95 % interval]",
            "at radius",
            "correlation",
            "GRIDE",
            "rows",
        ]
    ]
    for name, r in out.items():
        rows.append(
            [
                name,
                with_interval(r, "doubling"),
                f"{r['doubling_radius']:.3g}",
                with_interval(r, "correlation"),
                with_interval(r, "gride"),
                r["n_rows"],
            ]
        )
    return rows


def _coverage_split(config: ReportConfig, n_min: int) -> tuple[int, int]:
    """KDE and held-out rows per set: the configured counts, or, when a set
    is smaller, all of its rows split in their ratio (the same for both sets,
    so that the two densities are fitted on equally many rows)."""
    fit, test = config.n_coverage_fit, config.n_coverage_test
    if n_min < fit + test:
        test = max(1, round(n_min * test / (fit + test)))
        fit = n_min - test
    return fit, test


def _coverage(state: _State) -> None:
    from ..sampling import density_coverage

    if state.reference is None:
        return
    cfg = state.config
    sets = (state.target, state.reference)
    fit, test = _coverage_split(cfg, min(ds.X.shape[0] for ds in sets))
    log.info("coverage: %d KDE + %d held-out rows per set", fit, test)
    rng = np.random.default_rng(cfg.random_state)
    res = density_coverage(
        *(ds.X[_subsample(ds.X.shape[0], fit + test, rng)] for ds in sets),
        test_size=test,
        random_state=cfg.random_state,
        n_jobs=cfg.n_jobs,
        names=(state.target.name, state.reference.name),
    )
    info = res.to_dict()
    state.results["coverage"] = info
    _record_size(
        state,
        "n_coverage_fit",
        "KDE rows per set (coverage)",
        info["n_train"],
        cfg.n_coverage_fit,
    )
    _record_size(
        state,
        "n_coverage_test",
        "held-out rows per set (coverage)",
        info["n_test"],
        cfg.n_coverage_test,
    )
    state.sections.append(("Coverage (Table 1)", [], str(res)))


def _fit_sampler(X, cfg: ReportConfig) -> tuple:
    """The fitted sampler and the flattened rows of ``X``.

    ``max_samples`` rows, but at most ``flatten_fraction`` of the inliers
    (the paper: 20,000 of 40,846): nearly all of them would be a sample as
    dense as the data where the data are dense.
    """
    from ..sampling import DensityFlatteningSampler

    kw = {"random_state": cfg.random_state, "n_jobs": cfg.n_jobs}
    share, radius = float(cfg.flatten_fraction), "auto"
    if cfg.max_samples <= share * (1 - _MAX_OUTLIERS) * X.shape[0]:
        # The paper's case: a direct draw of max_samples.
        sampler = DensityFlatteningSampler(n_samples=cfg.max_samples, **kw)
        try:
            sampler.fit(X)
        except ValueError:
            if not hasattr(sampler, "sample_weight_"):  # failed before the draw
                raise
        else:
            if sampler.sample_indices_.size <= share * sampler.inlier_mask_.sum():
                return sampler, sampler.sample_indices_
        # More outliers than radius="auto" allows for: one more count.
        radius = sampler.radius_
    sampler = DensityFlatteningSampler(radius, n_samples=share, **kw).fit(X)
    idx = sampler.sample_indices_
    if idx.size > cfg.max_samples:
        # A uniform thinning keeps the inclusion probabilities prop. to 1/N_R.
        rng = np.random.default_rng(cfg.random_state)
        idx = idx[_subsample(idx.size, cfg.max_samples, rng)]
    return sampler, idx


def _record_flattening_sizes(state: _State, n_counted: int, n_drawn: int) -> None:
    cfg = state.config
    _record_size(
        state,
        "n_subsample",
        "target rows counted for outlier removal and flattening",
        n_counted,
        cfg.n_subsample,
    )
    _record_size(
        state,
        "max_samples",
        f"rows drawn by density flattening (at most {cfg.flatten_fraction:.0%} "
        "of the inliers)",
        n_drawn,
        cfg.max_samples,
    )


def _flatten(state: _State) -> None:
    cfg, ds = state.config, state.target
    rng = np.random.default_rng(cfg.random_state)
    sub = _subsample(ds.X.shape[0], cfg.n_subsample, rng)
    log.info("density flattening: neighbour counts of %d rows", sub.size)
    sampler, idx = _fit_sampler(ds.X[sub], cfg)
    state.fitted.flattened = sub[idx]  # rows of the target
    state.results["flattening"] = {
        "radius": float(sampler.radius_),
        "n_outliers": int(sampler.outlier_mask_.sum()),
        "n_input": int(sub.size),
        "n_sample": int(idx.size),
    }
    _record_flattening_sizes(state, int(sub.size), int(idx.size))
    state.sections.append(
        (
            "Outliers and density flattening",
            [
                figures.count_histogram(
                    cfg.out,
                    sampler.neighbor_counts_,
                    sampler.neighbor_counts_[idx],
                    sampler.radius_,
                    note=f"{sub.size} rows counted, {idx.size} drawn.",
                ),
            ],
            None,
        )
    )


def _parameters(state: _State) -> None:
    """Parameters of the target rows: given, or carried from the reference."""
    from ..interpretation import NadarayaWatsonInterpolator

    tgt, ref, cfg = state.target, state.reference, state.config
    if tgt.params is not None:
        return
    if ref is None or ref.params is None:
        state.results["parameter_transfer"] = "skipped: no labelled set"
        return
    rng = np.random.default_rng(cfg.random_state)
    rows = _subsample(ref.X.shape[0], cfg.n_reference, rng)
    log.info("parameter transfer: Nadaraya-Watson on %d %s rows", rows.size, ref.name)
    nw = NadarayaWatsonInterpolator(random_state=cfg.random_state, n_jobs=cfg.n_jobs)
    nw.fit(ref.X[rows], ref.params[rows])
    params, n_outside = _carry_parameters(nw, tgt, ref.name)
    tgt.params, tgt.names = params.reshape(len(params), -1), list(ref.names)
    state.results["parameter_transfer"] = {
        "kernel": nw.kernel_,
        "kernel_loo_errors": nw.kernel_loo_errors_,
        "n_neighbors": nw.n_neighbors_,
        "bandwidth": float(nw.bandwidth_),
        "n_outside": int(n_outside),
        "source": ref.name,
    }
    _record_size(
        state,
        "n_reference",
        "reference rows the parameters are carried from",
        int(rows.size),
        cfg.n_reference,
    )


def _carry_parameters(nw, tgt: _Dataset, source: str) -> tuple[np.ndarray, int]:
    """``nw`` on every target row; the count of rows outside its kernel."""
    from ..exceptions import UnsupportedRowsWarning

    n_outside = 0

    def predict(X):
        nonlocal n_outside
        pred = nw.predict(X)
        n_outside += nw.n_outside_
        return pred

    params = _every_row(
        "parameter transfer", tgt.X, predict, quiet=(UnsupportedRowsWarning,)
    )
    if n_outside:
        log.warning(
            "parameter transfer: %d of %d %s rows have no %s row within the "
            "kernel cutoff; they got the parameters of the nearest one",
            n_outside,
            len(params),
            tgt.name,
            source,
        )
    return params, n_outside


def _embedding(state: _State) -> None:
    from ..embedding import IESSelector

    cfg, ds = state.config, state.target
    flat = state.fitted.flattened
    Xf = ds.X[flat]
    with _stage(state, "diffusion maps"):
        gc, threshold = _kernel_width(cfg, Xf)
        keep = gc.degrees_ >= threshold
        embedded, Xs = flat[keep], Xf[keep]
        dm = _diffusion_maps(cfg, gc.epsilon_, Xs)
    with _stage(state, "IES"):
        ies = IESSelector(
            n_components=cfg.intrinsic_dim,
            embedding=dm,
            prefit=True,
            random_state=cfg.random_state,
        ).fit(Xs)
    with _stage(state, "Riemannian relaxation"):
        rr, pos = _relax(cfg, dm, ies, Xs)
    f = state.fitted
    f.dm, f.ies, f.rr, f.Xs = dm, ies, rr, Xs
    f.embedded, f.relaxed = embedded, embedded[pos]
    _record_embedding(state, gc, threshold, pos)


def _kernel_width(cfg: ReportConfig, Xf: np.ndarray) -> tuple:
    """The geometric-consistency fit and its weakest-degree threshold."""
    from ..embedding import DiffusionMapsGC

    # 64 GC sample points, as the paper's code: the search costs one
    # local PCA per sample point and radius. One eigenvector: this fit
    # only gives the width and the kernel degrees.
    log.info("diffusion maps: geometric consistency on %d rows", Xf.shape[0])
    gc = DiffusionMapsGC(
        n_components=1,
        intrinsic_dim=cfg.intrinsic_dim,
        gc_sample_size=64,
        n_jobs=cfg.n_jobs,
        random_state=cfg.random_state,
    ).fit(Xf)
    # Paper A.4: the weakest-connected rows destabilise the eigenproblem.
    # The width found before this filter is kept (the paper searched
    # again: R 17.0 -> 16.5), which saves a second search.
    return gc, float(np.quantile(gc.degrees_, _DEGREE_QUANTILE))


def _diffusion_maps(cfg: ReportConfig, epsilon: float, Xs: np.ndarray):
    """20 Diffusion Maps eigenvectors of the embedded rows at width ``epsilon``."""
    from ..embedding import DiffusionMapsGC

    log.info("diffusion maps: 20 eigenvectors of %d rows", Xs.shape[0])
    return DiffusionMapsGC(
        n_components=20,
        epsilon=epsilon,
        intrinsic_dim=cfg.intrinsic_dim,
        n_jobs=cfg.n_jobs,
        random_state=cfg.random_state,
    ).fit(Xs)


def _record_embedding(state: _State, gc, threshold: float, pos: np.ndarray) -> None:
    """Numbers, sizes and figures of the embedding stage."""
    cfg, f = state.config, state.fitted
    dm, ies, rr = f.dm, f.ies, f.rr
    state.results["diffusion_maps"] = {
        "epsilon": float(dm.epsilon_),
        "radius": float(dm.radius_),
        "degree_threshold": threshold,
        "eigenvalues": dm.eigenvalues_.tolist(),
        "n_connected_components": int(dm.n_connected_components_),
        "ies_support": [int(i) for i in ies.support_],
        "relaxation_loss": [float(rr.loss_curve_[0]), float(rr.loss_curve_[-1])],
        "relaxation_iterations": int(rr.n_iter_),
    }
    _record_size(
        state,
        "embedded",
        f"rows embedded: the flattened rows less the {_DEGREE_QUANTILE:.0%} "
        "weakest kernel degrees",
        int(f.embedded.size),
    )
    _record_size(
        state,
        "n_relax",
        "embedded rows relaxed (the others by Nadaraya-Watson)",
        int(pos.size),
        cfg.n_relax,
    )
    state.sections.append(
        (
            "Diffusion Maps spectrum and kernel width",
            [
                figures.spectrum(cfg.out, dm),
                figures.gc_curve(cfg.out, gc),
            ],
            None,
        )
    )


class _Chart(BaseEstimator):
    """Given coordinates of some rows, with the Laplacian of those rows.

    The prefit inner estimator of the relaxation of ``n_relax`` embedded rows:
    the IES coordinates of the full embedding (so the relaxed chart is the
    one shown before relaxation) and the Laplacian of a Diffusion Maps fit
    on the rows alone at the full embedding's kernel width.
    """

    def __init__(self, coordinates=None, graph=None):
        self.coordinates = coordinates
        self.graph = graph

    def fit(self, X, y=None):
        self.embedding_ = np.asarray(self.coordinates)
        self.laplacian_ = self.graph.laplacian_
        self.epsilon_ = self.graph.epsilon_
        self.radius_ = self.graph.radius_
        self.n_features_in_ = X.shape[1]
        return self


def _relax(cfg: ReportConfig, dm, ies, Xs) -> tuple:
    """Relax the IES chart on at most ``n_relax`` embedded rows (positions)."""
    from ..embedding import DiffusionMapsGC, RiemannianRelaxation

    n = Xs.shape[0]
    pos, inner, graph = np.arange(n), ies, dm
    if cfg.n_relax < n:
        # The relaxation costs ~n^2 at a fixed width: relax a random subset
        # of the (already flattened) embedded rows.
        pos = _subsample(n, cfg.n_relax, np.random.default_rng(cfg.random_state))
        graph = DiffusionMapsGC(
            n_components=1,
            epsilon=dm.epsilon_,
            n_jobs=cfg.n_jobs,
            random_state=cfg.random_state,
        ).fit(Xs[pos])
        inner = _Chart(ies.embedding_[pos], graph).fit(Xs[pos])
    log.info(
        "Riemannian relaxation: %d of %d embedded rows, %.0f kernel neighbours each",
        pos.size,
        n,
        graph.affinity_.nnz / pos.size,
    )
    rr = RiemannianRelaxation(
        n_components=cfg.intrinsic_dim,
        embedding=inner,
        prefit=True,
        random_state=cfg.random_state,
        n_jobs=cfg.n_jobs,
    ).fit(Xs[pos])
    return rr, pos


def _eigengap(state: _State) -> None:
    from ..dimension import EigengapDimension

    cfg, dm = state.config, state.fitted.dm
    eg = EigengapDimension(
        epsilon=dm, n_bootstrap=100, random_state=cfg.random_state, n_jobs=cfg.n_jobs
    ).fit(state.fitted.Xs)
    dims = state.results["intrinsic_dimension"]
    dims["eigengap"] = float(eg.dimension_)
    if eg.dimension_ci_ is not None:
        dims["eigengap_interval"] = list(eg.dimension_ci_)
    state.fitted.eigengap = eg
    state.sections.append(
        (
            "Local PCA eigengap at the Diffusion Maps scale",
            [
                figures.dimension_histogram(
                    cfg.out,
                    eg,
                    "local eigengap dimension",
                    note=f"{eg.local_dimension_.size} embedded rows sampled.",
                ),
            ],
            None,
        )
    )


def _out_of_sample(state: _State) -> None:
    """Local dimension and embedding coordinates of every target row, O(n k)."""
    from ..exceptions import UndefinedDimensionWarning

    ds, f = state.target, state.fitted
    dd = f.doubling
    with _stage(state, "local dimension of every row"):
        local = _every_row(
            "local dimension",
            ds.X,
            lambda X: dd.transform(X)[:, 0],
            quiet=(UndefinedDimensionWarning,),
        )
    with _stage(state, "embedding of every row"):
        before, after, n_outside = _coordinates(ds.X, f)
    f.local, f.before, f.after = local, f.rr.init_scale_ * before, after
    n = ds.X.shape[0]
    state.results["out_of_sample"] = {
        "n_rows": int(n),
        "local_dimension_undefined": int(np.isnan(local).sum()),
        "n_outside_kernel": int(n_outside),  # given their nearest relaxed row
    }
    _record_size(
        state,
        "out_of_sample",
        "target rows given a local dimension, parameters and coordinates (per_row.npz)",
        int(n),
    )
    _save_per_row(state)


def _coordinates(X, f: _Fitted) -> tuple[np.ndarray, np.ndarray, int]:
    """IES coordinates (unscaled) and relaxed coordinates of every row of ``X``,
    and the count of rows outside the relaxed rows' kernel."""
    from ..exceptions import OutOfSampleWarning, UnsupportedRowsWarning

    rr = f.rr
    # Nystrom extension of the IES-selected Diffusion Maps coordinates;
    # the relaxed ones by the relaxation's own Nadaraya-Watson map.
    before = _every_row(
        "Nystrom coordinates",
        X,
        f.ies.transform,
        known=f.embedded,
        values=f.ies.embedding_,
        quiet=(OutOfSampleWarning,),
    )
    n_outside = 0

    def carry(X):
        nonlocal n_outside
        Y = rr.interpolator_.transform(X)
        n_outside += rr.interpolator_.n_outside_
        return Y

    after = _every_row(
        "relaxed coordinates",
        X,
        carry,
        known=f.relaxed,
        values=rr.embedding_,
        quiet=(UnsupportedRowsWarning,),
    )
    return before, after, n_outside


def _save_per_row(state: _State) -> None:
    """``per_row.npz``: the out-of-sample values of every target row."""
    ds, f = state.target, state.fitted
    arrays = {
        "local_dimension": f.local.astype(np.float32),
        "embedding_before": f.before.astype(np.float32),
        "embedding_after": f.after.astype(np.float32),
        "flattened": f.flattened,
        "embedded": f.embedded,
        "relaxed": f.relaxed,
    }
    if ds.params is not None:
        arrays.update(params=ds.params, param_names=np.asarray(ds.names))
    np.savez(state.config.out / "per_row.npz", **arrays)


def _embedding_figures(state: _State) -> None:
    cfg, ds, f = state.config, state.target, state.fitted
    n = ds.X.shape[0]
    shown = _subsample(n, cfg.n_plot, np.random.default_rng(cfg.random_state))
    colours = {}
    if ds.params is not None:
        for j, name in enumerate(ds.names[:_MAX_COLOURINGS]):
            colours[name] = ds.params[shown, j]
    colours["local doubling dimension"] = f.local[shown]
    which = f"all {n} rows" if shown.size == n else f"{shown.size} random of {n} rows"
    note = (
        f"Points: {which}; the {f.embedded.size} embedded rows are exact, "
        "the others extended out of sample (Nystrom before relaxation, "
        f"Nadaraya-Watson from the {f.relaxed.size} relaxed rows after)."
    )
    _record_size(
        state, "n_plot", "points per embedding scatter", int(shown.size), cfg.n_plot
    )
    state.sections.append(
        (
            "Embedding (IES-selected, relaxed)",
            [
                figures.embedding_grid(
                    cfg.out,
                    "embedding",
                    {
                        "before relaxation": f.before[shown],
                        "after relaxation": f.after[shown],
                    },
                    colours,
                    note=note,
                ),
            ],
            None,
        )
    )


# TSLasso runs per SNR quantile (paper Appendix Figure 6): q = 0, 5, ..., 95
# of this parameter (carried to experimental rows like the others).
_SNR_COLUMN = "log_snr"
_SNR_QUANTILES = np.arange(0, 100, 5)


def _tslasso(state: _State) -> None:
    cfg, ds, f = state.config, state.target, state.fitted
    if ds.params is None:
        state.results["tslasso"] = "skipped: no parameters"
        return
    pos = _subsample(
        f.embedded.size, cfg.n_tslasso, np.random.default_rng(cfg.random_state)
    )
    log.info("TSLasso: %d of %d embedded rows", pos.size, f.embedded.size)
    figs = _run_tslasso(state, ds, f.embedded[pos], f.Xs[pos], "tslasso")
    _record_size(
        state,
        "n_tslasso",
        "embedded rows of the TSLasso gradients and tangent spaces",
        int(pos.size),
        cfg.n_tslasso,
    )
    title = "TSLasso: which parameters parametrize the manifold"
    ref = state.reference
    if isinstance(state.results.get("parameter_transfer"), dict):
        # The target's parameters were carried over: the same runs on the
        # labelled set with its own parameters tell the geometry from the
        # transfer (see the findings).
        rows = _subsample(
            ref.X.shape[0], cfg.n_tslasso, np.random.default_rng(cfg.random_state)
        )
        log.info("TSLasso: %d %s rows, own parameters", rows.size, ref.name)
        figs += _run_tslasso(state, ref, rows, ref.X[rows], "tslasso_reference")
        title += f" ({ds.name}: carried parameters; {ref.name}: its own)"
    state.sections.append((title, figs, None))


def _run_tslasso(state: _State, ds: _Dataset, rows, X, key: str) -> list:
    """TSLasso of ``ds``'s varying parameters at ``rows`` (latents ``X``) at the
    DM kernel width: ``results[key]`` and its two figures."""
    cfg = state.config
    F = ds.params[rows]
    keep = np.ptp(F, axis=0) > 0
    names = [n for n, k in zip(ds.names, keep) if k]
    q, pools = _snr_pools(ds, rows, min(4, int(keep.sum())) + 1)
    ts = _fit_tslasso(cfg, state.fitted.dm, X, F[:, keep], pools)
    state.results[key] = _tslasso_record(ts, names, q, pools) | {"set": ds.name}
    return [
        figures.selection_frequency(
            cfg.out, ts, names, per_snr=q is not None, name=key, what=ds.name
        ),
        figures.regularization_paths(
            cfg.out, ts, names, snr_quantiles=q, name=key, what=ds.name
        ),
    ]


def _snr_pools(ds: _Dataset, rows: np.ndarray, n_min: int) -> tuple:
    """The paper's TSLasso runs (Appendix Figure 6): for q = 0, 5, ..., 95 the
    ``rows`` whose ``log_snr`` (given, or carried for experimental data) is
    in the top q-th percentile over all target rows. ``(None, None)``
    without a non-constant ``log_snr`` column (random repeats then)."""
    if _SNR_COLUMN not in (ds.names or []):
        return None, None
    snr = ds.params[:, ds.names.index(_SNR_COLUMN)]
    if not np.ptp(snr) > 0:
        return None, None
    cuts = np.percentile(snr, _SNR_QUANTILES)
    pools = [np.flatnonzero(snr[rows] >= cut) for cut in cuts]
    # A pool of fewer rows than a lasso needs (rows with the highest SNR
    # missing from the embedded subsample) drops its q.
    ok = [pool.size >= n_min for pool in pools]
    if not all(ok):
        log.info("TSLasso: %d SNR percentiles dropped (too few rows)", ok.count(False))
    q = _SNR_QUANTILES[np.asarray(ok)]
    return q, [pool for pool, good in zip(pools, ok) if good]


def _fit_tslasso(cfg: ReportConfig, dm, X: np.ndarray, F: np.ndarray, pools):
    """TSLasso of the (non-constant) parameters ``F`` at the DM kernel width:
    one run per pool of rows, or 20 runs on random rows when ``pools`` is None."""
    from ..interpretation import TSLasso

    # 300 rows per run (the paper: 500): the gradients and tangent spaces of
    # every sampled row are estimated, which dominates the cost; and the
    # top-5% SNR pool must hold a whole sample (a smaller pool is used whole):
    # on the default data it holds 318 of the 4,582 embedded rows.
    ts = TSLasso(
        n_components=min(4, F.shape[1]),
        sample_size=300,
        n_repeats=20 if pools is None else len(pools),
        epsilon=dm,
        random_state=cfg.random_state,
        n_jobs=cfg.n_jobs,
    )
    return ts.fit(X, F, repeat_rows=pools)


def _tslasso_record(ts, names: list, q, pools) -> dict:
    """``results["tslasso"]``: frequencies, the modal set and every run."""
    freq = np.asarray(ts.selection_frequency_, dtype=float)
    return {
        "names": names,
        "selection_frequency": freq.tolist(),
        "selected": [names[i] for i in np.flatnonzero(ts.support_)],
        "runs": "random" if q is None else "snr_quantile",
        "snr_quantiles": None if q is None else [int(v) for v in q],
        "pool_sizes": None if pools is None else [int(p.size) for p in pools],
        "run_sizes": [len(rows) for rows in ts.sample_indices_],
        "run_selections": [
            None if sel is None else [names[i] for i in sel] for sel in ts.selections_
        ],
    }


def _smoothness(state: _State) -> dict:
    """Dirichlet energies of the target's varying parameters on its embedding."""
    from ..interpretation import function_smoothness

    ds, f = state.target, state.fitted
    F = ds.params[f.embedded]
    keep = np.flatnonzero(np.ptp(F, axis=0) > 0)
    sm = function_smoothness(
        f.dm, F[:, keep], n_permutations=100, random_state=state.config.random_state
    )
    return {
        "carried": isinstance(state.results.get("parameter_transfer"), dict),
        "names": [ds.names[j] for j in keep],
        "energy": sm.energy.tolist(),
        "shuffled": sm.null_energy.tolist(),
        "p_value": sm.p_value.tolist(),
    }


def _beyond(state: _State) -> None:
    """The Discussion's future work: smoothness, distortion, clusters, misfit."""
    from ..embedding import detect_clusters, local_distortion

    cfg, ds, f = state.config, state.target, state.fitted
    out = {}
    if ds.params is not None:
        out["smoothness"] = _smoothness(state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # degenerate rows: counted
        before = local_distortion(f.ies).summary()
        after = local_distortion(f.rr).summary()
    out["distortion"] = {"ies": before, "relaxed": after}
    clusters = detect_clusters(f.dm, random_state=cfg.random_state)
    out["clusters"] = {
        "n_clusters": clusters.n_clusters,
        "n_density_clusters": clusters.n_density_clusters,
        **clusters.evidence,
    }
    if state.reference is not None:
        out["misspecification"] = _misfit(state)
    state.results["beyond_the_paper"] = out
    state.sections.append(
        (
            "Beyond the paper: smoothness, distortion, clusters, misspecification",
            [],
            _beyond_rows(
                out,
                state.target.name,
                state.reference.name if state.reference else None,
            ),
        )
    )


def _misfit(state: _State) -> dict:
    """Conformal k-NN p-values of target rows and of held-out reference rows."""
    from ..sampling import misspecification_score

    cfg, tgt, ref = state.config, state.target, state.reference
    rng = np.random.default_rng(cfg.random_state)
    ref_rows = _subsample(ref.X.shape[0], cfg.n_reference, rng)
    n_test = min(cfg.n_coverage_test, ref_rows.size // 4)
    test, fit = ref_rows[:n_test], ref_rows[n_test:]
    rows = _subsample(tgt.X.shape[0], cfg.n_dimension, rng)
    res = misspecification_score(
        ref.X[fit],
        np.vstack([tgt.X[rows], ref.X[test]]),
        random_state=cfg.random_state,
        n_jobs=cfg.n_jobs,
    )
    flagged = res.flagged(0.05)
    return {
        "alpha": 0.05,
        "n_neighbors": int(res.n_neighbors),
        "target_flagged": float(flagged[: rows.size].mean()),
        "reference_flagged": float(flagged[rows.size :].mean()),
        "n_target": int(rows.size),
        "n_reference_test": int(n_test),
    }


def _beyond_rows(out: dict, target: str, reference: str | None) -> list[list]:
    rows = [["measure", "value", "reading"]]
    if out.get("smoothness"):
        rows += _smoothness_rows(out["smoothness"])
    for key, what in (("ies", "IES chart"), ("relaxed", "relaxed chart")):
        q = out["distortion"][key]["log_condition"]
        rows.append(
            [
                f"distortion of the {what}",
                f"median log condition {q['median']:.3g}",
                f"10-90 %: {q['q10']:.3g} .. {q['q90']:.3g} (0 = conformal)",
            ]
        )
    rows.append(_clusters_row(out["clusters"]))
    m = out.get("misspecification")
    if m:
        rows.append(
            [
                f"{target} rows unlike {reference} ones",
                f"{m['target_flagged']:.1%} flagged at p < {m['alpha']:g}",
                f"held-out {reference} rows: {m['reference_flagged']:.1%} (expected "
                f"{m['alpha']:.0%}); {m['n_neighbors']}-NN conformal p-values",
            ]
        )
    return rows


def _smoothness_rows(sm: dict) -> list[list]:
    # Carried parameters are kernel averages, smooth by construction:
    # their p-values are small whatever the geometry; the energies rank.
    note = "; carried, so compare energies" if sm["carried"] else ""
    return [
        [
            f"smoothness of {n}",
            f"energy {e:.3g} (shuffled {e0:.3g})",
            f"p = {p:.2g}{note}",
        ]
        for n, e, e0, p in zip(
            sm["names"], sm["energy"], sm["shuffled"], sm["p_value"], strict=True
        )
    ]


def _clusters_row(c: dict) -> list:
    return [
        "clusters",
        f"{c['n_clusters']} (by {c['chosen_by']})",
        f"{c['n_components']} graph component{'s' * (c['n_components'] != 1)}, "
        f"{c['n_isolated']} isolated rows; "
        f"{c['n_density_clusters']} regions denser than "
        f"{c['density_ratio']:g} x the median",
    ]


def _sizes_section(sizes: dict) -> tuple:
    rows = [["size", "what", "configured", "used"]]
    for name, s in sizes.items():
        used = s["used"]
        if isinstance(used, dict):
            used = ", ".join(f"{k} {v}" for k, v in used.items())
        configured = "" if s["configured"] is None else s["configured"]
        rows.append([name, s["what"], configured, used])
    return ("Sizes", [], rows)


STAGES = [
    ("intrinsic dimension", _dimension),
    ("coverage", _coverage),
    ("density flattening", _flatten),
    ("parameter transfer", _parameters),
    ("embedding", _embedding),
    ("eigengap dimension", _eigengap),
    ("out of sample", _out_of_sample),
    ("embedding figures", _embedding_figures),
    ("TSLasso", _tslasso),
    ("beyond the paper", _beyond),
]


def run_report(config: ReportConfig) -> Path:
    """Run every stage and write ``index.html``, figures and ``results.json``.

    Parameters
    ----------
    config : ReportConfig
        Inputs, output directory and sizes.

    Returns
    -------
    index : Path
        The written ``index.html``.
    """
    config.out = _writable_out(Path(config.out))
    target, reference = _load(config)
    state = _State(config, target, reference)
    state.results["input"] = {
        ds.name: {
            "n_rows": int(ds.X.shape[0]),
            "n_features": int(ds.X.shape[1]),
            "parameters": ds.names,
        }
        for ds in filter(None, (target, reference))
    }
    state.results["run"] = _run_record(config)
    _run_stages(state)
    state.sections[:0] = [
        ("Findings", [], findings(state.results) or ["No stage could answer."]),
        _run_section(state.results["run"]),
        ("Warnings raised", [], _warning_lines(state.results["warnings"])),
        _sizes_section(state.results.get("sizes", {})),
    ]
    with open(config.out / "results.json", "w") as fh:
        json.dump(state.results, fh, indent=1, default=_jsonable)
    return write_html(config.out, state.sections, state.results)


def _writable_out(out: Path) -> Path:
    """``out``, created; fail now, not after the first stage, if the report
    cannot be written there."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(
            f"output directory {out} is an existing file; choose another --out"
        ) from None
    except NotADirectoryError:
        raise InputError(
            f"cannot create output directory {out}: part of the path is a file; "
            "choose another --out"
        ) from None
    except OSError as exc:
        raise InputError(
            f"cannot create output directory {out}: {exc.strerror or exc}; "
            "choose another --out"
        ) from None
    try:
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise InputError(
            f"output directory {out} is not writable: {exc.strerror or exc}; "
            "choose another --out"
        ) from None
    return out


def _run_stages(state: _State) -> None:
    """Every stage, timed; the warnings they raise recorded once each."""
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for title, stage in STAGES:
            with _stage(state, title):
                stage(state)
    state.results["warnings"] = _unique_warnings(caught)
    state.results["timings_s"]["total"] = round(time.perf_counter() - start, 2)


def _run_record(config: ReportConfig) -> dict:
    """Package version, input files and every parameter of the run."""
    from .. import __version__

    params = {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(config).items()
    }
    inputs = {
        k: params.pop(k) for k in ("latents", "params", "reference", "reference_params")
    }
    return {"version": __version__, "inputs": inputs, "parameters": params}


def _run_section(run: dict) -> tuple:
    rows = [["item", "value"], ["sksbi-manifold", run["version"]]]
    for name, path in run["inputs"].items():
        default = "(embedded default data)" if name == "latents" else ""
        rows.append([name, path or default])
    rows += [[name, value] for name, value in run["parameters"].items()]
    return ("Run: version, inputs, parameters", [], rows)


def _unique_warnings(caught) -> list[dict]:
    """Warnings of the run, once each with a count (and re-logged, since
    recording them stops their printing)."""
    seen: dict = {}
    for w in caught:
        if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)):
            continue
        key = (w.category.__name__, " ".join(str(w.message).split()))
        seen[key] = seen.get(key, 0) + 1
    for category, message in seen:
        log.warning("%s: %s", category, message)
    return [{"category": c, "message": m, "count": n} for (c, m), n in seen.items()]


def _warning_lines(items: list[dict]) -> list[str]:
    if not items:
        return ["None."]
    return [
        f"{w['category']}: {w['message']}"
        + (f" (x{w['count']})" if w["count"] > 1 else "")
        for w in items
    ]


def _jsonable(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
