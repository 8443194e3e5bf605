"""Low-frequency eigenpairs of a renormalised Laplacian (see :ref:`conv-eigen`).

All solvers work on the symmetric ``S`` of ``Laplacian`` (same spectrum ``mu`` as
the Markov matrix ``P``) and report the positive, scaled eigenvalues
``lambda = (4/epsilon**2) (1 - mu)`` of ``-L``, sorted ascending, with the
right eigenvectors ``phi = q~^-1/2 v`` of ``P`` normalised to unit Euclidean
norm and signed deterministically.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackNoConvergence, eigsh, lobpcg
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from .laplacian import Laplacian, graph_components
from .parallel import single_threaded_blas
from .symmetric import SymmetricCSR

EIGEN_SOLVERS = ("auto", "dense", "arpack", "lobpcg")
DENSE_MAX_SAMPLES = 500  # ARPACK is faster above this, and needs n > k + 1
LOBPCG_TOL = 1e-8
ARPACK_MAX_RESTARTS = 300
LOBPCG_MAX_ITER = 500
# eigen_tol="auto" from this many rows: float32 Lanczos + float64 Rayleigh-Ritz.
MIXED_MIN_SAMPLES = 5000
MIXED_TOL = 1e-6
MIXED_MAX_RESIDUAL = 1e-4


def deterministic_sign_flip(vectors: np.ndarray, axis: int = -2) -> np.ndarray:
    """Flip signs so the entry of largest absolute value of each vector is positive.

    Parameters
    ----------
    vectors : ndarray
        Vectors stored along ``axis``; e.g. ``(n, k)`` with ``axis=0`` (columns
        are vectors, the default ``-2`` for 2-D input) or batched ``(m, D, k)``
        with ``axis=-2``.
    axis : int, default=-2
        Axis that indexes the entries of each vector.

    Returns
    -------
    vectors : ndarray
        A new array of the same shape. Zero vectors are left unchanged.
    """
    vectors = np.asarray(vectors)
    idx = np.expand_dims(np.argmax(np.abs(vectors), axis=axis), axis)
    signs = np.sign(np.take_along_axis(vectors, idx, axis=axis))
    signs[signs == 0] = 1.0
    return vectors * signs


def laplacian_eigenpairs(
    lap: Laplacian,
    n_components: int,
    *,
    eigen_solver: str = "auto",
    tol: float | None = None,
    max_iter: int | None = None,
    random_state=None,
    n_jobs: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_components + 1`` lowest eigenpairs of ``-L`` (constant one included).

    Parameters
    ----------
    lap : Laplacian
        From ``renormalized_laplacian``.
    n_components : int
        Number of non-trivial eigenpairs; ``1 <= n_components <= n - 2``.
    eigen_solver : {"auto", "dense", "arpack", "lobpcg"}, default="auto"
        "dense": ``scipy.linalg.eigh`` on ``S.toarray()``; "arpack": ``eigsh``
        (largest algebraic) on ``S``; "lobpcg": smallest eigenpairs of the SPD
        shift ``3I - S``; "auto": dense for ``n <= 500``, else arpack. If ARPACK
        does not converge, lobpcg is tried with a ``ConvergenceWarning``.
    tol : float, default=None
        Solver tolerance: ARPACK relative accuracy (``None`` -> machine
        precision), LOBPCG residual norm (``None`` -> 1e-8). Ignored by "dense".
    max_iter : int, default=None
        Iteration cap: ARPACK restarts (default 300, then LOBPCG takes over),
        LOBPCG iterations (default 500).
    random_state : int, RandomState instance or None, default=None
        Seeds ARPACK's ``v0`` and LOBPCG's initial block.
    n_jobs : int, default=None
        Threads for ARPACK's sparse products (the same result for any value).

    Returns
    -------
    eigenvalues : ndarray of shape (n_components + 1,)
        ``lambda_k = (4/epsilon**2)(1 - mu_k)``, ascending, clipped at 0 and with
        ``eigenvalues[0] = 0`` exactly. ``mu_k = 1 - epsilon**2 lambda_k / 4``
        recovers the eigenvalues of ``P`` (e.g. for Nystrom).
    eigenvectors : ndarray of shape (n, n_components + 1)
        ``phi_k = q~^-1/2 v_k`` (right eigenvectors of ``P``), unit Euclidean
        norm, largest-|value| entry positive; column 0 is constant.
    """
    S = lap.symmetric
    n = S.shape[0]
    _check_n_components(n_components, n)
    k = n_components + 1
    solver = _resolve_solver(eigen_solver, n)
    rng = check_random_state(random_state)

    def solve(S_c, k_c, weights_c):
        if solver == "dense" or S_c.shape[0] <= max(DENSE_MAX_SAMPLES, k_c + 1):
            return _dense(S_c, k_c)
        with single_threaded_blas():
            return _iterative(solver, S_c, k_c, weights_c, tol, max_iter, rng, n_jobs)

    mu, V = _by_component(solve, S, k, lap.weights)
    return _finalize(mu, V, lap)


