"""Synthetic and on-disk data sets for manifold learning on SBI latent spaces.

- :func:`make_lifted_manifold`: known-answer manifolds (circle, sphere, flat
  torus, swiss roll, strip, ball, cube) isometrically lifted into a
  high-dimensional space, with intrinsic coordinates, dimension and
  Laplace-Beltrami spectrum.
- :func:`simulate_particles`: the physical cryo-EM forward model (Gaussian
  density on atoms, uniform rotation, projection, CTF, shift, noise).
- :func:`load_adk`: adenylate kinase C-alpha conformations along three
  closed-to-open transition paths (shipped, derived from MDAnalysisTests).
- :func:`make_cryoem_latents`: 256-d latents of simulated AdK particles from the
  shipped NPE summary network, with the true parameters and the posterior mean
  and width, for a simulated or an experimental (mismatched) domain.
- :func:`load_cryoem_latents`: the shipped 10,000 + 10,000 such latents (the
  report's default data; no torch needed).
- :func:`make_toy_cryo_latents`: a fast random-feature *toy* of such latents, kept
  for unit tests (its geometry is not that of an encoder).
- :func:`load_latents`, :func:`load_parameters`: read latents and parameter
  tables from ``.npy``, ``.npz``, ``.csv`` (and ``.pt`` for latents).
"""

from ._adk import load_adk
from ._cryo import make_toy_cryo_latents
from ._cryoem import load_cryoem_latents, make_cryoem_latents
from ._loaders import load_latents, load_parameters
from ._manifolds import make_lifted_manifold
from ._particles import simulate_particles

__all__ = [
    "load_adk",
    "load_cryoem_latents",
    "load_latents",
    "load_parameters",
    "make_cryoem_latents",
    "make_lifted_manifold",
    "make_toy_cryo_latents",
    "simulate_particles",
]
