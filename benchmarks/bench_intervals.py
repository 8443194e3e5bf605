"""Coverage of the true dimension by ``dimension_ci_`` (issue 18).

    python benchmarks/bench_intervals.py [--n 2000] [--seeds 20] [--json out.json]

Each manifold of known dimension d is lifted isometrically into R^256
(``make_lifted_manifold``, seed s), clean and with ambient Gaussian noise of
0.003 per coordinate (an ambient noise norm of 0.048 against a unit curvature
radius). Every estimator runs with its defaults but ``n_bootstrap=100`` (95 %
percentile interval of 100 replicates). Per estimator and case: the fraction of seeds
whose interval contains d, the median interval width, and the median and
largest |dimension_ - d|: an interval measures sampling variability, so it
covers d where the estimator's bias is small against its width. The last
column is the report's range: from the lowest to the highest end of the four
intervals of one seed (the estimators' biases differ in sign).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from sksbi_manifold import (
    CorrelationDimension,
    DoublingDimension,
    EigengapDimension,
    GrideDimension,
)
from sksbi_manifold.datasets import make_lifted_manifold

CASES = [  # kind, intrinsic_dim (None: the kind's own), true d
    ("sphere", 2, 2),
    ("torus", None, 2),
    ("swiss_roll", None, 2),
    ("ball", 3, 3),
    ("sphere", 4, 4),
]
NOISES = (0.0, 0.003)
ESTIMATORS = {
    "Doubling": DoublingDimension,
    "Correlation": CorrelationDimension,
    "Eigengap": EigengapDimension,
    "Gride": GrideDimension,
}


def run(n: int, seeds: int) -> list[dict]:
    rows = []
    for kind, dim, d in CASES:
        for noise in NOISES:
            for name, Est in ESTIMATORS.items():
                hits, widths, errors, times, ends = [], [], [], [], []
                for seed in range(seeds):
                    X, _, _ = make_lifted_manifold(
                        kind, n, intrinsic_dim=dim, noise=noise, random_state=seed
                    )
                    start = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        est = Est(n_bootstrap=100, random_state=seed, n_jobs=1).fit(X)
                    times.append(time.perf_counter() - start)
                    lo, hi = est.dimension_ci_
                    ends.append((lo, hi))
                    hits.append(lo <= d <= hi)
                    widths.append(hi - lo)
                    errors.append(abs(est.dimension_ - d))
                row = {
                    "case": f"{kind} d={d}",
                    "noise": noise,
                    "estimator": name,
                    "coverage": float(np.mean(hits)),
                    "width": float(np.median(widths)),
                    "median_error": float(np.median(errors)),
                    "max_error": float(np.max(errors)),
                    "seconds": float(np.median(times)),
                    "intervals": ends,
                    "d": d,
                }
                rows.append(row)
                print(
                    f"{row['case']:14s} noise {noise:<6g} {name:12s} coverage "
                    f"{row['coverage']:.2f} width {row['width']:.3f} |err| median "
                    f"{row['median_error']:.3f} max {row['max_error']:.3f} "
                    f"({row['seconds']:.2f} s/fit)",
                    flush=True,
                )
    return rows


def table(rows: list[dict]) -> str:
    names = list(ESTIMATORS)
    out = [
        "| case | noise | " + " | ".join(names) + " | range of the four |",
        "| --- | --- | " + " | ".join("---" for _ in names) + " | --- |",
    ]
    keys = dict.fromkeys((r["case"], r["noise"]) for r in rows)
    for case, noise in keys:
        cells, case_rows = [], []
        for name in names:
            (r,) = [
                r
                for r in rows
                if (r["case"], r["noise"], r["estimator"]) == (case, noise, name)
            ]
            case_rows.append(r)
            cells.append(
                f"{100 * r['coverage']:.0f} %, w {r['width']:.2f}, "
                f"err {r['median_error']:.2f}"
            )
        ends = np.array([r["intervals"] for r in case_rows])  # (est, seed, 2)
        lo, hi = ends[..., 0].min(axis=0), ends[..., 1].max(axis=0)
        d = case_rows[0]["d"]
        cells.append(
            f"{100 * np.mean((lo <= d) & (d <= hi)):.0f} %, w {np.median(hi - lo):.2f}"
        )
        out.append(f"| {case} | {noise:g} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--json", default=None, help="write the rows here")
    parser.add_argument("--from-json", default=None, help="table of saved rows")
    args = parser.parse_args()
    if args.from_json:
        with open(args.from_json) as fh:
            print(table(json.load(fh)))
        return
    rows = run(args.n, args.seeds)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    print(table(rows))


if __name__ == "__main__":
    main()