def _by_component(solve, S, k: int, weights: np.ndarray):
    """The ``k`` largest eigenpairs of ``S``, solved per connected component.

    ``S`` is block diagonal over the components, so its spectrum is the union
    of theirs, and each component has the eigenvalue 1 (eigenvector
    ``sqrt(q~)`` on it). Solved whole, those ``n_components`` equal
    eigenvalues stall ARPACK (a few isolated outliers cost minutes) and give
    an arbitrary basis of their eigenspace. Per component the top eigenpair is
    set exactly and ties go to the larger component.
    """
    n_cc, labels = graph_components(S)
    if n_cc == 1:
        return solve(S, k, weights)
    sizes = np.bincount(labels)
    by_size = np.argsort(-sizes, kind="stable")
    members = np.split(np.argsort(labels, kind="stable"), np.cumsum(sizes)[:-1])
    if n_cc >= k:  # the top k are the constants of the k largest components
        parts = [(1.0, members[c], None) for c in by_size[:k]]
    else:
        parts = []
        for c in by_size:
            idx = members[c]
            mu_c, V_c = solve(S[idx][:, idx], min(k, idx.size), weights[idx])
            top = int(np.argmax(mu_c))  # exactly 1, eigenvector sqrt(q~)
            parts.append((1.0, idx, None))
            parts += [(m, idx, V_c[:, j]) for j, m in enumerate(mu_c) if j != top]
    order = sorted(range(len(parts)), key=lambda i: -parts[i][0])[:k]  # stable
    mu, V = np.empty(k), np.zeros((S.shape[0], k))
    for col, i in enumerate(order):
        mu[col], idx, vec = parts[i]
        vec = np.sqrt(weights[idx]) if vec is None else vec
        V[idx, col] = vec / np.linalg.norm(vec)
    return mu, V


def _check_n_components(n_components: int, n: int) -> None:
    if not (isinstance(n_components, (int, np.integer)) and n_components >= 1):
        raise ValueError(
            f"n_components must be a positive integer, got {n_components!r}."
        )
    if n_components > n - 2:
        raise ValueError(
            f"n_components={n_components} needs n_components + 1 eigenpairs of a "
            f"graph with only n_samples={n} vertices (at most n_samples - 2 = "
            f"{n - 2} non-trivial ones). Reduce n_components or use more samples."
        )


def _resolve_solver(eigen_solver: str, n: int) -> str:
    if eigen_solver not in EIGEN_SOLVERS:
        raise ValueError(
            f"eigen_solver must be one of {EIGEN_SOLVERS}, got {eigen_solver!r}."
        )
    if eigen_solver == "auto":
        return "dense" if n <= DENSE_MAX_SAMPLES else "arpack"
    return eigen_solver


def _iterative(solver, S, k, weights, tol, max_iter, rng, n_jobs):
    if solver == "lobpcg":
        return _lobpcg(S, k, weights, tol, max_iter, rng)
    try:
        return _arpack(S, k, tol, max_iter, rng, n_jobs)
    except ArpackNoConvergence:
        warnings.warn(
            "ARPACK did not converge; falling back to eigen_solver='lobpcg'. "
            "Increase max_iter or use eigen_solver='dense' for small n.",
            ConvergenceWarning,
            stacklevel=4,
        )
        return _lobpcg(S, k, weights, tol, None, rng)


