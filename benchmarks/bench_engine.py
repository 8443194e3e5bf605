"""Distance-engine benchmark: time and peak memory against the GEMM floor.

    python benchmarks/bench_engine.py [--sizes 20000 50000] [--repeats 3]

For each size and dtype it times, on a noisy sphere lifted into R^256:
neighbour counts at 20 radii, the radius graph, and Gaussian kernel sums.
The machine's GEMM rate is measured in the same run; "floor" is the time the
GEMM alone needs for the pairs the operation must visit (n(n+1)/2 with
symmetry for counts and graph, n^2 for kernel sums), so floor/time is the
fraction of the BLAS-bound lower limit the engine reaches.
Peak memory is the largest resident-set growth of a fresh worker process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import statistics
import time

import numpy as np


def _data(n: int, dtype, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, 3))
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    Q = np.linalg.qr(rng.standard_normal((256, 3)))[0]
    return (10 * Z @ Q.T + 0.05 * rng.standard_normal((n, 256))).astype(dtype)


def gemm_rate(dtype, repeats: int = 5) -> float:
    """GFLOP/s of a block-shaped GEMM (512 x 256 times 256 x 20000)."""
    rng = np.random.default_rng(1)
    A = rng.standard_normal((512, 256)).astype(dtype)
    B = rng.standard_normal((20000, 256)).astype(dtype)
    A @ B.T
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        A @ B.T
        times.append(time.perf_counter() - t)
    return 2 * 512 * 20000 * 256 / statistics.median(times) / 1e9


def _job(args, queue):
    op, n, dtype_name, n_jobs = args
    from sksbi_manifold._geometry import distances as D

    X = _data(n, np.dtype(dtype_name))
    radii = np.geomspace(1.0, 8.0, 20)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    if op == "counts":
        out = D.radius_counts(X, radii, n_jobs=n_jobs)
        info = f"mean N(R_max)={out[:, -1].mean():.0f}"
    elif op == "graph":
        out = D.radius_graph(X, 3.0, n_jobs=n_jobs)
        info = f"nnz/row={out.nnz / n:.0f}"
    else:
        w, _ = D.kernel_sums(X, None, X[:, :3], [1.0, 2.0], n_jobs=n_jobs)
        info = f"mean degree={w[:, 1].mean():.0f}"
    elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    queue.put((elapsed, peak / 1024, info))


def run_isolated(args):
    """Run one measurement in a fresh process (clean peak-memory reading)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_job, args=(args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000, 50000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()

    rates = {dt: gemm_rate(np.dtype(dt)) for dt in ("float32", "float64")}
    print(
        f"GEMM rate: float32 {rates['float32']:.0f} GFLOP/s, "
        f"float64 {rates['float64']:.0f} GFLOP/s (median of 5)"
    )
    header = (
        f"{'op':<8}{'n':>7} {'dtype':<8}{'time s':>8}{'floor s':>9}"
        f"{'floor/time':>11}{'peak MiB':>10}  info"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for n in args.sizes:
        for dt in ("float32", "float64"):
            for op in ("counts", "graph", "kernel"):
                # counts/graph use symmetry (n(n+1)/2 pairs); kernel sums
                # reduce every ordered pair (n^2).
                pairs = n * n if op == "kernel" else n * (n + 1) / 2
                floor = pairs * 2 * 256 / (rates[dt] * 1e9)
                reps = args.repeats if n <= 20000 else 1
                runs = [run_isolated((op, n, dt, args.n_jobs)) for _ in range(reps)]
                t = statistics.median(r[0] for r in runs)
                peak = max(r[1] for r in runs)
                print(
                    f"{op:<8}{n:>7} {dt:<8}{t:>8.2f}{floor:>9.2f}"
                    f"{floor / t:>11.2f}{peak:>10.0f}  {runs[0][2]} "
                    f"(median of {reps})"
                )
                rows.append(
                    dict(
                        op=op,
                        n=n,
                        dtype=dt,
                        time=t,
                        floor=floor,
                        peak_mib=peak,
                        repeats=reps,
                    )
                )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(gemm=rates, rows=rows), fh, indent=1)


if __name__ == "__main__":
    main()
