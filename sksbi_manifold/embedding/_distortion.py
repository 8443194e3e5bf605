"""Local distortion of an embedding, read off its Riemannian metric.

The paper's Discussion lists "measuring local distortion" as future work. The
dual metric ``H_i`` of an embedding (see :ref:`conv-metric`) approximates
``J_i J_i^T``, with ``J_i`` the Jacobian of the map from the manifold to the
embedding space in an orthonormal tangent frame. The square roots of its
``d`` leading eigenvalues are the singular values ``sigma_i1 >= ... >=
sigma_id`` of ``J_i``: how much the embedding stretches each tangent direction
at row ``i``. An isometry has all of them 1. Two scalars per row summarise
them (:ref:`conv-distortion`):

    log_condition_i = log(sigma_i1 / sigma_id)   (anisotropy; scale free)
    log_volume_i    = sum_k log sigma_ik         (area change; 0 for isometry)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_array, check_is_fitted

from .._compat import Interval, validate_params
from .._geometry.metric import metric_eigen, riemannian_metric
from .._validation import fitted_kernel, inner_chain

__all__ = ["DistortionResult", "local_distortion"]


@dataclass
class DistortionResult:
    """Per-row distortion of an embedding.

    Attributes
    ----------
    singular_values : ndarray of shape (n_samples, intrinsic_dim)
        ``sigma_ik``, descending per row: stretch of each tangent direction.
    log_condition : ndarray of shape (n_samples,)
        ``log(sigma_i1 / sigma_id)``; 0 where the embedding is conformal,
        ``inf`` where the metric is degenerate (``sigma_id = 0``).
    log_volume : ndarray of shape (n_samples,)
        ``sum_k log sigma_ik``; 0 for an isometry, ``-inf`` where degenerate.
        Depends on the global scale of the embedding (unit-norm eigenvectors
        have tiny metrics): compare its spread across rows, or across
        embeddings of the same scale.
    intrinsic_dim : int
    """

    singular_values: np.ndarray
    log_condition: np.ndarray
    log_volume: np.ndarray
    intrinsic_dim: int

    def summary(self) -> dict:
        """Median and 10-90 % range of both measures over the finite rows."""
        out = {}
        for name in ("log_condition", "log_volume"):
            values = getattr(self, name)
            finite = values[np.isfinite(values)]
            q10, q50, q90 = (
                np.quantile(finite, [0.1, 0.5, 0.9]) if finite.size else [np.nan] * 3
            )
            out[name] = {"median": float(q50), "q10": float(q10), "q90": float(q90)}
        out["n_degenerate"] = int(np.count_nonzero(~np.isfinite(self.log_condition)))
        return out

    def __str__(self) -> str:
        s = self.summary()
        lines = [
            f"local distortion (d = {self.intrinsic_dim}, "
            f"{self.log_condition.size} rows)"
        ]
        for name in ("log_condition", "log_volume"):
            q = s[name]
            lines.append(
                f"  {name:>13}: median {q['median']:.3g}  "
                f"(10-90 %: {q['q10']:.3g} .. {q['q90']:.3g})"
            )
        if s["n_degenerate"]:
            lines.append(f"  degenerate rows (sigma_d = 0): {s['n_degenerate']}")
        return "\n".join(lines)


def _laplacian_of(estimator):
    """The scaled Laplacian of the estimator's fitted kernel."""
    L = fitted_kernel(estimator, "local_distortion").laplacian
    if L is None:
        raise ValueError(
            f"local_distortion needs the Laplacian of the kernel behind "
            f"{type(estimator).__name__}, which kept none (with "
            "store_graph=False the Laplacian is not kept: refit with "
            "store_graph=True)."
        )
    return L


def _default_dim(estimator, n_columns: int) -> int:
    """``intrinsic_dim`` of the first estimator down the chain that has one."""
    for current in inner_chain(estimator):
        d = getattr(current, "intrinsic_dim", None)
        if isinstance(d, Integral):
            return min(int(d), n_columns)
        dims = getattr(current, "intrinsic_dim_", None)
        if dims is not None and np.size(dims):
            return min(int(np.max(dims)), n_columns)
    return n_columns


