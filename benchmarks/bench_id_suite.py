"""Intrinsic dimension on the 24 benchmark manifolds, against scikit-dimension.

    python benchmarks/bench_id_suite.py [--n 2500] [--noise 0.05] \
        [--timing-sizes 2500 20000] [--out benchmarks/results_id_suite.md]

The manifolds are ``skdim.datasets.BenchmarkManifolds(random_state=0)
.generate(n=n)`` (Hein & Audibert; Campadelli et al.: ID 1 to 70 in 3 to 96
ambient dimensions), clean and with isotropic Gaussian noise of standard
deviation ``--noise`` per ambient coordinate (``generate(noise=...)``, its own
draw of the manifolds). Every estimator runs as a user would: the package's
with default parameters, scikit-dimension's with its defaults (``MLE`` with
``fit``'s default ``n_neighbors``, ``lPCA`` its ``"FO"`` version). Both run
on float64, one core each (skdim's numba and the package's engine
``n_jobs=1``), so the timings compare algorithms.

Reported: the mean absolute error over the 16 manifolds with ID <= 10 and over
all 24, every estimate, and the "silent collapses" -- estimates below half the
true ID without a warning (``dimension_is_lower_bound_`` is the package's
warning; scikit-dimension has none). Timing: medians of 3 fits at each size
on three manifolds (``M1_Sphere``, ``M6_Nonlinear``, ``Mn1_Nonlinear``),
side by side in this process, as ratios to TwoNN and MLE (CorrInt and lPCA
are not timed).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

HIGH_ID = 10  # the 16 manifolds with ID <= 10 are the headline set
TIMING_MANIFOLDS = ("M1_Sphere", "M6_Nonlinear", "Mn1_Nonlinear")
# quadratic in n (pairwise distances, CorrInt) or no reference for the ratios
UNTIMED = ("skdim CorrInt", "skdim lPCA")


def package_estimators() -> dict:
    from sksbi_manifold import (
        CorrelationDimension,
        DoublingDimension,
        EigengapDimension,
        GrideDimension,
    )

    return {
        "Gride": lambda: GrideDimension(random_state=0, n_jobs=1),
        "Correlation": lambda: CorrelationDimension(random_state=0, n_jobs=1),
        "Doubling": lambda: DoublingDimension(random_state=0, n_jobs=1),
        "Eigengap": lambda: EigengapDimension(random_state=0, n_jobs=1),
    }


def skdim_estimators() -> dict:
    import skdim

    return {
        "skdim TwoNN": skdim.id.TwoNN,
        "skdim MLE": skdim.id.MLE,
        "skdim CorrInt": skdim.id.CorrInt,
        "skdim lPCA": skdim.id.lPCA,
    }


def manifolds(n: int, noise: float) -> tuple[dict, dict]:
    """Data and true ID of the 24 benchmark manifolds."""
    from skdim.datasets import BenchmarkManifolds

    bench = BenchmarkManifolds(random_state=0)
    data = bench.generate(n=n, noise=noise)
    truth = {name: spec[0] for name, spec in bench._dict_truth.items()}
    return data, truth


def fit_one(make, X) -> tuple[float, bool, float]:
    """Estimate, whether it came with a lower-bound warning, and fit seconds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tic = time.perf_counter()
        est = make().fit(X)
        secs = time.perf_counter() - tic
    return (
        float(est.dimension_),
        bool(getattr(est, "dimension_is_lower_bound_", 0)),
        secs,
    )


def run_suite(estimators: dict, data: dict) -> dict:
    """``{estimator: {manifold: (estimate, flagged, seconds)}}``."""
    out = {}
    for name, make in estimators.items():
        out[name] = {m: fit_one(make, X) for m, X in data.items()}
        print(f"  {name} done", flush=True)
    return out


def mae(results: dict, truth: dict, names) -> float:
    err = [abs(results[m][0] - truth[m]) for m in names]
    return float(np.mean(np.nan_to_num(err, nan=max(truth.values()))))


