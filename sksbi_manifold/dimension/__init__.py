"""Intrinsic dimension estimators (paper Section 3; see :ref:`conv-dimension`).

- :class:`DoublingDimension`: local ``log2(N_2R / N_R)``, global KDE-mode vote.
- :class:`CorrelationDimension`: slope of ``log C(R)`` against ``log R``.
- :class:`EigengapDimension`: largest normalised gap of the local covariance
  spectrum at the kernel scale.
- :class:`GrideDimension`: maximum likelihood of neighbour-distance ratios
  ``r_{2 n1} / r_{n1}`` (GRIDE; TwoNN at ``n1 = 1``), rank by the plateau rule.
- :func:`kde_mode`, :func:`local_dimension_summary`: the shared vote and the
  per-point summary (histogram, KDE) that reports plot.
"""

from ..exceptions import UndefinedDimensionWarning
from ._correlation import CorrelationDimension
from ._doubling import DoublingDimension
from ._eigengap import EigengapDimension
from ._gride import GrideDimension
from ._summary import kde_bandwidth, kde_mode, local_dimension_summary

__all__ = [
    "CorrelationDimension",
    "DoublingDimension",
    "EigengapDimension",
    "GrideDimension",
    "UndefinedDimensionWarning",
    "kde_bandwidth",
    "kde_mode",
    "local_dimension_summary",
]
