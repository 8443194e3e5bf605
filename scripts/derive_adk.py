"""Derive the shipped adenylate kinase (AdK) C-alpha paths from MDAnalysisTests.

Run once by a maintainer (``pip install MDAnalysis MDAnalysisTests``, ~2 min);
the package reads only the small file this writes, never MDAnalysis:

    python scripts/derive_adk.py

Writes ``sksbi_manifold/datasets/data/adk_paths.npz`` (C-alpha coordinates of
three closed-to-open transition paths of E. coli AdK, superposed on the closed
crystal structure, with the RMSD of every frame to it) and
``adk_paths.LICENSE.txt`` (provenance and licence).
"""

from pathlib import Path

import MDAnalysis as mda
import MDAnalysisTests
import numpy as np
from MDAnalysis.analysis import align, rms
from MDAnalysisTests import datafiles as df

OUT = Path(__file__).resolve().parents[1] / "sksbi_manifold" / "datasets" / "data"
PATHS = {  # name: (topology, trajectory, description)
    "dims": (df.PSF, df.DCD, "DIMS closed-to-open path (Beckstein et al. 2009)"),
    "dims2": (df.PSF, df.DCD2, "second, independent DIMS path"),
    "tmd": (df.PSF_NAMD_GBIS, df.DCD_NAMD_GBIS, "targeted MD path (NAMD, GBIS)"),
}


def ca_path(topology: str, trajectory: str, reference) -> tuple[np.ndarray, np.ndarray]:
    """C-alpha coordinates of every frame superposed on ``reference``, and RMSDs."""
    u = mda.Universe(topology, trajectory)
    ca = u.select_atoms("name CA")
    ref_ca = reference.select_atoms("name CA")
    assert ca.n_atoms == ref_ca.n_atoms == 214
    # Same residues; histidine protonation names (HSD/HSE) may differ.
    assert [r[:2] for r in ca.resnames] == [r[:2] for r in ref_ca.resnames]
    ref_xyz = ref_ca.positions - ref_ca.center_of_geometry()
    coords, rmsd = [], []
    for _ in u.trajectory:
        xyz = ca.positions - ca.center_of_geometry()
        rot, value = align.rotation_matrix(xyz, ref_xyz)
        coords.append(xyz @ rot.T)
        rmsd.append(rms.rmsd(coords[-1], ref_xyz))
        assert abs(value - rmsd[-1]) < 1e-3
    return np.asarray(coords, dtype=np.float32), np.asarray(rmsd, dtype=np.float32)


def main() -> None:
    closed = mda.Universe(df.PDB_closed)
    arrays = {}
    for name, (top, traj, _) in PATHS.items():
        coords, rmsd = ca_path(top, traj, closed)
        arrays[f"{name}_coords"] = np.round(coords, 3)
        arrays[f"{name}_rmsd"] = rmsd
        print(
            f"{name}: {coords.shape[0]} frames, RMSD {rmsd[0]:.2f} -> {rmsd[-1]:.2f} A,"
            f" monotone: {bool(np.all(np.diff(rmsd) > -0.05))}"
        )
    arrays["resnames"] = closed.select_atoms("name CA").resnames.astype("U3")
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "adk_paths.npz", **arrays)
    (OUT / "adk_paths.LICENSE.txt").write_text(
        "adk_paths.npz: C-alpha coordinates (Angstrom) of E. coli adenylate kinase\n"
        "along three closed-to-open transition paths, superposed on the closed\n"
        "crystal structure (PDB 1AKE, chain A), and each frame's C-alpha RMSD\n"
        "to it.\n\n"
        "Derived by scripts/derive_adk.py from MDAnalysisTests "
        f"{MDAnalysisTests.__version__}\n"
        "data files:\n"
        + "".join(
            f"  {name}: {Path(top).name} + {Path(traj).name} ({desc})\n"
            for name, (top, traj, desc) in PATHS.items()
        )
        + f"  reference: {Path(df.PDB_closed).name}\n\n"
        "MDAnalysisTests is distributed under the GNU Lesser General Public\n"
        "License, version 3 or later (LGPL-3.0-or-later); this file is a derived\n"
        "data subset redistributed under the same licence, separate from the\n"
        "BSD-3-Clause code of sksbi-manifold. The trajectories are from\n"
        "O. Beckstein, E. J. Denning, J. R. Perilla and T. B. Woolf, J. Mol. Biol.\n"
        "394 (2009) 160-176 (DIMS), and the MDAnalysis test suite (NAMD TMD path).\n"
        "Cite MDAnalysis: Michaud-Agrawal et al., J. Comput. Chem. 32 (2011)\n"
        "2319-2327; Gowers et al., Proc. SciPy 2016, 98-105.\n"
    )


if __name__ == "__main__":
    main()
