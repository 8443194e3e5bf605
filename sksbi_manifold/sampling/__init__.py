"""Outlier removal, density flattening and coverage (paper Section 3, A.4).

- :class:`DensityFlatteningSampler`, :func:`near_reference`: outlier removal
  and density-flattening resampling (``_flattening``).
- :func:`density_coverage`, :class:`CoverageResult`: does one data set cover
  another? Kernel-density cross-entropies and KLs (``_coverage``).
- :func:`misspecification_score`, :class:`MisspecificationResult`: which rows
  the reference does not explain; conformal p-values (``_misspecification``).
"""

from ._coverage import CoverageResult, density_coverage
from ._flattening import DensityFlatteningSampler, near_reference
from ._misspecification import MisspecificationResult, misspecification_score

__all__ = [
    "CoverageResult",
    "DensityFlatteningSampler",
    "MisspecificationResult",
    "density_coverage",
    "misspecification_score",
    "near_reference",
]
