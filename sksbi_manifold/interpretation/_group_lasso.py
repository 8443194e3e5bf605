"""Group lasso of TSLasso and the search for exactly ``d`` active groups.

See :ref:`conv-tslasso`. For sample points ``i`` with projected, normalised
gradients ``X_i`` (d x p), minimise over ``B_i`` (p x d)

    J(B; lam) = 1/2 sum_i ||I_d - X_i B_i||_F^2 + lam sum_k ||B_{.k.}||_F,

one group per dictionary function ``k`` pooled over all points and columns,
by FISTA with backtracking; then bisect ``lam`` in ``[0, lam_max]`` until
exactly ``d`` groups are non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._geometry.parallel import single_threaded_blas

_MAX_HALVINGS = 1000
_SLACK = 1e-13
_TINY = 1e-300
# More than d groups active at (1 - _TIE_RTOL) * (smallest lam with fewer than
# d groups) after the search: the count jumps over d there, a tie.
_TIE_RTOL = 1e-4


def lambda_max(X: np.ndarray) -> float:
    """Smallest ``lam`` for which ``B = 0`` is optimal (with target ``I``).

    Parameters
    ----------
    X : ndarray of shape (n, d, p)

    Returns
    -------
    lam_max : float
        ``max_k sqrt(sum_i ||X_i[:, k]||^2)``.
    """
    return float(np.sqrt((X**2).sum(axis=(0, 1)).max()))


def group_norms(B: np.ndarray) -> np.ndarray:
    """``||B_{.k.}||_F`` for each group ``k``; ``B`` of shape (n, p, d)."""
    return np.sqrt(np.einsum("ikc,ikc->k", B, B))


def _prox(V: np.ndarray, threshold: float) -> np.ndarray:
    """Group soft-thresholding ``B_k <- B_k max(0, 1 - threshold / ||B_k||)``."""
    norms = group_norms(V)
    scale = np.zeros_like(norms)
    pos = norms > threshold
    scale[pos] = 1.0 - threshold / norms[pos]
    return V * scale[None, :, None]


def fista(
    X: np.ndarray,
    lam: float,
    B0: np.ndarray,
    *,
    lr: float = 100.0,
    max_iter: int = 500,
    tol: float = 1e-14,
) -> tuple[np.ndarray, int]:
    """Accelerated proximal gradient with backtracking for one ``lam``.

    Iteration ``t``: ``Z = B_t + t/(t+3) (B_t - B_{t-1})``, then
    ``B_{t+1} = prox(Z - eta grad f(Z), eta lam)`` with ``eta`` halved until
    ``f(B_{t+1}) <= f(Z) + <grad f(Z), B_{t+1} - Z> + ||B_{t+1} - Z||^2/(2 eta)``.
    The residual ``X B - I`` is affine in ``B``, so the residual at ``Z`` is
    the same combination of the residuals of the iterates: two batched
    products per iteration.

    Parameters
    ----------
    X : ndarray of shape (n, d, p)
        Projected, normalised gradients.
    lam : float
        Group penalty.
    B0 : ndarray of shape (n, p, d)
        Starting point (warm start).
    lr : float, default=100.0
        Initial step; halved until the majorisation holds and carried over
        between iterations (non-increasing within one ``lam``).
    max_iter : int, default=500
        Maximum number of iterations.
    tol : float, default=1e-14
        Stop when ``|J_t - J_{t-1}| <= tol * |J_t|``.

    Returns
    -------
    B : ndarray of shape (n, p, d)
    n_iter : int
    """
    X = np.ascontiguousarray(X)
    Xt = np.ascontiguousarray(np.swapaxes(X, 1, 2))  # (n, p, d)
    eye = np.eye(X.shape[1])

    def residual(B):
        R = X @ B
        R -= eye
        return R

    B = B_prev = B0
    R_B = R_prev = residual(B0)
    eta = lr
    J_prev = np.inf
    n_iter = 0
    for t in range(max_iter):
        n_iter = t + 1
        beta = t / (t + 3.0)
        Z = B + beta * (B - B_prev)
        R_Z = (1.0 + beta) * R_B - beta * R_prev
        fZ = 0.5 * np.vdot(R_Z, R_Z)
        G = Xt @ R_Z
        for _ in range(_MAX_HALVINGS):
            B_new = _prox(Z - eta * G, eta * lam)
            step = B_new - Z
            R_new = residual(B_new)
            f_new = 0.5 * np.vdot(R_new, R_new)
            bound = fZ + np.vdot(G, step) + np.vdot(step, step) / (2.0 * eta)
            # Slack for rounding: near convergence f_new and bound agree to
            # machine precision and must not halve eta forever.
            if f_new <= bound + _SLACK * (abs(fZ) + _TINY):
                break
            eta *= 0.5
        B_prev, B = B, B_new
        R_prev, R_B = R_B, R_new
        J = f_new + lam * group_norms(B).sum()
        if abs(J - J_prev) <= tol * abs(J):
            break
        J_prev = J
    return B, n_iter


@dataclass
class LassoPath:
    """Record of one lambda search (one TSLasso repeat).

    Attributes
    ----------
    lambdas : ndarray of shape (n_probes,)
        Every probed ``lam``, ascending.
    coef_norms : ndarray of shape (n_probes, p)
        Group norms ``||B_{.k.}||_F`` at each probe.
    coef_mean_norms : ndarray of shape (n_probes, p)
        Mean over points of ``||B_i[k, :]||`` (Appendix Figure 6's y-axis).
    n_active : ndarray of shape (n_probes,)
        Number of groups with norm above ``select_tol``.
    lambda_max : float
        Smallest ``lam`` giving ``B = 0``.
    lambda_ : float
        The ``lam`` whose solution gave the selection (NaN on failure).
    selected : tuple of int or None
        Sorted indices of the selected functions.
    status : {"exact", "fallback", "failed"}
        ``"exact"``: a probe had exactly ``d`` active groups; ``"fallback"``:
        none had, the ``d`` largest groups at the largest probe with more
        than ``d`` active groups were taken; ``"failed"``: no selection.
    tie : bool
        The search failed because the active count jumps over ``d``: more
        than ``d`` groups are active at ``(1 - 1e-4)`` times the smallest
        ``lam`` with fewer than ``d`` (several functions enter together).
    n_iter : ndarray of shape (n_probes,)
        FISTA iterations per probe (the direct solve at ``lam = 0`` counts
        as one).
    """

    lambdas: np.ndarray
    coef_norms: np.ndarray
    coef_mean_norms: np.ndarray
    n_active: np.ndarray
    lambda_max: float
    lambda_: float
    selected: tuple | None
    status: str
    tie: bool
    n_iter: np.ndarray = field(repr=False)


def select_exactly(
    X: np.ndarray,
    n_select: int,
    *,
    lr: float = 100.0,
    max_iter: int = 500,
    tol: float = 1e-14,
    max_search: int = 20,
    select_tol: float = 1e-8,
    fallback: str = "largest_norm",
    path_points: int = 0,
) -> LassoPath:
    """Bisect the group penalty until exactly ``n_select`` groups are non-zero.

    As in :ref:`conv-tslasso`: solve at ``lam = 0`` and at ``lam_max``; keep ``lo``
    (more than ``n_select`` groups) and ``hi`` (fewer); probe
    ``(max lo + min hi) / 2``, warm-started from the solution at ``max lo``,
    at most ``max_search`` times, stopping at the first exact count. If none
    is found, one more probe just below ``min hi`` tells a tie (the count
    jumps over ``n_select`` there) from a search that was too short.

    Parameters
    ----------
    X : ndarray of shape (n, d, p)
        Projected, normalised gradients.
    n_select : int
        Number of groups wanted.
    lr, max_iter, tol : see :func:`fista`.
    max_search : int, default=20
        Probes after ``0`` and ``lam_max``.
    select_tol : float, default=1e-8
        A group is active when its norm exceeds this.
    fallback : {"largest_norm", "fail"}, default="largest_norm"
        What to do when no probe gives exactly ``n_select`` groups.
    path_points : int, default=0
        After the search, also solve at this many ``lam`` in ``(0,
        lam_max)``, ``lam_max (t / (path_points + 1))**2`` for ``t = 1, 2,
        ...`` (denser near 0, where the norms change fastest), each
        warm-started from the nearest smaller probe and run for a fifth of
        ``max_iter``, so the returned path can be drawn (the search alone
        leaves a few points). They never change the selection.

    Notes
    -----
    At ``lam = 0`` the problem is least squares per point, solved exactly by
    the minimum-norm solution ``B_i = pinv(X_i)`` (the reference runs FISTA
    from tiny random values, which converges towards the same point); the
    search is therefore deterministic. At ``lam >= lam_max`` the solution is
    exactly ``B = 0`` and is not iterated: with ties at ``lam_max`` FISTA's
    objective-based stop leaves groups at ~1e-7 that would count as active.

    Returns
    -------
    path : LassoPath
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    with single_threaded_blas():  # tiny products: no BLAS threads
        search = _Search(X, n_select, lr, max_iter, tol, select_tol)
        search.bisect(max_search)
        tie = search.check_tie()
        outcome = search.outcome(fallback)
        search.trace(path_points)
        return search.path(*outcome, tie)


class _Search:
    """The probes of one lambda search of :func:`select_exactly`.

    ``lo`` holds the probed ``lam`` with more than ``n_select`` active
    groups, ``hi`` those with fewer, ``hit`` one with exactly ``n_select``.
    """

    def __init__(self, X, n_select, lr, max_iter, tol, select_tol):
        self.X, self.n_select, self.select_tol = X, n_select, select_tol
        self.fista_kw = {"lr": lr, "max_iter": max_iter, "tol": tol}
        self.lam_top = lambda_max(X)
        self.probes: dict[float, tuple] = {}
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.hit = None

    def solve(self, lam: float, B_init: np.ndarray | None, max_iter=None) -> int:
        """Fit at ``lam``, record the probe, return its active-group count."""
        X = self.X
        kw = self.fista_kw | ({} if max_iter is None else {"max_iter": max_iter})
        if lam == 0.0:  # minimum-norm least squares, exact
            B, it = np.linalg.pinv(X), 1  # one direct solve
        elif lam >= self.lam_top:  # B = 0 is optimal (no slow crawl to zero)
            B, it = np.zeros_like(np.swapaxes(X, 1, 2)), 1
        else:
            B, it = fista(X, lam, B_init, **kw)
        norms = group_norms(B)
        mean_norms = np.sqrt(np.einsum("ikc,ikc->ik", B, B)).mean(axis=0)
        count = int((norms > self.select_tol).sum())
        self.probes[lam] = (B, norms, mean_norms, count, it)
        return count

    def place(self, lam: float, count: int) -> None:
        if count == self.n_select:
            self.hit = lam
        elif count > self.n_select:
            self.lo.append(lam)
        else:
            self.hi.append(lam)

    def probe_warm(self, lam: float) -> None:
        """Probe ``lam`` warm-started at the largest ``lam`` with too many groups."""
        self.place(lam, self.solve(lam, self.probes[max(self.lo)][0]))

    def bisect(self, max_search: int) -> None:
        """``0``, then ``lam_max``, then up to ``max_search`` bisection probes."""
        self.place(0.0, self.solve(0.0, None))
        if self.hit is None and self.lo and self.lam_top > 0:
            self.place(self.lam_top, self.solve(self.lam_top, None))
            for _ in range(max_search):
                if self.hit is not None:
                    break
                self.probe_warm(0.5 * (max(self.lo) + min(self.hi)))

    def trace(self, n_points: int) -> None:
        """Solve at ``n_points`` more ``lam`` in ``(0, lam_max)`` for the path
        (not placed: the selection is the search's)."""
        if n_points < 1 or not self.lam_top > 0:
            return
        t = np.arange(1, n_points + 1) / (n_points + 1)
        # drawn, not selected on: a fifth of the iterations from a warm start
        max_iter = max(1, self.fista_kw["max_iter"] // 5)
        for lam in self.lam_top * t**2:
            if any(abs(lam - v) <= 1e-12 * lam for v in self.probes):
                continue  # a search probe: keep its fully converged solution
            below = max(v for v in self.probes if v < lam)
            self.solve(float(lam), self.probes[below][0], max_iter)

    def check_tie(self) -> bool:
        """Does the count jump over ``n_select`` just below ``min(hi)``?"""
        if self.hit is not None or not (self.lo and self.hi):
            return False
        lam = min(self.hi) * (1.0 - _TIE_RTOL)
        if lam > max(self.lo):
            self.probe_warm(lam)
        return self.hit is None and max(self.lo) >= lam

    def outcome(self, fallback: str) -> tuple:
        """``(status, lam, selected)``: exact, fallback or failed."""
        if self.hit is not None:
            norms = self.probes[self.hit][1]
            return (
                "exact",
                self.hit,
                tuple(np.flatnonzero(norms > self.select_tol).tolist()),
            )
        if fallback == "largest_norm" and self.lo:
            lam = max(self.lo)
            top = np.argsort(-self.probes[lam][1], kind="stable")[: self.n_select]
            return "fallback", lam, tuple(sorted(top.tolist()))
        return "failed", float("nan"), None

    def path(self, status: str, lam_sel: float, selected, tie: bool) -> LassoPath:
        lams = np.array(sorted(self.probes))
        rec = [self.probes[lam] for lam in lams]
        return LassoPath(
            lambdas=lams,
            coef_norms=np.array([r[1] for r in rec]),
            coef_mean_norms=np.array([r[2] for r in rec]),
            n_active=np.array([r[3] for r in rec]),
            lambda_max=self.lam_top,
            lambda_=float(lam_sel),
            selected=selected,
            status=status,
            tie=tie,
            n_iter=np.array([r[4] for r in rec]),
        )
