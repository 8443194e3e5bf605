"""C-alpha structures of adenylate kinase along closed-to-open transition paths.

The shipped ``data/adk_paths.npz`` holds three independent paths of E. coli
adenylate kinase (214 C-alpha atoms) from the MDAnalysisTests package,
superposed on the closed crystal structure (PDB 1AKE); see
``data/adk_paths.LICENSE.txt`` for provenance and licence and
``scripts/derive_adk.py`` for the derivation. Nothing here needs MDAnalysis.
"""

from __future__ import annotations

import functools
import numbers
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

__all__ = ["ADK_PATHS", "load_adk"]

ADK_PATHS = {
    "dims": "DIMS closed-to-open path (98 frames)",
    "dims2": "second, independent DIMS path (102 frames)",
    "tmd": "targeted MD path, NAMD with GBIS implicit solvent (100 frames)",
}


@functools.cache
def _paths() -> dict[str, np.ndarray]:
    with resources.files(__package__).joinpath("data/adk_paths.npz").open("rb") as fh:
        with np.load(fh) as data:
            return {k: data[k] for k in data.files}


def _pick_frames(rmsd: np.ndarray, n: int | None, rmsd_range) -> np.ndarray:
    """Frames in ``rmsd_range`` nearest to ``n`` RMSDs evenly spaced over it."""
    lo, hi = rmsd_range if rmsd_range is not None else (-np.inf, np.inf)
    inside = np.flatnonzero((rmsd >= lo) & (rmsd <= hi))
    if inside.size == 0:
        raise ValueError(
            f"no frame has an RMSD in rmsd_range={rmsd_range}; the path spans "
            f"{rmsd.min():.2f} to {rmsd.max():.2f} A"
        )
    if n is None or n >= inside.size:
        return inside
    targets = np.linspace(rmsd[inside].min(), rmsd[inside].max(), n)
    nearest = inside[np.abs(rmsd[inside][None, :] - targets[:, None]).argmin(axis=1)]
    return np.unique(nearest)


def load_adk(
    path: str = "dims", n_conformations: int | None = 20, *, rmsd_range=None
) -> Bunch:
    """Adenylate kinase C-alpha conformations along a closed-to-open path.

    Parameters
    ----------
    path : {"dims", "dims2", "tmd"}, default="dims"
        Which transition path: two independent DIMS paths and a targeted-MD
        path, each monotone in RMSD from the closed (~0.4 A) to the open
        (~6.9 A) state.
    n_conformations : int or None, default=20
        Frames evenly spaced in RMSD along the path (the paper uses 20
        conformations); ``None`` returns every frame.
    rmsd_range : (float, float) or None, default=None
        Keep only frames whose RMSD to the closed structure lies in this range
        (Angstrom).

    Returns
    -------
    bunch : Bunch
        ``coords`` (n_frames, 214, 3) float64 in Angstrom (centred, superposed
        on the closed structure), ``rmsd`` (n_frames,) C-alpha RMSD to the
        closed crystal structure (the conformation parameter theta),
        ``frames`` (indices into the path), ``resnames`` and ``description``.

    Examples
    --------
    >>> from sksbi_manifold.datasets import load_adk
    >>> adk = load_adk()
    >>> adk.coords.shape
    (20, 214, 3)
    >>> bool(adk.rmsd[0] < 1.0 < 6.0 < adk.rmsd[-1])
    True
    """
    if path not in ADK_PATHS:
        raise ValueError(f"path must be one of {sorted(ADK_PATHS)}, got {path!r}")
    if n_conformations is not None and (
        not isinstance(n_conformations, numbers.Integral) or n_conformations < 1
    ):
        raise ValueError(
            "n_conformations must be a positive integer or None, got "
            f"{n_conformations!r}"
        )
    data = _paths()
    rmsd = data[f"{path}_rmsd"].astype(float)
    frames = _pick_frames(rmsd, n_conformations, rmsd_range)
    return Bunch(
        coords=data[f"{path}_coords"][frames].astype(float),
        rmsd=rmsd[frames],
        frames=frames,
        resnames=data["resnames"],
        description=f"E. coli adenylate kinase, {ADK_PATHS[path]}",
    )
