"""Manifold-learning estimators for the latent spaces of simulation-based inference.

The estimators follow the scikit-learn API and compose one private geometry
layer (blocked exact distances, kernels, Laplacians, Riemannian metrics, local
PCA). See the user guide for the workflow of the paper *Cryo-EM images are
intrinsically low dimensional* that they implement.
"""

from ._geometry.metric import riemannian_metric
from .coverage import CoverageResult, density_coverage
from .dimension import (
    CorrelationDimension,
    DoublingDimension,
    EigengapDimension,
    UndefinedDimensionWarning,
)
from .embedding import DiffusionMapsGC, DisconnectedGraphWarning, OutOfSampleWarning
from .interpolation import NadarayaWatsonInterpolator, UnsupportedRowsWarning
from .relaxation import RiemannianRelaxation
from .sampling import DensityFlatteningSampler, near_reference
from .selection import IESSelector
from .tslasso import TSLasso, estimate_gradients

__version__ = "0.1.0.dev0"

__all__ = [
    "CorrelationDimension",
    "CoverageResult",
    "DensityFlatteningSampler",
    "DiffusionMapsGC",
    "DisconnectedGraphWarning",
    "DoublingDimension",
    "EigengapDimension",
    "IESSelector",
    "NadarayaWatsonInterpolator",
    "OutOfSampleWarning",
    "RiemannianRelaxation",
    "TSLasso",
    "UndefinedDimensionWarning",
    "UnsupportedRowsWarning",
    "density_coverage",
    "estimate_gradients",
    "near_reference",
    "riemannian_metric",
]
