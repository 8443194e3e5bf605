"""Carrying parameters across point sets and interpreting the embedding.

- :class:`NadarayaWatsonInterpolator`: kernel regression on the shared
  kernel-sum engine (paper A.6; ``_nadaraya_watson``).
- :class:`TSLasso`, :func:`estimate_gradients`: the tangent-space lasso and
  gradient estimation (paper Section 3, A.7; ``_tslasso``, with the group
  lasso in ``_group_lasso``).
- :func:`function_smoothness`: Dirichlet energies of functions over a fitted
  Laplacian, with permutation p-values (``_smoothness``).
- :class:`UnsupportedRowsWarning` (defined in :mod:`sksbi_manifold.exceptions`).
"""

from ..exceptions import UnsupportedRowsWarning
from ._nadaraya_watson import NadarayaWatsonInterpolator
from ._smoothness import SmoothnessResult, function_smoothness
from ._tslasso import TSLasso, estimate_gradients

__all__ = [
    "NadarayaWatsonInterpolator",
    "SmoothnessResult",
    "TSLasso",
    "UnsupportedRowsWarning",
    "estimate_gradients",
    "function_smoothness",
]