def silent_collapses(results: dict, truth: dict) -> list[str]:
    """Manifolds read below half their ID (or NaN) without a warning."""
    return [
        m
        for m, (d, flagged, _) in results.items()
        if not flagged and not d >= 0.5 * truth[m]
    ]


def summary_table(results: dict, truth: dict) -> list[str]:
    low = [m for m in truth if truth[m] <= HIGH_ID]
    lines = [
        f"| estimator | MAE ID<={HIGH_ID} ({len(low)}) | MAE all ({len(truth)}) "
        "| silent < ID/2 | fit s (total) |",
        "|---|---|---|---|---|",
    ]
    for name, res in results.items():
        silent = silent_collapses(res, truth)
        lines.append(
            f"| {name} | {mae(res, truth, low):.2f} | {mae(res, truth, truth):.2f} "
            f"| {len(silent)} {', '.join(silent)} "
            f"| {sum(r[2] for r in res.values()):.1f} |"
        )
    return lines


def estimate_table(results: dict, truth: dict) -> list[str]:
    names = list(results)
    lines = [
        "| manifold | ID | " + " | ".join(names) + " |",
        "|---" * (len(names) + 2) + "|",
    ]
    for m, d in truth.items():
        cells = []
        for name in names:
            value, flagged, _ = results[name][m]
            cells.append(f"{value:.2f}" + (" (b)" if flagged else ""))
        lines.append(f"| {m} | {d} | " + " | ".join(cells) + " |")
    return lines


def timing_table(estimators: dict, sizes, repeats: int = 3) -> list[str]:
    """Median fit time of each estimator, and its ratio to TwoNN and MLE."""
    names = list(estimators)
    lines = [
        "| n | manifold | " + " | ".join(names) + " |",
        "|---" * (len(names) + 2) + "|",
    ]
    for n in sizes:
        data, _ = manifolds(n, 0.0)
        for m in TIMING_MANIFOLDS:
            secs = {
                name: float(
                    np.median([fit_one(make, data[m])[2] for _ in range(repeats)])
                )
                for name, make in estimators.items()
            }
            cells = [
                f"{secs[k]:.2f} s ({secs[k] / secs['skdim TwoNN']:.2f}x TwoNN, "
                f"{secs[k] / secs['skdim MLE']:.2f}x MLE)"
                for k in names
            ]
            lines.append(f"| {n} | {m} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2500)
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--timing-sizes", type=int, nargs="*", default=[2500, 20000])
    parser.add_argument("--only", nargs="*", help="estimator names to run")
    parser.add_argument("--out", default=None, help="Markdown file to write")
    args = parser.parse_args()
    estimators = {**package_estimators(), **skdim_estimators()}
    if args.only:
        estimators = {k: v for k, v in estimators.items() if k in args.only}
    report = [
        f"# Intrinsic dimension on the benchmark manifolds (n = {args.n})",
        "",
        f"`python benchmarks/bench_id_suite.py {' '.join(sys.argv[1:])}`; "
        "default parameters, one core per estimator, float64 (see the "
        "script's docstring).",
        "",
    ]
    for noise in (0.0, args.noise):
        data, truth = manifolds(args.n, noise)
        print(f"noise {noise}:", flush=True)
        results = run_suite(estimators, data)
        title = "clean" if noise == 0 else f"Gaussian noise sd {noise} per coordinate"
        report += [f"## {title}", "", *summary_table(results, truth), ""]
        report += ["Estimates ((b): flagged as a lower bound, with a warning):", ""]
        report += [*estimate_table(results, truth), ""]
        print("\n".join(summary_table(results, truth)), flush=True)
    if args.timing_sizes:
        timed = {k: v for k, v in estimators.items() if k not in UNTIMED}
        report += ["## Fit time (median of 3), ratio to skdim TwoNN and MLE", ""]
        report += [*timing_table(timed, args.timing_sizes), ""]
    text = "\n".join(report)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
