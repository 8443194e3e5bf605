"""The report on memory-mapped .npy latents reads them without loading them."""

import tracemalloc

import numpy as np
import pytest

from sksbi_manifold.report.workflow import ReportConfig, run_report


def _latents(path, n, seed=0):
    """A noisy curved 3-manifold in R^256 (the users' width), float32, as .npy."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 1, (n, 3))
    B = rng.normal(size=(9, 256))
    X = np.column_stack([np.cos(2 * t), np.sin(2 * t), t**2]) @ B
    X += 0.05 * rng.normal(size=X.shape)
    np.save(path, X.astype(np.float32))
    return path


def _peak_traced_bytes(latents, out) -> int:
    cfg = ReportConfig(
        latents=latents,
        out=out,
        n_subsample=3000,
        max_samples=1000,
        n_dimension=1500,
        n_relax=300,
        n_plot=2000,
        n_tslasso=500,
    )
    tracemalloc.start()
    try:
        run_report(cfg)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.filterwarnings("ignore")
def test_memory_does_not_grow_with_the_memmapped_file(tmp_path):
    small = _latents(tmp_path / "small.npy", 10_000)
    large = _latents(tmp_path / "large.npy", 50_000)
    extra = 40_000 * 256 * 4  # bytes the large file adds
    grown = _peak_traced_bytes(large, tmp_path / "b") - _peak_traced_bytes(
        small, tmp_path / "a"
    )
    # Per-row results (a few float64 per row) may grow; the rows themselves
    # (1 KB each) must not be held: growth well below the file's growth.
    assert grown < 0.5 * extra, (grown, extra)
