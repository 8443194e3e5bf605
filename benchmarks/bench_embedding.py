"""Diffusion maps against pydiffmap and megaman, scale-free and side by side.

    python benchmarks/bench_embedding.py [--sizes 5000 20000 50000]
        [--kinds sphere torus] [--methods gc fixed knn knn_adaptive pydiffmap
        megaman]
        [--repeats 3] [--n-jobs 2] [--markdown results.md] [--json rows.json]
    python benchmarks/bench_embedding.py --scan 0.05 0.07 0.1 0.14 0.2
        [--sizes 20000] [--kinds sphere torus]

Data: ``make_lifted_manifold(kind, n, random_state=0)``: the unit sphere S^2
(Laplace-Beltrami spectrum l(l+1), multiplicity 2l+1) and the flat torus
(cos a, sin a, cos b, sin b) (spectrum a^2 + b^2), isometrically lifted into
R^256, 16 non-trivial eigenpairs.

Methods, each timed from the raw rows to its eigenpairs, bandwidth choice
included, in a fresh process:

* ``gc``: ``DiffusionMapsGC(n_components=16)`` with every default: the
  doubling-dimension estimate, the geometric-consistency width; its
  ``spectrum_`` is scored.
* ``fixed``: the same estimator with ``epsilon`` fixed to the width ``gc``
  found at that size and kind (the embedding alone).
* ``knn``: ``DiffusionMapsGC(n_components=16, epsilon="knn")``: the spectral
  k-NN width rule (median distance to the ``k``-th neighbour, ``k = 0.068
  n**(4/(d+4))``, ``d`` from its own k-NN pass), fixed kernel.
* ``knn_adaptive``: the same width rule with ``kernel="adaptive"`` (Berry-Harlim
  variable bandwidth, ``n_neighbors=32``).
* ``gc_adaptive``: geometric consistency over the adaptive kernel (not in the
  default list: slow).
* ``pydiffmap``: ``DiffusionMap.from_sklearn(alpha=1.0, k=64, epsilon="bgh",
  n_evecs=16)``, its documented constructor with its own bandwidth rule (BGH)
  and neighbour search (scikit-learn, ``n_jobs``); ``-evals`` scored.
* ``megaman``: megaman 0.2 (sdist, patched for Python 3.11 / numpy 2: FLANN
  wrapper dropped, ``np.float/np.int/np.bool`` replaced) as in its tutorial:
  ``Geometry`` with a brute-force radius graph, Gaussian affinity and the
  ``"geometric"`` Laplacian scaled by ``scaling_epps``,
  ``SpectralEmbedding(eigen_solver="arpack")``. Its bandwidth ``h`` is the
  median 16-NN distance over 1000 sampled rows (timed; megaman 0.2 ships no
  selector), the radius graph is cut at ``3 h``. Eigenvalues are read from
  the ``eigen_decomposition`` call of its pipeline.

Installing megaman 0.2 (no wheel for Python 3.11; its setup needs
numpy.distutils): ``pip download megaman==0.2 --no-deps --no-binary :all:``,
unpack, delete ``megaman/geometry/cyflann`` and ``megaman/__check_build`` (its
only compiled parts, so no Cython to regenerate) with their imports in
``megaman/__init__.py`` and ``geometry/adjacency.py`` (``CyIndex = None``),
replace ``np.float/np.int/np.bool`` by ``np.float64/np.int64/np.bool_``, use a
two-line setuptools ``setup.py`` and ``pip install --no-deps .``.

Scores (no constant factor of the generator changes them):

* ``err``: mean relative error of ``lambda_k / lambda_1`` against the exact
  ratios, over k = 2..16.
* ``cc``: eigenspace canonical correlations: for each complete eigenspace among
  the 16 (sphere l = 1, 2, 3; torus |a|^2+|b|^2 = 1, 2, 4), the smallest
  canonical correlation between the method's eigenvectors of that space and the
  analytic eigenfunctions; the minimum over the spaces is reported (1 = exact).

Cells read "time, peak GB, err, cc". Timings: ``--repeats`` runs per cell,
methods interleaved within each repeat, median reported; "GB" is the peak
resident set of the process above the data. ``--from-json`` re-tabulates
cells of earlier runs (e.g. 5,000 and 20,000 with 3 repeats, 50,000 with 1).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time
import traceback
import warnings

import numpy as np

N_PAIRS = 16
PYDIFFMAP_K = 64
MEGAMAN_NN = 16


# --------------------------------------------------------------------------- #
# Data and ground truth
# --------------------------------------------------------------------------- #
def _data(kind: str, n: int):
    from sksbi_manifold.datasets import make_lifted_manifold

    info = make_lifted_manifold(kind, n, random_state=0, return_info=True)
    spectrum = np.asarray(info.laplacian_spectrum)
    return info.data, info.natural, spectrum[spectrum > 1e-9][:N_PAIRS]


def _sphere_spaces(P: np.ndarray) -> list[np.ndarray]:
    """Spherical harmonics of degree 1, 2, 3 (as polynomial spans)."""
    x, y, z = P.T
    l1 = np.c_[x, y, z]
    l2 = np.c_[x * y, y * z, z * x, x**2 - y**2, 3 * z**2 - 1]
    cubic = np.c_[
        x**3, y**3, z**3, x * x * y, x * x * z, y * y * x, y * y * z,
        z * z * x, z * z * y, x * y * z,
    ]  # fmt: skip
    q1 = np.linalg.qr(l1)[0]
    cubic = cubic - q1 @ (q1.T @ cubic)  # degree-3 polynomials = l3 + l1
    l3 = np.linalg.svd(cubic, full_matrices=False)[0][:, :7]
    return [l1, l2, l3]


def _torus_spaces(P: np.ndarray) -> list[np.ndarray]:
    """Flat-torus eigenfunctions with |k|^2 = 1, 2, 4."""
    a = np.arctan2(P[:, 1], P[:, 0])
    b = np.arctan2(P[:, 3], P[:, 2])

    def trig(*freqs):
        cols = []
        for p, q in freqs:
            cols += [np.cos(p * a + q * b), np.sin(p * a + q * b)]
        return np.column_stack(cols)

    return [trig((1, 0), (0, 1)), trig((1, 1), (1, -1)), trig((2, 0), (0, 2))]


def _spaces(kind: str, P: np.ndarray) -> list[np.ndarray]:
    return _sphere_spaces(P) if kind == "sphere" else _torus_spaces(P)


def _ratio_error(eigenvalues: np.ndarray, exact: np.ndarray) -> float:
    lam = np.sort(np.asarray(eigenvalues, dtype=np.float64))[:N_PAIRS]
    ratio, truth = lam / lam[0], exact / exact[0]
    return float(np.mean(np.abs(ratio[1:] / truth[1:] - 1.0)))


def _canonical_correlation(vectors: np.ndarray, spaces, exact) -> float:
    """Smallest canonical correlation over the complete eigenspaces."""
    from scipy.linalg import subspace_angles

    worst, start = 1.0, 0
    for space in spaces:
        dim = space.shape[1]
        if start + dim > N_PAIRS:
            break
        cols = vectors[:, start : start + dim]
        worst = min(worst, float(np.cos(subspace_angles(cols, space)).min()))
        start += dim
    return worst


# --------------------------------------------------------------------------- #
# Methods: each returns (eigenvalues, eigenvectors, info)
# --------------------------------------------------------------------------- #
def _ours(X, n_jobs, epsilon="gc", kernel="fixed"):
    from sksbi_manifold.embedding import DiffusionMapsGC

    dm = DiffusionMapsGC(
        N_PAIRS,
        epsilon=epsilon,
        kernel=kernel,
        n_jobs=n_jobs,
        random_state=0,
        store_graph=False,
    ).fit(X)
    info = {"epsilon": dm.epsilon_}
    if dm.gc_radii_ is not None:
        info["edge"] = int(dm.gc_loss_.argmin() in (0, dm.gc_radii_.size - 1))
    return dm.spectrum_, dm.embedding_, info


def _pydiffmap(X, n_jobs):
    from pydiffmap.diffusion_map import DiffusionMap

    dmap = DiffusionMap.from_sklearn(
        alpha=1.0,
        k=PYDIFFMAP_K,
        epsilon="bgh",
        n_evecs=N_PAIRS,
        neighbor_params={"n_jobs": n_jobs},
    )
    dmap.fit(X)
    lam = -np.real(dmap.evals)
    order = np.argsort(lam)
    return lam[order], np.real(dmap.evecs)[:, order], {"bgh": dmap.epsilon_fitted}


def _megaman_bandwidth(X, n_jobs) -> float:
    from sklearn.neighbors import NearestNeighbors

    rows = np.random.RandomState(0).choice(X.shape[0], 1000, replace=False)
    nn = NearestNeighbors(n_neighbors=MEGAMAN_NN + 1, n_jobs=n_jobs).fit(X)
    return float(np.median(nn.kneighbors(X[rows])[0][:, -1]))


def _megaman(X, n_jobs):
    import megaman.embedding.spectral_embedding as mse
    from megaman.embedding import SpectralEmbedding
    from megaman.geometry import Geometry

    h = _megaman_bandwidth(X, n_jobs)
    geom = Geometry(
        adjacency_method="brute",
        adjacency_kwds={"radius": 3 * h},
        affinity_method="gaussian",
        affinity_kwds={"radius": h},
        laplacian_method="geometric",
        laplacian_kwds={"scaling_epps": h},
    )
    seen = {}
    solve = mse.eigen_decomposition

    def spy(*args, **kwargs):  # megaman keeps its eigenvalues to itself
        seen["lambdas"], seen["vectors"] = solve(*args, **kwargs)
        return seen["lambdas"], seen["vectors"]

    mse.eigen_decomposition = spy
    try:
        SpectralEmbedding(
            n_components=N_PAIRS, eigen_solver="arpack", geom=geom, random_state=0
        ).fit(X)
    finally:
        mse.eigen_decomposition = solve
    lam = np.abs(np.real(seen["lambdas"]))
    order = np.argsort(lam)[1:]  # drop the constant
    return lam[order], np.real(seen["vectors"])[:, order], {"h": h}


# --------------------------------------------------------------------------- #
# Isolated runs
# --------------------------------------------------------------------------- #
def _run(method, kind, n, n_jobs, epsilon):
    X, P, exact = _data(kind, n)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "gc":
            lam, vec, info = _ours(X, n_jobs)
        elif method in ("fixed", "scan"):
            lam, vec, info = _ours(X, n_jobs, epsilon)
        elif method == "knn":
            lam, vec, info = _ours(X, n_jobs, "knn")
        elif method == "knn_adaptive":
            lam, vec, info = _ours(X, n_jobs, "knn", kernel="adaptive")
        elif method == "gc_adaptive":
            lam, vec, info = _ours(X, n_jobs, "gc", kernel="adaptive")
        elif method == "pydiffmap":
            lam, vec, info = _pydiffmap(X, n_jobs)
        elif method == "megaman":
            lam, vec, info = _megaman(X, n_jobs)
        else:
            raise ValueError(method)
    elapsed = time.perf_counter() - tic
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 2**20
    return {
        "time": elapsed,
        "gb": peak,
        "err": _ratio_error(lam, exact),
        "cc": _canonical_correlation(vec, _spaces(kind, P), exact),
        **info,
    }


def _job(args, queue):
    try:
        queue.put(_run(*args))
    except Exception:  # report, do not hang the parent
        queue.put({"error": traceback.format_exc(limit=4)})


def run_isolated(args, timeout: float) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_job, args=(args, queue))
    proc.start()
    try:
        result = queue.get(timeout=timeout)
    except Exception:
        proc.kill()
        result = {"error": f"no result within {timeout} s"}
    proc.join()
    return result


# --------------------------------------------------------------------------- #
# Tables
# --------------------------------------------------------------------------- #
def _median_cell(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]
    cell = dict(ok[0])
    for key in ("time", "gb"):
        cell[key] = float(np.median([r[key] for r in ok]))
    cell["repeats"] = len(ok)
    return cell


def _fmt_cell(cell: dict | None) -> str:
    if cell is None:
        return "-"
    if "error" in cell:
        return "failed"
    return (
        f"{cell['time']:.1f} s, {cell['gb']:.2f} GB, {cell['err']:.4f}, "
        f"cc {cell['cc']:.4f}"
    )


def markdown(cells: dict, methods, sizes, kinds) -> str:
    head = "| data | n | " + " | ".join(methods) + " |"
    lines = [head, "|" + " --- |" * (len(methods) + 2)]
    for n in sizes:
        for kind in kinds:
            row = [_fmt_cell(cells.get((kind, n, m))) for m in methods]
            lines.append(f"| {kind} | {n:,} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def benchmark(args) -> dict:
    cells = {}
    for n in args.sizes:
        for kind in args.kinds:
            runs: dict = {m: [] for m in args.methods}
            for rep in range(args.repeats):
                epsilon = None
                for method in args.methods:
                    if method == "fixed":
                        gc = [r for r in runs.get("gc", []) if "epsilon" in r]
                        if not gc:
                            continue
                        epsilon = gc[0]["epsilon"]
                    res = run_isolated(
                        (method, kind, n, args.n_jobs, epsilon), args.timeout
                    )
                    runs[method].append(res)
                    print(f"{kind:>6} {n:>6} rep {rep} {method:<9} {res}", flush=True)
            for method, rs in runs.items():
                if rs:
                    cells[(kind, n, method)] = _median_cell(rs)
    return cells


def scan(args) -> None:
    print(f"{'kind':>6} {'n':>6} {'epsilon':>8} {'time s':>7} {'err':>7} {'cc':>7}")
    for n in args.sizes:
        for kind in args.kinds:
            for eps in args.scan:
                r = run_isolated(("scan", kind, n, args.n_jobs, eps), args.timeout)
                if "error" in r:
                    print(f"{kind:>6} {n:>6} {eps:>8.4g} FAILED {r['error'][-200:]}")
                    continue
                print(
                    f"{kind:>6} {n:>6} {eps:>8.4g} {r['time']:>7.1f} "
                    f"{r['err']:>7.4f} {r['cc']:>7.4f}",
                    flush=True,
                )


def _load(paths) -> dict:
    cells = {}
    for path in paths:
        with open(path) as fh:
            for c in json.load(fh):
                cells[(c.pop("kind"), c.pop("n"), c.pop("method"))] = c
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000, 50000])
    parser.add_argument("--kinds", nargs="+", default=["sphere", "torus"])
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["gc", "fixed", "knn", "knn_adaptive", "pydiffmap", "megaman"],
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--scan", type=float, nargs="+", help="epsilon grid")
    parser.add_argument("--markdown", help="write the table to this file")
    parser.add_argument("--json", help="also write the cells to this file")
    parser.add_argument(
        "--from-json", nargs="+", help="only tabulate cells written by --json"
    )
    args = parser.parse_args()
    if args.scan:
        scan(args)
        return
    cells = _load(args.from_json) if args.from_json else benchmark(args)
    table = markdown(cells, args.methods, args.sizes, args.kinds)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(table + "\n")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([{"kind": k, "n": n, "method": m, **c}
                       for (k, n, m), c in cells.items()], fh, indent=1)  # fmt: skip


if __name__ == "__main__":
    main()
