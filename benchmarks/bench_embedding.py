"""Diffusion-maps benchmark: DiffusionMapsGC against sklearn and pydiffmap.

    python benchmarks/bench_embedding.py [--sizes 5000 20000 50000]
        [--methods gc ours sklearn pydiffmap] [--n-jobs 2] [--json out.json]

Data: the unit sphere S^2, uniformly sampled and lifted isometrically into
R^256 (``make_lifted_manifold("sphere", n)``), 20 eigenpairs.

* ``gc``: our geometric-consistency search alone (default grid, d = 2,
  200 evaluation points); its width is passed to ``ours``.
* ``ours``: ``DiffusionMapsGC(n_components=20, epsilon=<gc width>)``.
* ``sklearn``: ``SpectralEmbedding(n_components=20,
  affinity="nearest_neighbors")`` with ``n_neighbors`` equal to the mean degree
  of our graph (the default ``n/10`` makes a 5000-NN graph at n = 50,000).
* ``pydiffmap``: ``DiffusionMap.from_sklearn(n_evecs=20, alpha=1.0)`` with its
  defaults (k = 64 neighbours, BGH bandwidth).

Accuracy: the Laplace-Beltrami spectrum of S^2 is l(l+1) with multiplicity
2l+1. ``err l=1..3`` is the largest relative error of the eigenvalues of each
group (ours: ``eigenvalues_``; pydiffmap: ``-evals``, its generator also
approximates the Laplacian; SpectralEmbedding exposes no eigenvalues).
``cc l=1..3`` is the smallest canonical correlation between the group's
coordinates and the span of the degree-l spherical harmonics (1 = exact
eigenspace), for all methods. Every measurement runs in a fresh process;
"peak MiB" is the growth of its resident set over the data already in memory.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time
import traceback

import numpy as np

GROUPS = [(1, 3), (2, 5), (3, 7)]  # (l, multiplicity); 15 of the 20 pairs


def _data(n: int):
    from sksbi_manifold.datasets import make_lifted_manifold

    info = make_lifted_manifold("sphere", n, random_state=0, return_info=True)
    return info.data, info.natural


def _harmonic_spans(P: np.ndarray) -> dict[int, np.ndarray]:
    x, y, z = P.T
    l1 = np.c_[x, y, z]
    l2 = np.c_[x * y, y * z, z * x, x**2 - y**2, 3 * z**2 - 1]
    cubic = np.c_[
        x**3,
        y**3,
        z**3,
        x * x * y,
        x * x * z,
        y * y * x,
        y * y * z,
        z * z * x,
        z * z * y,
        x * y * z,
    ]
    q1 = np.linalg.qr(l1)[0]
    cubic = cubic - q1 @ (q1.T @ cubic)  # degree 3 = l3 + l1 on the sphere
    l3 = np.linalg.svd(cubic, full_matrices=False)[0][:, :7]
    return {1: l1, 2: l2, 3: l3}


def _accuracy(P, embedding, eigenvalues):
    from scipy.linalg import subspace_angles

    spans = _harmonic_spans(P)
    out, start = {}, 0
    for ell, mult in GROUPS:
        cols = embedding[:, start : start + mult]
        out[f"cc{ell}"] = float(np.cos(subspace_angles(cols, spans[ell])).min())
        if eigenvalues is not None:
            vals = eigenvalues[start : start + mult]
            exact = ell * (ell + 1)
            out[f"err{ell}"] = float(np.abs(vals / exact - 1).max())
        start += mult
    return out


def _job(args, queue, max_bytes):
    if max_bytes:  # fail with MemoryError rather than wake the OOM killer
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))
    try:
        queue.put(_run(*args))
    except Exception:  # report, do not hang the parent
        queue.put({"error": traceback.format_exc(limit=3)})


def _run(method, n, n_jobs, params):
    X, P = _data(n)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    info: dict = {}
    if method == "gc":
        from sksbi_manifold.embedding._consistency import geometric_consistency

        gc = geometric_consistency(
            X, None, 2, sample_size=200, random_state=0, n_jobs=n_jobs
        )
        info = {"epsilon": gc.epsilon, "n_radii": int(gc.radii.size)}
        emb = eig = None
    elif method == "ours":
        from sksbi_manifold.embedding import DiffusionMapsGC

        dm = DiffusionMapsGC(
            20, epsilon=params["epsilon"], n_jobs=n_jobs, random_state=0
        ).fit(X)
        emb, eig = dm.embedding_, dm.eigenvalues_
        info = {"degree": dm.affinity_.nnz / n, "epsilon": dm.epsilon_}
    elif method == "sklearn":
        from sklearn.manifold import SpectralEmbedding

        k = int(params["n_neighbors"])
        emb = SpectralEmbedding(
            20,
            affinity="nearest_neighbors",
            n_neighbors=k,
            random_state=0,
            n_jobs=n_jobs,
        ).fit_transform(X)
        eig = None
        info = {"n_neighbors": k}
    elif method == "pydiffmap":
        from pydiffmap.diffusion_map import DiffusionMap

        dmap = DiffusionMap.from_sklearn(
            alpha=1.0,
            n_evecs=20,
            neighbor_params={"n_jobs": n_jobs, "algorithm": "brute"},
        )
        dmap.fit(X)
        emb, eig = np.real(dmap.evecs), -np.real(dmap.evals)
        info = {"epsilon_bgh": float(dmap.epsilon_fitted), "k": 64}
    else:
        raise ValueError(method)
    elapsed = time.perf_counter() - t
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    out = {"time": elapsed, "peak_mib": peak, **info}
    if emb is not None:
        out.update(_accuracy(P, emb, eig))
    return out


def run_isolated(args, timeout, max_gib=None):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    max_bytes = int(max_gib * 2**30) if max_gib else 0
    proc = ctx.Process(target=_job, args=(args, queue, max_bytes))
    proc.start()
    try:
        result = queue.get(timeout=timeout)
    except Exception:
        proc.kill()
        result = {"error": f"no result within {timeout} s"}
    proc.join()
    if proc.exitcode not in (0, None) and "error" not in result:
        result = {"error": f"exit code {proc.exitcode}"}
    return result


def _fmt(v, spec):
    return format(v, spec) if isinstance(v, float | int) else str(v)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000, 50000])
    parser.add_argument(
        "--methods", nargs="+", default=["gc", "ours", "sklearn", "pydiffmap"]
    )
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument(
        "--max-gib", type=float, default=12.0, help="address-space cap per job"
    )
    parser.add_argument("--epsilon", type=float, help="skip gc, use this width")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()

    cols = ["err1", "err2", "err3", "cc1", "cc2", "cc3"]
    header = f"{'method':<10}{'n':>7}{'time s':>9}{'peak MiB':>10}" + "".join(
        f"{c:>8}" for c in cols
    )
    print(header + "  info")
    print("-" * (len(header) + 30))
    rows = []
    for n in args.sizes:
        params = {"epsilon": args.epsilon}
        for method in args.methods:
            if method == "ours" and params["epsilon"] is None:
                print(f"{'ours':<10}{n:>7}  needs the gc width (run gc first)")
                continue
            if method == "sklearn" and "n_neighbors" not in params:
                print(f"{'sklearn':<10}{n:>7}  needs our mean degree (run ours first)")
                continue
            res = run_isolated(
                (method, n, args.n_jobs, dict(params)), args.timeout, args.max_gib
            )
            rows.append({"method": method, "n": n, **res})
            if "error" in res:
                print(f"{method:<10}{n:>7}  FAILED: {res['error'].strip()[-300:]}")
                continue
            if method == "gc":
                params["epsilon"] = res["epsilon"]
            if method == "ours":
                params["n_neighbors"] = round(res["degree"])
            extra = {
                k: v for k, v in res.items() if k not in ("time", "peak_mib", *cols)
            }
            print(
                f"{method:<10}{n:>7}{res['time']:>9.2f}{res['peak_mib']:>10.0f}"
                + "".join(f"{_fmt(res.get(c, '-'), '.3f'):>8}" for c in cols)
                + "  "
                + ", ".join(f"{k}={_fmt(v, '.4g')}" for k, v in extra.items()),
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
