"""Threads: the package's one thread map, BLAS-thread limit and row-blocked
sparse products.

scipy's CSR x dense product runs on one thread but releases the GIL, so row
blocks of about equal nonzero count can be multiplied side by side. Each row
is computed by the same kernel in the same order as in one product, so the
result is bitwise identical to ``A @ B`` for any number of threads.
"""

from __future__ import annotations

import functools
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from joblib.parallel import ThreadingBackend, get_active_backend
from sklearn import config_context, get_config
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import ThreadpoolController

# Below this many nonzeros a product takes well under a millisecond and the
# thread hand-off would cost more than it saves.
MIN_NNZ_PER_BLOCK = 200_000


# Tasks in flight per thread: enough to keep every thread busy while the
# caller consumes a result, few enough to bound the results held at once.
_LOOKAHEAD = 2


def thread_map(func: Callable, items: Iterable, n_jobs: int | None) -> Iterator:
    """Yield ``func(item)`` for every item, in order, on ``n_jobs`` threads.

    For work that releases the GIL (BLAS, FFTs, the C reducers). At most
    ``2 * threads`` tasks run ahead of the consumer, so the memory of results
    not yet consumed stays bounded. Results are waited on, not polled:
    joblib's thread backend sleeps in 10 ms steps while it waits, a 10-50 ms
    toll per pass that dominated passes over a few thousand rows.
    ``n_jobs`` has joblib's meaning (``None`` reads ``joblib.parallel_config``);
    a backend set there (processes, a Dask cluster) gets the tasks instead.
    """
    n_threads = effective_n_jobs(n_jobs)
    items = iter(items)
    if n_threads == 1:
        yield from map(func, items)
        return
    backend, _ = get_active_backend(prefer="threads")
    if not isinstance(backend, ThreadingBackend):
        if _blas_is_single_threaded():
            # The caller's BLAS limit travels with the tasks: a worker process
            # has its own (a Dask worker's GEMMs on 2 threads rounded the
            # engine's float32 distances differently from loky's on one).
            func = functools.partial(_on_one_blas_thread, func)
        tasks = (delayed(func)(item) for item in items)
        yield from Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
        return
    func = _with_config(func, get_config())  # sklearn's config is per thread
    with ThreadPoolExecutor(n_threads) as pool:
        pending = deque(
            pool.submit(func, item)
            for item in itertools.islice(items, _LOOKAHEAD * n_threads)
        )
        try:
            while pending:
                result = pending.popleft().result()
                pending.extend(
                    pool.submit(func, item) for item in itertools.islice(items, 1)
                )
                yield result
        finally:  # an early exit or an error: drop what has not started
            for future in pending:
                future.cancel()


def _with_config(func: Callable, config: dict) -> Callable:
    def run(item):
        with config_context(**config):
            return func(item)

    return run


def _blas_is_single_threaded() -> bool:
    blas = _controller().select(user_api="blas").lib_controllers
    return all(lib.num_threads == 1 for lib in blas)


def _on_one_blas_thread(func: Callable, item):
    with single_threaded_blas():
        return func(item)


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # scanning the loaded libraries is slow: once


def single_threaded_blas():
    """Context manager limiting BLAS to one thread.

    For work whose dense pieces are too small to gain from BLAS threads
    (iterative eigensolvers, batched small LAPACK calls, many small products)
    and inside threads or processes of our own: idle OpenBLAS threads spin,
    and on 2 cores threaded OpenBLAS made such loops 3-9x slower (and halved
    the gain of :class:`RowBlockedCSR`). Parallelism comes from ``n_jobs``.
    """
    return _controller().limit(limits=1, user_api="blas")


class RowBlockedCSR:
    """A CSR matrix whose products with dense matrices run on ``n_jobs`` threads.

    Parameters
    ----------
    matrix : sparse matrix of shape (n, m)
        Converted to CSR (no copy if it already is one).
    n_jobs : int or None
        Threads, with joblib's meaning (None is 1 outside a
        ``joblib.parallel_config`` context, -1 all cores).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.random(1000, 1000, density=0.01, format="csr", random_state=0)
    >>> B = np.ones((1000, 3))
    >>> bool(np.array_equal(RowBlockedCSR(A, n_jobs=2) @ B, A @ B))
    True
    """

    def __init__(self, matrix, n_jobs: int | None = None):
        self.matrix = sp.csr_matrix(matrix)
        self.shape = self.matrix.shape
        n_blocks = min(
            effective_n_jobs(n_jobs), max(self.matrix.nnz // MIN_NNZ_PER_BLOCK, 1)
        )
        self._bounds = _balanced_row_bounds(self.matrix.indptr, n_blocks)
        self._blocks = [self.matrix[a:b] for a, b in self._bounds]

    def __matmul__(self, B: np.ndarray) -> np.ndarray:
        if len(self._blocks) == 1:
            return self.matrix @ B
        out = np.empty(
            (self.shape[0], B.shape[1]), dtype=np.result_type(self.matrix, B)
        )
        with ThreadPoolExecutor(len(self._blocks)) as pool:
            parts = pool.map(lambda block: block @ B, self._blocks)
            for (a, b), part in zip(self._bounds, parts, strict=True):
                out[a:b] = part
        return out


def _balanced_row_bounds(indptr: np.ndarray, n_blocks: int) -> list[tuple[int, int]]:
    """Row ranges ``[a, b)`` of about ``nnz / n_blocks`` nonzeros each."""
    n = indptr.size - 1
    targets = np.linspace(0, indptr[-1], n_blocks + 1)[1:-1]
    cuts = np.searchsorted(indptr, targets).clip(0, n)
    edges = np.unique(np.concatenate([[0], cuts, [n]]))
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))
