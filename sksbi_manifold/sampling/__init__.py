"""Outlier removal, density flattening and coverage (paper Section 3, A.4).

- :class:`DensityFlatteningSampler`, :func:`near_reference`: outlier removal
  and density-flattening resampling (``_flattening``).
- :func:`density_coverage`, :class:`CoverageResult`: does one data set cover
  another? Kernel-density cross-entropies and KLs (``_coverage``).
"""

from ._coverage import CoverageResult, density_coverage
from ._flattening import DensityFlatteningSampler, near_reference

__all__ = [
    "CoverageResult",
    "DensityFlatteningSampler",
    "density_coverage",
    "near_reference",
]
