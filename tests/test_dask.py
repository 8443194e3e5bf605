"""The engine's row blocks on a Dask cluster give the local results.

The blocks are independent joblib tasks, so ``joblib.parallel_config(
backend="dask")`` ships them to the workers of a ``distributed`` cluster; the
block layout does not depend on the backend, hence neither do the results.
"""

import logging

import joblib
import numpy as np
import pytest

from sksbi_manifold import DiffusionMapsGC
from sksbi_manifold._geometry import distances as D
from sksbi_manifold.report import workflow

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each: the multi-machine layout in small."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cl,
        distributed.Client(cl) as client,
    ):
        yield client


def _data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, (n, 2))
    X = np.column_stack(
        [np.cos(t[:, 0]), np.sin(t[:, 0]), np.cos(t[:, 1]), np.sin(t[:, 1])]
    )
    return np.hstack([X, 0.02 * rng.normal(size=(n, 12))]).astype(np.float32)


def _on(backend, fn, client=None):
    """``fn()`` under the backend; on Dask, check the workers did the blocks."""
    with joblib.parallel_config(backend=backend, n_jobs=2):
        if client is None:
            return fn()
        with distributed.get_task_stream(client) as stream:
            out = fn()
    workers = {task["worker"] for task in stream.data}
    assert len(workers) == 2, f"blocks ran on {len(workers)} worker(s)"
    return out


def test_distance_engine_on_dask_equals_loky(cluster):
    X = _data()
    radii = np.geomspace(0.05, 1.5, 10)

    def run():
        return (
            D.radius_counts(X, radii, n_jobs=2),
            D.knn_distances(X, 10, n_jobs=2, return_indices=True),
            D.kernel_sums(X, None, X[:, :2], [0.2, 0.4], n_jobs=2),
        )

    local, remote = _on("loky", run), _on("dask", run, cluster)
    np.testing.assert_array_equal(remote[0], local[0])
    np.testing.assert_array_equal(remote[1][1], local[1][1])
    np.testing.assert_array_equal(remote[1][0], local[1][0])
    np.testing.assert_array_equal(remote[2][0], local[2][0])
    np.testing.assert_array_equal(remote[2][1], local[2][1])


def test_diffusion_maps_on_dask_equals_loky(cluster):
    X = _data(1500)

    def run():
        return DiffusionMapsGC(n_components=4, random_state=0, n_jobs=2).fit(X)

    local, remote = _on("loky", run), _on("dask", run, cluster)
    assert remote.epsilon_ == local.epsilon_
    # Dask workers run BLAS with their own thread count, so the distance
    # blocks can differ in the last bit (GEMM summation order); the spectrum
    # then agrees to ~5e-10, not bitwise.
    np.testing.assert_allclose(remote.eigenvalues_, local.eigenvalues_, rtol=1e-8)
    np.testing.assert_allclose(
        np.abs(remote.embedding_), np.abs(local.embedding_), atol=1e-5
    )


def test_report_dimension_stage_on_dask_equals_loky(cluster, tmp_path):
    X = _data(3000)

    def run():
        cfg = workflow.ReportConfig(out=tmp_path, n_dimension=2000, n_jobs=2)
        state = workflow._State(cfg, workflow._Dataset("target", X), None)
        workflow._dimension(state)
        return state.results["intrinsic_dimension"]

    assert _on("dask", run, cluster) == _on("loky", run)


def test_report_cli_on_a_scheduler(cluster, tmp_path):
    from sksbi_manifold.report.cli import main

    np.save(tmp_path / "z.npy", _data(3000))
    sizes = ["--n-subsample", "2000", "--max-samples", "800", "--n-relax", "300"]
    rc = main(
        [
            "report",
            str(tmp_path / "z.npy"),
            "--out",
            str(tmp_path / "r"),
            "--quiet",
            "--n-jobs",
            "-1",
            "--scheduler",
            cluster.scheduler.address,
            *sizes,
        ]
    )
    assert rc == 0
    assert (tmp_path / "r" / "index.html").exists()


def test_report_cli_bad_scheduler_is_one_line(tmp_path, capsys):
    from sksbi_manifold.report.cli import main

    np.save(tmp_path / "z.npy", _data(100))
    rc = main(
        [
            "report",
            str(tmp_path / "z.npy"),
            "--out",
            str(tmp_path / "r"),
            "--scheduler",
            "no-port-here",
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sksbi-manifold: error: cannot reach the Dask scheduler")
    assert "\n" not in err
