"""Manifold-learning estimators for the latent spaces of simulation-based inference."""

__version__ = "0.1.0.dev0"