def _dense(S: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = S.shape[0]
    return scipy.linalg.eigh(S.toarray(), subset_by_index=[n - k, n - 1])


def _arpack(S, k, tol, max_iter, rng, n_jobs) -> tuple[np.ndarray, np.ndarray]:
    v0 = rng.uniform(-1.0, 1.0, S.shape[0])
    # Bounded restarts: a graph with many components (a cluster of eigenvalues
    # at 1) can otherwise keep ARPACK busy for hours; LOBPCG takes over.
    max_iter = ARPACK_MAX_RESTARTS if max_iter is None else max_iter
    if tol is None and S.shape[0] >= MIXED_MIN_SAMPLES:
        out = _arpack_mixed(S, k, max_iter, v0, n_jobs)
        if out is not None:
            return out
    tol = 0.0 if tol is None else tol
    with SymmetricCSR(S, np.float64, n_jobs) as op:
        return eigsh(op, k=k, which="LA", v0=v0, tol=tol, maxiter=max_iter)


def _arpack_mixed(S, k, max_iter, v0, n_jobs):
    """float32 Lanczos, then one float64 Rayleigh-Ritz step on its Ritz vectors.

    The sparse products are memory-bound, so float32 values in half storage
    (:class:`SymmetricCSR`) make each ARPACK iteration ~2.6x cheaper than
    scipy's float32 CSR on 2 threads (1.5x on one); the Rayleigh-Ritz step on the
    float64 ``S`` gives eigenvalues accurate to the square of the vectors'
    error (~1e-12) and residuals ``||S v - mu v||`` of ~1e-6. None (the
    caller then runs float64 ARPACK) when a residual exceeds
    ``MIXED_MAX_RESIDUAL``.
    """
    with SymmetricCSR(S, np.float32, n_jobs) as op:
        _, V = eigsh(
            op,
            k=k,
            which="LA",
            v0=v0.astype(np.float32),
            tol=MIXED_TOL,
            maxiter=max_iter,
        )
    V = np.linalg.qr(V.astype(np.float64))[0]
    SV = S @ V
    G = V.T @ SV
    mu, Y = np.linalg.eigh(0.5 * (G + G.T))
    V, SV = V @ Y, SV @ Y
    residual = np.linalg.norm(SV - V * mu, axis=0)
    if not residual.max() <= MIXED_MAX_RESIDUAL:
        return None
    return mu, V


def _lobpcg(S, k, weights, tol, max_iter, rng) -> tuple[np.ndarray, np.ndarray]:
    n = S.shape[0]
    tol = LOBPCG_TOL if tol is None else tol
    max_iter = LOBPCG_MAX_ITER if max_iter is None else max_iter
    # Eigenvalues of S lie in [-1, 1], so 3I - S is SPD with spectrum in [2, 4];
    # its smallest eigenpairs are the largest of S (nu = 3 - mu).
    A = (3.0 * sp.identity(n, format="csr") - S).tocsr()
    block = min(n, 5 + 2 * k)
    X0 = rng.standard_normal((n, block))
    # The top eigenvector of S is known exactly (sqrt(q~)); seeding it speeds up
    # convergence and pins the constant mode.
    X0[:, 0] = np.sqrt(weights)
    with warnings.catch_warnings():
        # lobpcg warns for small n (falls back to eigh) and on non-convergence;
        # we check the residuals ourselves below.
        warnings.simplefilter("ignore", UserWarning)
        nu, V = lobpcg(A, X0, largest=False, tol=tol, maxiter=max_iter)
    order = np.argsort(nu)[:k]
    mu, V = 3.0 - nu[order], V[:, order]
    residual = np.linalg.norm(S @ V - V * mu, axis=0) / np.linalg.norm(V, axis=0)
    if residual.max() > 10 * tol:
        warnings.warn(
            f"LOBPCG did not converge in {max_iter} iterations (max residual "
            f"{residual.max():.2e} > tol={tol:.1e}). Increase max_iter, or use "
            "eigen_solver='arpack' or 'dense'.",
            ConvergenceWarning,
            stacklevel=5,
        )
    return mu, V


def _finalize(mu, V, lap: Laplacian) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-mu, kind="stable")
    mu, V = mu[order], V[:, order]
    eigenvalues = np.maximum(lap.scale * (1.0 - mu), 0.0)
    eigenvalues[0] = 0.0
    phi = V / np.sqrt(lap.weights)[:, None]
    phi /= np.linalg.norm(phi, axis=0)
    return eigenvalues, deterministic_sign_flip(phi, axis=0)