@validate_params(
    {
        "estimator": [object],
        "intrinsic_dim": [Interval(Integral, 1, None, closed="left"), None],
        "embedding": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def local_distortion(
    estimator, intrinsic_dim: int | None = None, *, embedding=None
) -> DistortionResult:
    """How far an embedding is from an isometry at each training row.

    The singular values of the embedding's Jacobian on the tangent space,
    from the ``intrinsic_dim`` leading eigenvalues of the dual Riemannian
    metric computed with the estimator's scaled Laplacian
    (:func:`riemannian_metric`), summarised per row as the log condition
    number and the log volume change (:ref:`conv-distortion`).

    Parameters
    ----------
    estimator : fitted estimator
        A DiffusionMapsGC, IESSelector or RiemannianRelaxation (anything with
        ``embedding_`` whose ``embedding_estimator_`` chain reaches a
        ``laplacian_``).
    intrinsic_dim : int or None, default=None
        ``d``. None: the ``intrinsic_dim`` of the first estimator down the
        chain that sets one (or its estimate ``intrinsic_dim_``), else the
        number of embedding columns.
    embedding : array-like of shape (n_samples, s) or None, default=None
        Coordinates of the training rows to assess instead of the
        estimator's ``embedding_`` (e.g. the true parameters, or another
        method's output on the same rows).

    Returns
    -------
    result : DistortionResult
        ``singular_values``, ``log_condition``, ``log_volume`` per row;
        printable, with :meth:`DistortionResult.summary`.

    Warns
    -----
    UserWarning
        Rows where the metric has fewer than ``d`` positive eigenvalues (the
        embedding folds the tangent space there): their ``log_condition`` is
        ``inf`` and ``log_volume`` ``-inf``.

    Notes
    -----
    Rows on the boundary of the manifold have an underestimated metric
    (:ref:`conv-metric`), so they show distortion even for an isometry.

    Examples
    --------
    A strip embedded by its own coordinates is an isometry; stretching one
    axis by 2 gives a log condition and a log volume of log 2 = 0.69:

    >>> import numpy as np
    >>> from sksbi_manifold import DiffusionMapsGC, local_distortion
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform([0, 0], [4, 1], size=(4000, 2))
    >>> dm = DiffusionMapsGC(n_components=2, epsilon=0.08).fit(X)
    >>> inside = (np.abs(X - [2, 0.5]) < [1.5, 0.25]).all(axis=1)
    >>> flat = local_distortion(dm, 2, embedding=X)
    >>> round(float(np.median(flat.log_volume[inside])), 1)
    0.0
    >>> stretched = local_distortion(dm, 2, embedding=X * [2, 1])
    >>> round(float(np.median(stretched.log_condition[inside])), 2)
    0.69
    """
    check_is_fitted(estimator, "embedding_")
    L = _laplacian_of(estimator)
    Y = estimator.embedding_ if embedding is None else embedding
    Y = check_array(Y, dtype=np.float64, ensure_2d=False)
    Y = Y.reshape(Y.shape[0], -1)
    if Y.shape[0] != L.shape[0]:
        raise ValueError(
            f"embedding has {Y.shape[0]} rows but the estimator was fitted on "
            f"{L.shape[0]}: pass coordinates of its training rows."
        )
    d = _default_dim(estimator, Y.shape[1]) if intrinsic_dim is None else intrinsic_dim
    if d > Y.shape[1]:
        raise ValueError(
            f"intrinsic_dim={d} exceeds the {Y.shape[1]} embedding columns; a "
            "d-dimensional tangent space needs at least d coordinates."
        )
    h, _ = metric_eigen(riemannian_metric(L, Y), d)
    return _summarise(h, d)


def _summarise(h: np.ndarray, d: int) -> DistortionResult:
    """Singular values, log condition and log volume from the top-d eigenvalues."""
    sigma = np.sqrt(np.clip(h, 0.0, None))
    degenerate = sigma[:, -1] <= np.finfo(np.float64).tiny
    if degenerate.any():
        warnings.warn(
            f"local_distortion: {int(degenerate.sum())} of {h.shape[0]} rows "
            f"have fewer than {d} positive metric eigenvalues (the embedding "
            "folds or collapses the tangent space there); their log_condition "
            "is inf and log_volume -inf. Fewer intrinsic_dim, or more "
            "embedding coordinates, may be what the data support.",
            UserWarning,
            stacklevel=3,
        )
    with np.errstate(divide="ignore"):
        log_sigma = np.log(sigma)
    log_condition = log_sigma[:, 0] - log_sigma[:, -1]
    log_condition[degenerate] = np.inf
    return DistortionResult(sigma, log_condition, log_sigma.sum(axis=1), d)
