"""Smoothness of functions over the data manifold: Dirichlet energies.

The paper's Discussion names "measuring the smoothness of functions over the
data manifold (... straightforward via the Laplacian operator)" as future
work. For a fitted Diffusion Maps Laplacian ``L = (4/epsilon**2)(P - I)``,
reversible with respect to the renormalised degrees ``pi = q~``, the energy of
a function ``f`` on the training rows is the Rayleigh quotient

    E(f) = -<f, L f>_pi / <f, f>_pi,   f centred: <f, 1>_pi = 0,

in the same Laplace-Beltrami units as ``eigenvalues_``: a Diffusion Maps
eigenvector has exactly its eigenvalue, a first-shell harmonic on the unit
sphere ~2. Its permutation p-value is the share of shuffles of the same
values over the rows with an energy at most as low (see
:ref:`conv-smoothness`).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from .._compat import Interval, validate_params
from .._validation import fitted_kernel
from ._nadaraya_watson import _target_names

__all__ = ["SmoothnessResult", "function_smoothness"]

# Permutations multiplied by the Laplacian at once (columns of one product).
_PERMUTATION_BLOCK = 64


@dataclass
class SmoothnessResult:
    """Dirichlet energies of functions over a fitted manifold.

    Attributes
    ----------
    names : ndarray of str
        One per column of ``F``.
    energy : ndarray of shape (n_functions,)
        ``-<f, L f>_pi / <f, f>_pi`` of each centred column (Laplace-Beltrami
        units: ``1/length**2`` of the data).
    p_value : ndarray of shape (n_functions,)
        ``(1 + #{shuffles with energy <= E}) / (1 + n_permutations)``; NaN
        with ``n_permutations=0``.
    null_energy : ndarray of shape (n_functions,)
        Median energy of the shuffled columns (white noise on the graph).
    n_permutations : int
    """

    names: np.ndarray
    energy: np.ndarray
    p_value: np.ndarray
    null_energy: np.ndarray
    n_permutations: int

    def __str__(self) -> str:
        width = max([8] + [len(str(n)) for n in self.names])
        lines = [f"{'function':>{width}}  {'energy':>10}  {'shuffled':>10}  p-value"]
        for name, e, e0, p in zip(
            self.names, self.energy, self.null_energy, self.p_value
        ):
            lines.append(f"{name:>{width}}  {e:10.4g}  {e0:10.4g}  {p:.3g}")
        return "\n".join(lines)


def _laplacian_of(estimator):
    """``(L, pi)`` of the estimator's fitted kernel (``kernel_`` protocol)."""
    try:
        kernel = fitted_kernel(estimator, "function_smoothness")
    except ValueError:
        kernel = None
    if (
        kernel is not None
        and kernel.laplacian is not None
        and kernel.weights is not None
    ):
        return kernel.laplacian, np.asarray(kernel.weights, dtype=np.float64)
    raise ValueError(
        f"function_smoothness needs a fitted estimator exposing laplacian_ and "
        f"laplacian_weights_ (a DiffusionMapsGC, or one whose "
        f"embedding_estimator_ chain reaches it); {type(estimator).__name__} "
        "has none (fit it first; with store_graph=False the Laplacian is not "
        "kept)."
    )


def _energies(L, pi: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Rayleigh quotients of the pi-centred columns of F."""
    Fc = F - (pi @ F) / pi.sum()
    norm = pi @ (Fc * Fc)
    return -np.einsum("i,ij,ij->j", pi, Fc, L @ Fc) / norm


@validate_params(
    {
        "estimator": [object],
        "F": ["array-like"],
        "n_permutations": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def function_smoothness(
    estimator, F, *, n_permutations: int = 200, random_state=None
) -> SmoothnessResult:
    """Dirichlet energy of each column of F over a fitted manifold, with p-values.

    Parameters
    ----------
    estimator : fitted estimator
        Exposes ``laplacian_`` and ``laplacian_weights_`` (DiffusionMapsGC),
        directly or down its ``embedding_estimator_`` chain (IESSelector,
        RiemannianRelaxation).
    F : array-like of shape (n_samples, n_functions) or (n_samples,)
        Function values on the estimator's training rows (e.g. theta, SNR).
        DataFrame columns name the functions.
    n_permutations : int, default=200
        Shuffles of each column for the p-value (0: none).
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffles.

    Returns
    -------
    result : SmoothnessResult
        ``energy``, ``p_value``, ``null_energy``, ``names``; printable.

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold import DiffusionMapsGC, function_smoothness
    >>> t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    >>> X = np.c_[np.cos(t), np.sin(t)]
    >>> dm = DiffusionMapsGC(n_components=2, epsilon=0.1).fit(X)
    >>> noise = np.random.default_rng(0).normal(size=400)
    >>> res = function_smoothness(dm, np.c_[np.cos(t), np.cos(2 * t), noise],
    ...                           n_permutations=50, random_state=0)
    >>> np.round(res.energy[:2], 2)  # the circle's eigenvalues 1 and 4
    array([1.  , 3.99])
    >>> res.p_value.round(2)  # smooth: the least of 51; noise: typical
    array([0.02, 0.02, 0.47])
    """
    L, pi = _laplacian_of(estimator)
    names = _target_names(F, np.asarray(F).reshape(len(F), -1).shape[1], "f")
    F = check_array(F, ensure_2d=False, dtype=np.float64)
    F = F.reshape(F.shape[0], -1)
    if F.shape[0] != L.shape[0]:
        raise ValueError(
            f"F has {F.shape[0]} rows but the estimator was fitted on "
            f"{L.shape[0]}: pass the function values on its training rows."
        )
    constant = np.ptp(F, axis=0) == 0
    if constant.any():
        raise ValueError(
            f"F column(s) {list(names[constant])} are constant over the rows; a "
            "constant has no smoothness to measure. Drop them."
        )
    energy = _energies(L, pi, F)
    rng = check_random_state(random_state)
    p_value = np.full(F.shape[1], np.nan)
    null = np.full(F.shape[1], np.nan)
    if n_permutations:
        for j in range(F.shape[1]):
            shuffled = np.concatenate(
                [
                    _energies(L, pi, _shuffles(F[:, j], block, rng))
                    for block in _blocks(n_permutations)
                ]
            )
            p_value[j] = (1 + np.count_nonzero(shuffled <= energy[j])) / (
                1 + n_permutations
            )
            null[j] = np.median(shuffled)
    return SmoothnessResult(names, energy, p_value, null, int(n_permutations))


def _blocks(n: int) -> list[int]:
    full, rest = divmod(n, _PERMUTATION_BLOCK)
    return [_PERMUTATION_BLOCK] * full + ([rest] if rest else [])


def _shuffles(f: np.ndarray, k: int, rng) -> np.ndarray:
    """``k`` independent permutations of ``f`` as columns (n, k)."""
    return np.stack([f[rng.permutation(f.size)] for _ in range(k)], axis=1)
