"""Manifold-learning estimators for the latent spaces of simulation-based inference.

The estimators follow the scikit-learn API and compose one private geometry
layer (blocked exact distances, kernels, Laplacians, Riemannian metrics, local
PCA). See the user guide for the workflow of the paper *Cryo-EM images are
intrinsically low dimensional* that they implement.
"""

from ._geometry.metric import riemannian_metric
from .dimension import (
    CorrelationDimension,
    DoublingDimension,
    EigengapDimension,
    GrideDimension,
)
from .embedding import DiffusionMapsGC, IESSelector, RiemannianRelaxation
from .exceptions import (
    DisconnectedGraphWarning,
    OutOfSampleWarning,
    UndefinedDimensionWarning,
    UnsupportedRowsWarning,
)
from .interpretation import (
    NadarayaWatsonInterpolator,
    SmoothnessResult,
    TSLasso,
    estimate_gradients,
    function_smoothness,
)
from .sampling import (
    CoverageResult,
    DensityFlatteningSampler,
    MisspecificationResult,
    density_coverage,
    misspecification_score,
    near_reference,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "CorrelationDimension",
    "CoverageResult",
    "DensityFlatteningSampler",
    "DiffusionMapsGC",
    "DisconnectedGraphWarning",
    "DoublingDimension",
    "EigengapDimension",
    "GrideDimension",
    "IESSelector",
    "MisspecificationResult",
    "NadarayaWatsonInterpolator",
    "OutOfSampleWarning",
    "RiemannianRelaxation",
    "SmoothnessResult",
    "TSLasso",
    "UndefinedDimensionWarning",
    "UnsupportedRowsWarning",
    "density_coverage",
    "estimate_gradients",
    "function_smoothness",
    "misspecification_score",
    "near_reference",
    "riemannian_metric",
]
