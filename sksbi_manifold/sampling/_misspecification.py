"""Per-row misspecification: conformal p-values against a reference set.

Amortized inference is trusted where the experimental latents look like the
simulated ones. For each row ``x`` the nonconformity score is its distance to
the ``k``-th nearest of the *proper* reference rows; a held-out calibration
part of the reference gets the same score, and the conformal p-value

    p(x) = (1 + #{calibration scores >= s(x)}) / (1 + n_calibration)

is uniform (up to ties) for rows drawn like the reference, whatever its
distribution: flagging ``p <= alpha`` flags at most a share ``alpha`` of
them. Rows the simulator does not explain get small p-values.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from .._compat import Interval, validate_params
from .._geometry.distances import knn_distances

__all__ = ["MisspecificationResult", "misspecification_score"]


@dataclass
class MisspecificationResult:
    """Conformal misspecification p-values of the rows of ``X``.

    Attributes
    ----------
    p_value : ndarray of shape (n_samples,)
        Conformal p-value of each row (small: unlike the reference).
    score : ndarray of shape (n_samples,)
        Distance to the ``n_neighbors``-th nearest proper reference row.
    calibration_scores : ndarray of shape (n_calibration,)
        The same score of the held-out reference rows, ascending.
    n_neighbors : int
    """

    p_value: np.ndarray
    score: np.ndarray
    calibration_scores: np.ndarray
    n_neighbors: int

    def flagged(self, alpha: float = 0.05) -> np.ndarray:
        """Boolean mask of the rows with ``p_value <= alpha``."""
        return self.p_value <= alpha

    def __str__(self) -> str:
        shares = ", ".join(
            f"{np.mean(self.flagged(a)):.1%} at alpha={a:g}" for a in (0.01, 0.05)
        )
        return (
            f"{self.p_value.size} rows against {self.calibration_scores.size} "
            f"calibration rows ({self.n_neighbors}-NN distance): flagged {shares}"
        )


@validate_params(
    {
        "X_reference": ["array-like"],
        "X": ["array-like"],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "calibration_size": [
            Interval(Real, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def misspecification_score(
    X_reference,
    X,
    *,
    n_neighbors: int = 10,
    calibration_size=0.2,
    random_state=None,
    n_jobs: int | None = None,
) -> MisspecificationResult:
    """How unusual each row of X is under the reference set, as a p-value.

    Parameters
    ----------
    X_reference : array-like of shape (n_reference, n_features)
        Rows the model is trusted on (e.g. simulated latents).
    X : array-like of shape (n_samples, n_features)
        Rows to check (e.g. experimental latents).
    n_neighbors : int, default=10
        Rank ``k`` of the neighbour whose distance is the score (larger: less
        noisy scores, coarser resolution).
    calibration_size : float in (0, 1) or int, default=0.2
        Share (or number) of the reference rows held out to calibrate; the
        rest are the rows distances are measured to.
    random_state : int, RandomState instance or None, default=None
        Draws the calibration rows.
    n_jobs : int, default=None
        Parallel distance blocks.

    Returns
    -------
    result : MisspecificationResult
        ``p_value``, ``score``, ``calibration_scores``; ``flagged(alpha)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold import misspecification_score
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.normal(size=(2000, 5))
    >>> X = np.vstack([rng.normal(size=(200, 5)), rng.normal(size=(50, 5)) + 4])
    >>> res = misspecification_score(reference, X, random_state=0)
    >>> share = float(res.flagged(0.05)[:200].mean())  # like the reference
    >>> bool(share < 0.1)  # ~5 % on average over calibration draws
    True
    >>> float(res.flagged(0.05)[200:].mean())  # shifted: all flagged
    1.0
    """
    X_reference = check_array(X_reference, dtype=[np.float64, np.float32])
    X = check_array(X, dtype=[np.float64, np.float32])
    if X.shape[1] != X_reference.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but X_reference has {X_reference.shape[1]}."
        )
    n_cal, n_fit = _split_sizes(X_reference.shape[0], calibration_size, n_neighbors)
    order = check_random_state(random_state).permutation(X_reference.shape[0])
    fit, cal = X_reference[order[:n_fit]], X_reference[order[n_fit:]]

    def scores(Q):
        return knn_distances(Q, n_neighbors, fit, n_jobs=n_jobs)[:, -1]

    calibration = np.sort(scores(cal))
    s = scores(X)
    # number of calibration scores >= s, from the sorted scores
    at_least = n_cal - np.searchsorted(calibration, s, side="left")
    p_value = (1.0 + at_least) / (1.0 + n_cal)
    return MisspecificationResult(p_value, s, calibration, int(n_neighbors))


def _split_sizes(n: int, calibration_size, n_neighbors: int) -> tuple[int, int]:
    """(calibration rows, proper reference rows), checked."""
    if isinstance(calibration_size, Integral):
        n_cal = int(calibration_size)
    else:
        n_cal = round(calibration_size * n)
    n_fit = n - n_cal
    if n_cal < 19 or n_fit < n_neighbors:
        raise ValueError(
            f"misspecification_score: {n} reference rows give {n_cal} calibration "
            f"rows and {n_fit} proper rows; it needs at least 19 calibration rows "
            f"(p-values down to 0.05) and n_neighbors={n_neighbors} proper rows. "
            "Pass more reference rows or another calibration_size."
        )
    return n_cal, n_fit
