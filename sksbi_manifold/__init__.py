"""Manifold-learning estimators for the latent spaces of simulation-based inference.

The estimators follow the scikit-learn API and compose one private geometry
layer (blocked exact distances, kernels, Laplacians, Riemannian metrics, local
PCA). See the user guide for the workflow of the paper *Cryo-EM images are
intrinsically low dimensional* that they implement.
"""

from . import plotting
from ._geometry.metric import riemannian_metric
from .dimension import (
    CorrelationDimension,
    DoublingDimension,
    EigengapDimension,
)
from .embedding import (
    ClusterResult,
    DiffusionMapsGC,
    DistortionResult,
    IESSelector,
    RiemannianRelaxation,
    detect_clusters,
    local_distortion,
)
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
    "ClusterResult",
    "CorrelationDimension",
    "CoverageResult",
    "DensityFlatteningSampler",
    "DiffusionMapsGC",
    "DisconnectedGraphWarning",
    "DistortionResult",
    "DoublingDimension",
    "EigengapDimension",
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
    "detect_clusters",
    "estimate_gradients",
    "function_smoothness",
    "local_distortion",
    "misspecification_score",
    "near_reference",
    "plotting",
    "riemannian_metric",
]
