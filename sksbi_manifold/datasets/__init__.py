"""Synthetic and on-disk data sets for manifold learning on SBI latent spaces.

- :func:`make_lifted_manifold`: known-answer manifolds (circle, sphere, flat
  torus, swiss roll, strip, ball, cube) isometrically lifted into a
  high-dimensional space, with intrinsic coordinates, dimension and
  Laplace-Beltrami spectrum.
- :func:`make_cryo_latents`: cryoSBI-like 256-d latents with their simulator
  parameters and posterior summaries, for a simulated or an experimental-like
  domain.
- :func:`load_latents`, :func:`load_parameters`: read latents and parameter
  tables from ``.npy``, ``.npz``, ``.csv`` (and ``.pt`` for latents).
"""

from ._cryo import make_cryo_latents
from ._loaders import load_latents, load_parameters
from ._manifolds import make_lifted_manifold

__all__ = [
    "load_latents",
    "load_parameters",
    "make_cryo_latents",
    "make_lifted_manifold",
]
