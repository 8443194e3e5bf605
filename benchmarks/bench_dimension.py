"""Intrinsic dimension: sksbi-manifold against scikit-dimension, side by side.

    python benchmarks/bench_dimension.py [--sizes 20000 50000] [--repeats 3]
                                         [--max-repeat-seconds 60] [--no-skdim]

Data: the unit sphere S^2 (d = 2) and the unit 5-ball (d = 5) isometrically
lifted into R^256 with isotropic Gaussian noise 0.01 per coordinate (noise
radius 0.01 * sqrt(256) = 0.16, pair-distance floor 0.01 * sqrt(512) = 0.23),
``make_lifted_manifold(..., random_state=0)``.

Ours (default parameters, automatic scales, float32 input as the latents are
stored): DoublingDimension, CorrelationDimension, EigengapDimension.
scikit-dimension 0.5 (default parameters, float64 input): CorrInt (k1=10,
k2=20), MLE (20 neighbours, harmonic-mean combination), lPCA pointwise
(``fit_pw``, 100 neighbours, 'FO' rule; reported: mean of the pointwise
estimates; the global ``fit`` is plain PCA of the whole cloud, the linear span).

Timing: wall clock of ``fit`` on the same machine in one process. A method is
repeated ``--repeats`` times and the median reported when its first run takes
less than ``--max-repeat-seconds``; otherwise (and for n >= 50,000) it runs
once. The "reps" column says which. The speed ratio is the time of the
fastest scikit-dimension method divided by ours.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np

from sksbi_manifold.datasets import make_lifted_manifold
from sksbi_manifold.dimension import (
    CorrelationDimension,
    DoublingDimension,
    EigengapDimension,
)

NOISE = 0.01
DATASETS = (("sphere", 2, None), ("5-ball", 5, 5))


def _data(kind: str, dim, n: int) -> np.ndarray:
    name = "sphere" if kind == "sphere" else "ball"
    X, _, _ = make_lifted_manifold(
        name, n, ambient_dim=256, intrinsic_dim=dim, noise=NOISE, random_state=0
    )
    return X


def _ours():
    return {
        "ours Doubling": lambda X: DoublingDimension(random_state=0).fit(X).dimension_,
        "ours Correlation": lambda X: (
            CorrelationDimension(random_state=0).fit(X).dimension_
        ),
        "ours Eigengap": lambda X: EigengapDimension(random_state=0).fit(X).dimension_,
    }


def _theirs():
    import skdim

    def lpca_pw(X):
        est = skdim.id.lPCA()
        est.fit_pw(X, n_neighbors=100)
        return float(np.mean(est.dimension_pw_))

    return {
        "skdim CorrInt": lambda X: skdim.id.CorrInt().fit(X).dimension_,
        "skdim MLE": lambda X: skdim.id.MLE().fit(X).dimension_,
        "skdim lPCA(pw)": lpca_pw,
    }


def _time(fn, X, repeats: int, max_repeat_seconds: float):
    t = time.perf_counter()
    value = fn(X)
    times = [time.perf_counter() - t]
    if times[0] < max_repeat_seconds:
        for _ in range(repeats - 1):
            t = time.perf_counter()
            fn(X)
            times.append(time.perf_counter() - t)
    return statistics.median(times), len(times), float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000, 50000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-repeat-seconds", type=float, default=60.0)
    parser.add_argument("--no-skdim", action="store_true")
    args = parser.parse_args()

    methods = dict(_ours())
    if not args.no_skdim:
        try:
            methods.update(_theirs())
        except ImportError:
            print("scikit-dimension is not installed (pip install scikit-dimension)")
    header = (
        f"{'n':>6} {'data':7} {'method':17} {'time s':>8} {'reps':>4} "
        f"{'estimate':>8} {'|err|':>6} {'speed-up':>8}"
    )
    print(f"noise {NOISE} per coordinate in R^256; true d: sphere 2, 5-ball 5")
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        repeats = args.repeats if n < 50000 else 1
        for kind, d, dim in DATASETS:
            X64 = _data(kind, dim, n)
            X32 = X64.astype(np.float32)
            rows = {}
            for name, fn in methods.items():
                X = X32 if name.startswith("ours") else X64
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rows[name] = _time(fn, X, repeats, args.max_repeat_seconds)
            theirs = [v[0] for k, v in rows.items() if k.startswith("skdim")]
            fastest = min(theirs) if theirs else float("nan")
            for name, (t, reps, value) in rows.items():
                ratio = f"{fastest / t:8.1f}" if name.startswith("ours") else ""
                print(
                    f"{n:>6} {kind:7} {name:17} {t:8.2f} {reps:>4} "
                    f"{value:8.2f} {abs(value - d):6.2f} {ratio:>8}"
                )
            print(flush=True)


if __name__ == "__main__":
    main()
