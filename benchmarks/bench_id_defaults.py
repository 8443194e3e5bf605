"""Intrinsic dimension with default parameters on lifted manifolds of known d.

    python benchmarks/bench_id_defaults.py [--n 10000] [--seeds 0 1 2]

Each manifold is lifted isometrically into R^256 (``make_lifted_manifold``,
float32 as latents are stored), clean and with ambient noise 0.01 per
coordinate. Every estimator runs as constructed by default (``n_jobs=2``).
Prints the median over seeds of each estimate, the largest error over seeds
and the median fit time.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from sksbi_manifold import CorrelationDimension, DoublingDimension, EigengapDimension
from sksbi_manifold.datasets import make_lifted_manifold

CASES = [  # kind, intrinsic_dim (None: the kind's own), noise
    ("ball", 5, 0.0),
    ("ball", 5, 0.01),
    ("ball", 3, 0.0),
    ("swiss_roll", None, 0.0),
    ("torus", None, 0.0),
    ("torus", None, 0.01),
    ("sphere", 2, 0.01),
    ("sphere", 4, 0.0),
    ("cube", 4, 0.01),
]
ESTIMATORS = {
    "Doubling": DoublingDimension,
    "Correlation": CorrelationDimension,
    "Eigengap": EigengapDimension,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print("| manifold | d | noise | " + " | ".join(ESTIMATORS) + " |")
    print("|---" * (3 + len(ESTIMATORS)) + "|")
    for kind, dim, noise in CASES:
        cells = []
        for make in ESTIMATORS.values():
            est, secs, d = [], [], None
            for seed in args.seeds:
                X, _, d = make_lifted_manifold(
                    kind, args.n, intrinsic_dim=dim, noise=noise, random_state=seed
                )
                tic = time.perf_counter()
                value = make(n_jobs=2, random_state=seed).fit(X.astype(np.float32))
                secs.append(time.perf_counter() - tic)
                est.append(value.dimension_)
            worst = np.max(np.abs(np.asarray(est) - d))
            cells.append(
                f"{np.median(est):.2f} (max err {worst:.2f}, {np.median(secs):.1f} s)"
            )
        print(f"| {kind} | {d} | {noise} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
