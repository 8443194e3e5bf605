"""NadarayaWatsonInterpolator vs scikit-learn's neighbour regressors on latents.

The paper carries the conformation theta from simulated to experimental latents
by Nadaraya-Watson regression (Appendix A.6). Here: predict theta and log SNR
of ``n_test`` fresh simulated latents from ``n_train`` training latents,
side by side in one run:

- ``NadarayaWatsonInterpolator`` with its automatic choice (leave-one-out on
  the training rows, no test data): the default (``kernel="auto"``: both
  kernels searched, the lower leave-one-out error kept), the fixed kernel
  alone (the paper's) and the adaptive kernel alone (k nearest, width
  s * d_k);
- ``KNeighborsRegressor`` at its best setting on a grid of k and weights,
  chosen on the test set (an oracle choice that favours it).
  (``RadiusNeighborsRegressor`` is left out: at radii that reach the sparse
  rows it stores ~20,000^2 neighbour lists, ~10 GB.)

Data: ``--data cryoem`` (default) encodes particles of the physical forward
model with the shipped network (``make_cryoem_latents``; log SNR spans two
decades, so the density of the latents varies strongly), ``--data toy`` the
random-feature toy (``make_toy_cryo_latents``). R^256, float32. Times are fit
+ predict in seconds, median of ``--repeats`` runs interleaved over methods.

Run::

    python benchmarks/bench_interpolation.py [--data cryoem] [--n-train 20000]
        [--n-test 20000] [--repeats 3] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.metrics import r2_score
from sklearn.neighbors import KNeighborsRegressor

from sksbi_manifold.datasets import make_cryoem_latents, make_toy_cryo_latents
from sksbi_manifold.interpretation import NadarayaWatsonInterpolator

TARGETS = ("theta", "log_snr")


def _data(kind: str, n: int, seed: int):
    if kind == "cryoem":
        b = make_cryoem_latents(n, "simulated", random_state=seed)
    else:
        b = make_toy_cryo_latents(n, random_state=seed)
    cols = [list(b.param_names).index(t) for t in TARGETS]
    return b.data, b.params[:, cols]


def _timed(est, X, y, Xt):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = est.fit(X, y).predict(Xt)
    return pred, time.perf_counter() - t0


def _r2(yt, pred) -> list[float]:
    return [r2_score(yt[:, j], pred[:, j]) for j in range(yt.shape[1])]


def _candidates(n_jobs):
    """(family, setting, estimator); families pick their best on the test set."""
    yield (
        "NW default (kernel=auto)",
        "LOO",
        NadarayaWatsonInterpolator(random_state=0, n_jobs=n_jobs),
    )
    yield (
        "NW auto, fixed kernel",
        "LOO",
        NadarayaWatsonInterpolator(kernel="fixed", random_state=0, n_jobs=n_jobs),
    )
    yield (
        "NW auto, adaptive kernel",
        "LOO",
        NadarayaWatsonInterpolator(kernel="adaptive", random_state=0, n_jobs=n_jobs),
    )
    for k in (5, 10, 20, 40):
        for weights in ("uniform", "distance"):
            yield (
                "KNeighborsRegressor (oracle)",
                f"k={k},{weights}",
                KNeighborsRegressor(
                    n_neighbors=k, weights=weights, algorithm="brute", n_jobs=n_jobs
                ),
            )


def main(kind: str, n_train: int, n_test: int, repeats: int, n_jobs) -> None:
    X, y = _data(kind, n_train, 11)
    Xt, yt = _data(kind, n_test, 12)
    print(
        f"{kind} latents R^{X.shape[1]}: train {n_train}, test {n_test}; "
        f"targets {TARGETS}"
    )
    cands = list(_candidates(n_jobs))
    times = {i: [] for i in range(len(cands))}
    scores, notes = {}, {}
    for _ in range(repeats):  # interleaved: the machine's noise hits all alike
        for i, (_, _, est) in enumerate(cands):
            pred, sec = _timed(est, X, y, Xt)
            times[i].append(sec)
            scores[i] = _r2(yt, pred)
            if isinstance(est, NadarayaWatsonInterpolator):
                notes[i] = (
                    f"k={est.n_neighbors_}, s={est.bandwidth_scale_}"
                    if est.kernel_ == "adaptive"
                    else f"eps={est.bandwidth_:.3g}"
                )
                if est.kernel_loo_errors_ is not None:
                    notes[i] = f"picked {est.kernel_}: {notes[i]}"
    best = {}
    for i, (family, setting, _) in enumerate(cands):
        mean_r2 = float(np.mean(scores[i]))
        if family not in best or mean_r2 > best[family][0]:
            best[family] = (
                mean_r2,
                notes.get(i, setting),
                scores[i],
                np.median(times[i]),
            )
    print(
        f"| method | setting | R^2 {TARGETS[0]} | R^2 {TARGETS[1]} | "
        f"seconds (median of {repeats}) |"
    )
    print("|---|---|---|---|---|")
    for family, (_, setting, r2, sec) in best.items():
        print(f"| {family} | {setting} | {r2[0]:.4f} | {r2[1]:.4f} | {sec:.1f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["cryoem", "toy"], default="cryoem")
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--n-test", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    main(args.data, args.n_train, args.n_test, args.repeats, args.n_jobs)
