"""The geometry layer's thread helpers: the thread map, row-blocked sparse
products, the BLAS limit."""

import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info

from sksbi_manifold._geometry import parallel


@pytest.fixture
def small_blocks(monkeypatch):
    # Let test-sized matrices split into several blocks.
    monkeypatch.setattr(parallel, "MIN_NNZ_PER_BLOCK", 1)


@pytest.mark.parametrize("n_jobs", [1, 2, 3, -1])
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_blocked_product_is_bitwise_serial(small_blocks, n_jobs, fmt):
    rng = np.random.default_rng(0)
    A = sp.random(700, 500, density=0.02, format=fmt, random_state=1)
    B = rng.normal(size=(500, 9))
    out = parallel.RowBlockedCSR(A, n_jobs) @ B
    assert out.shape == (700, 9)
    assert np.array_equal(out, A.tocsr() @ B)
    # non-contiguous and float32 right-hand sides
    Bf = np.asfortranarray(B)[:, ::2]
    assert np.array_equal(parallel.RowBlockedCSR(A, n_jobs) @ Bf, A.tocsr() @ Bf)
    B32 = B.astype(np.float32)
    assert np.array_equal(parallel.RowBlockedCSR(A, n_jobs) @ B32, A.tocsr() @ B32)


def test_blocks_balance_nonzeros(small_blocks):
    # rows with very different nonzero counts: blocks by nnz, not by rows
    dense = np.zeros((100, 100))
    dense[:10] = 1.0
    dense[10:, 0] = 1.0
    blocked = parallel.RowBlockedCSR(sp.csr_matrix(dense), n_jobs=2)
    (a0, b0), (a1, b1) = blocked._bounds
    assert (a0, b1) == (0, 100) and b0 == a1
    nnz = [blocked.matrix[a:b].nnz for a, b in blocked._bounds]
    assert abs(nnz[0] - nnz[1]) <= 200  # 1,090 nonzeros, cut within a 100-wide row
    assert b0 < 10  # the ten dense rows hold most nonzeros


def test_small_and_empty_matrices_use_one_block():
    A = sp.random(50, 50, density=0.1, format="csr", random_state=0)
    assert len(parallel.RowBlockedCSR(A, n_jobs=2)._bounds) == 1
    empty = parallel.RowBlockedCSR(sp.csr_matrix((5, 4)), n_jobs=2)
    assert np.array_equal(empty @ np.ones((4, 2)), np.zeros((5, 2)))


def test_blocks_never_empty(small_blocks):
    # more threads than rows: no empty row range
    A = sp.csr_matrix(np.eye(3))
    blocked = parallel.RowBlockedCSR(A, n_jobs=8)
    assert all(b > a for a, b in blocked._bounds)
    assert np.array_equal(blocked @ np.eye(3), np.eye(3))


def test_single_threaded_blas_limits_and_restores():
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    if not blas:
        pytest.skip("no BLAS library reported by threadpoolctl")
    before = [i["num_threads"] for i in blas]
    with parallel.single_threaded_blas():
        inside = [
            i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"
        ]
    after = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    assert inside == [1] * len(blas)
    assert after == before


@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_thread_map_keeps_the_order(n_jobs):
    rng = np.random.default_rng(0)
    delays = rng.uniform(0, 2e-3, 40)

    def task(i):
        time.sleep(delays[i])  # out-of-order completion
        return i * i

    assert list(parallel.thread_map(task, range(40), n_jobs)) == [
        i * i for i in range(40)
    ]


def test_thread_map_bounds_the_work_ahead_of_the_consumer():
    lock, started = threading.Lock(), []

    def task(i):
        with lock:
            started.append(i)
        return i

    results = parallel.thread_map(task, range(100), 2)
    for i, value in enumerate(results):
        assert value == i
        time.sleep(1e-3)  # a slow consumer
        with lock:
            assert len(started) <= i + 1 + 2 * 2
    assert sorted(started) == list(range(100))


def test_thread_map_raises_the_tasks_error_and_stops_early():
    started = []

    def task(i):
        started.append(i)
        if i == 3:
            raise ValueError("task 3 failed")
        return i

    with pytest.raises(ValueError, match="task 3 failed"):
        list(parallel.thread_map(task, range(1000), 2))
    assert len(started) < 20  # the rest was never submitted


def test_thread_map_passes_sklearn_config_to_its_threads():
    from sklearn import config_context, get_config

    with config_context(working_memory=7):
        seen = list(
            parallel.thread_map(lambda _: get_config()["working_memory"], range(6), 2)
        )
    assert seen == [7] * 6


def test_thread_map_hands_the_tasks_to_a_configured_joblib_backend():
    import os

    import joblib

    with joblib.parallel_config(backend="loky", n_jobs=2):
        pids = set(parallel.thread_map(lambda _: os.getpid(), range(8), 2))
    assert os.getpid() not in pids  # worker processes, not our threads
    assert set(parallel.thread_map(lambda _: os.getpid(), range(8), 2)) == {os.getpid()}
