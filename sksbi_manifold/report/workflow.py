"""The paper's workflow, stage by stage, with automatic defaults.

Each stage is a small function that reads what earlier stages left in a
:class:`_State`, fits the package's estimators, and records numbers (for
``results.json``), figures and HTML sections.  Stages that need something the
input lacks (a reference set, parameters) are skipped with a note.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..datasets import (
    load_cryoem_latents,
    load_latents,
    load_parameters,
    make_cryoem_latents,
)
from . import figures
from .html import write_html

log = logging.getLogger("sksbi_manifold.report")
_MAX_COLOURINGS = 6  # parameters shown as colourings of the embedding


class InputError(ValueError):
    """Bad report input: the message is shown to the user as one line."""


@dataclass
class ReportConfig:
    """Inputs and sizes of one report run (see ``sksbi-manifold report -h``)."""

    latents: Path | None = None
    params: Path | None = None
    reference: Path | None = None
    reference_params: Path | None = None
    out: Path = Path("report_out")
    max_samples: int = 3000  # rows after density flattening (geometry stages)
    n_default: int = 10000  # rows per set of the embedded default data
    n_dimension: int = 20000  # rows used by the dimension estimators
    intrinsic_dim: int = 3  # dimension of the selected / relaxed embedding
    n_jobs: int | None = 2
    random_state: int = 0
    key: str | None = None  # array of .npz/.pt LATENTS and reference files


@dataclass
class _Dataset:
    name: str
    X: np.ndarray
    params: np.ndarray | None = None
    names: list[str] | None = None


@dataclass
class _State:
    config: ReportConfig
    target: _Dataset
    reference: _Dataset | None
    results: dict = field(default_factory=dict)
    sections: list = field(default_factory=list)
    fitted: dict = field(default_factory=dict)


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


def _check_rows(ds: _Dataset) -> None:
    bad = ~np.isfinite(ds.X).all(axis=1)
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


# --------------------------------------------------------------------------- #
# Stages
# --------------------------------------------------------------------------- #
def _dimension(state: _State) -> None:
    from ..dimension import CorrelationDimension, DoublingDimension

    cfg = state.config
    rng = np.random.default_rng(cfg.random_state)
    curves, out = {}, {}
    for ds in filter(None, (state.target, state.reference)):
        rows = _subsample(ds.X.shape[0], cfg.n_dimension, rng)
        X = ds.X[rows]
        seed = cfg.random_state  # the estimators sample rows: same seed, same report
        dd = DoublingDimension(random_state=seed, n_jobs=cfg.n_jobs).fit(X)
        cd = CorrelationDimension(random_state=seed, n_jobs=cfg.n_jobs).fit(X)
        curves[ds.name] = (dd.radii_, dd.dimension_by_radius_)
        out[ds.name] = {
            "doubling": float(dd.dimension_),
            "doubling_radius": float(dd.radius_),
            "correlation": float(cd.dimension_),
            "n_rows": int(X.shape[0]),
        }
        if ds is state.target:
            state.fitted["doubling"] = (dd, X)
    state.results["intrinsic_dimension"] = out
    dd, _ = state.fitted["doubling"]
    state.sections.append(
        (
            "Intrinsic dimension",
            [
                figures.dimension_histogram(
                    cfg.out,
                    dd.local_dimension_,
                    "local doubling dimension",
                    dd.dimension_,
                ),
                figures.dimension_vs_radius(cfg.out, curves),
            ],
            _dimension_table(out),
        )
    )


def _dimension_table(out: dict) -> list[list]:
    rows = [["set", "doubling (KDE mode)", "at radius", "correlation", "rows"]]
    for name, r in out.items():
        rows.append(
            [
                name,
                f"{r['doubling']:.2f}",
                f"{r['doubling_radius']:.3g}",
                f"{r['correlation']:.2f}",
                r["n_rows"],
            ]
        )
    return rows


def _coverage(state: _State) -> None:
    from ..coverage import density_coverage

    if state.reference is None:
        return
    cfg = state.config
    res = density_coverage(
        state.target.X,
        state.reference.X,
        random_state=cfg.random_state,
        n_jobs=cfg.n_jobs,
        names=(state.target.name, state.reference.name),
    )
    state.results["coverage"] = res.to_dict()
    state.sections.append(("Coverage (Table 1)", [], str(res)))


def _flatten(state: _State) -> None:
    from ..sampling import DensityFlatteningSampler

    cfg, ds = state.config, state.target
    # A fraction of the inliers, so the draw never asks for more rows than
    # survive the outlier removal.
    fraction = min(1.0, cfg.max_samples / ds.X.shape[0])
    sampler = DensityFlatteningSampler(
        n_samples=fraction, random_state=cfg.random_state, n_jobs=cfg.n_jobs
    )
    sampler.fit(ds.X)
    idx = sampler.sample_indices_
    state.fitted["sample"] = idx
    state.results["flattening"] = {
        "radius": float(sampler.radius_),
        "n_outliers": int(sampler.outlier_mask_.sum()),
        "n_input": int(ds.X.shape[0]),
        "n_sample": int(idx.size),
    }
    state.sections.append(
        (
            "Outliers and density flattening",
            [
                figures.count_histogram(
                    cfg.out,
                    sampler.neighbor_counts_,
                    sampler.neighbor_counts_[idx],
                    sampler.radius_,
                ),
            ],
            None,
        )
    )


def _parameters(state: _State) -> None:
    """Parameters of the target rows: given, or carried from the reference."""
    from ..interpolation import NadarayaWatsonInterpolator

    tgt, ref, cfg = state.target, state.reference, state.config
    if tgt.params is not None:
        return
    if ref is None or ref.params is None:
        state.results["parameter_transfer"] = "skipped: no labelled set"
        return
    nw = NadarayaWatsonInterpolator(
        random_state=cfg.random_state, n_jobs=cfg.n_jobs
    ).fit(ref.X, ref.params)
    tgt.params, tgt.names = np.asarray(nw.predict(tgt.X)), list(ref.names)
    state.results["parameter_transfer"] = {
        "bandwidth": float(nw.bandwidth_),
        "n_outside": int(nw.n_outside_),
        "source": ref.name,
    }


def _embedding(state: _State) -> None:
    from ..embedding import DiffusionMapsGC
    from ..relaxation import RiemannianRelaxation
    from ..selection import IESSelector

    cfg, ds = state.config, state.target
    Xs = ds.X[state.fitted["sample"]]
    d = cfg.intrinsic_dim
    with _stage(state, "diffusion maps"):
        # 64 GC sample points, as the paper's code: the search costs one
        # local PCA per sample point and radius.
        dm = DiffusionMapsGC(
            n_components=20,
            intrinsic_dim=d,
            gc_sample_size=64,
            n_jobs=cfg.n_jobs,
            random_state=cfg.random_state,
        )
        dm.fit(Xs)
    with _stage(state, "IES"):
        ies = IESSelector(
            n_components=d, embedding=dm, prefit=True, random_state=cfg.random_state
        ).fit(Xs)
    with _stage(state, "Riemannian relaxation"):
        rr = RiemannianRelaxation(
            n_components=d, embedding=ies, prefit=True, random_state=cfg.random_state
        ).fit(Xs)
    state.fitted.update(dm=dm, ies=ies, rr=rr, Xs=Xs)
    state.results["diffusion_maps"] = {
        "epsilon": float(dm.epsilon_),
        "radius": float(dm.radius_),
        "eigenvalues": dm.eigenvalues_.tolist(),
        "n_connected_components": int(dm.n_connected_components_),
        "ies_support": [int(i) for i in ies.support_],
        "relaxation_loss": [float(rr.loss_curve_[0]), float(rr.loss_curve_[-1])],
        "relaxation_iterations": int(rr.n_iter_),
    }
    state.sections.append(
        (
            "Diffusion Maps spectrum and kernel width",
            [
                figures.spectrum(cfg.out, dm.eigenvalues_),
                figures.gc_curve(cfg.out, dm.gc_radii_, dm.gc_loss_, dm.radius_),
            ],
            None,
        )
    )


def _eigengap(state: _State) -> None:
    from ..dimension import EigengapDimension

    cfg, dm = state.config, state.fitted["dm"]
    eg = EigengapDimension(
        epsilon=dm, random_state=cfg.random_state, n_jobs=cfg.n_jobs
    ).fit(state.fitted["Xs"])
    state.results["intrinsic_dimension"]["eigengap"] = float(eg.dimension_)
    state.fitted["eigengap"] = eg
    state.sections.append(
        (
            "Local PCA eigengap at the Diffusion Maps scale",
            [
                figures.dimension_histogram(
                    cfg.out,
                    eg.local_dimension_,
                    "local eigengap dimension",
                    eg.dimension_,
                ),
            ],
            None,
        )
    )


def _embedding_figures(state: _State) -> None:
    cfg, ds, f = state.config, state.target, state.fitted
    idx = f["sample"]
    colours = {}
    if ds.params is not None:
        for j, name in enumerate(ds.names[:_MAX_COLOURINGS]):
            colours[name] = ds.params[idx, j]
    dd, _ = f["doubling"]
    colours["local doubling dimension"] = np.ravel(dd.transform(f["Xs"]))
    state.sections.append(
        (
            "Embedding (IES-selected, relaxed)",
            [
                figures.embedding_grid(
                    cfg.out,
                    "embedding_before",
                    f["rr"].initial_embedding_,
                    colours,
                    "before relaxation",
                ),
                figures.embedding_grid(
                    cfg.out,
                    "embedding_after",
                    f["rr"].embedding_,
                    colours,
                    "after relaxation",
                ),
            ],
            None,
        )
    )


def _tslasso(state: _State) -> None:
    from ..tslasso import TSLasso

    cfg, ds, f = state.config, state.target, state.fitted
    if ds.params is None:
        state.results["tslasso"] = "skipped: no parameters"
        return
    F = ds.params[f["sample"]]
    keep = np.ptp(F, axis=0) > 0
    names = [n for n, k in zip(ds.names, keep) if k]
    # 20 repeats of 300 rows (the paper: 500): the gradients and tangent
    # spaces of every sampled row are estimated, which dominates the cost.
    ts = TSLasso(
        n_components=min(4, int(keep.sum())),
        sample_size=300,
        n_repeats=20,
        epsilon=f["dm"],
        random_state=cfg.random_state,
        n_jobs=cfg.n_jobs,
    ).fit(f["Xs"], F[:, keep])
    freq = np.asarray(ts.selection_frequency_, dtype=float)
    state.results["tslasso"] = {
        "names": names,
        "selection_frequency": freq.tolist(),
        "selected": [names[i] for i in np.flatnonzero(ts.support_)],
    }
    state.sections.append(
        (
            "TSLasso: which parameters parametrize the manifold",
            [
                figures.selection_frequency(cfg.out, names, freq),
                figures.regularization_paths(cfg.out, names, ts.coef_path_),
            ],
            None,
        )
    )


STAGES = [
    ("intrinsic dimension", _dimension),
    ("coverage", _coverage),
    ("density flattening", _flatten),
    ("parameter transfer", _parameters),
    ("embedding", _embedding),
    ("eigengap dimension", _eigengap),
    ("embedding figures", _embedding_figures),
    ("TSLasso", _tslasso),
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
    out = Path(config.out)
    # Fail now, not after the first stage, if the report cannot be written.
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
    config.out = out
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
    start = time.perf_counter()
    for title, stage in STAGES:
        with _stage(state, title):
            stage(state)
    state.results["timings_s"]["total"] = round(time.perf_counter() - start, 2)
    with open(out / "results.json", "w") as fh:
        json.dump(state.results, fh, indent=1, default=_jsonable)
    return write_html(out, state.sections, state.results)


def _jsonable(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
