"""Symmetric sparse matrices in half storage, for the iterative eigensolvers.

ARPACK spends its time in ``y = S x``, which is bound by streaming ``S`` from
memory. Stored as its diagonal and strict upper triangle, ``S`` streams half
the bytes (the scattered writes of the lower half land in a vector that stays
in the caches), and the sums run in float64 (``_sparse.c``). The rows are
stored in reverse Cuthill-McKee order, which puts a row's neighbours at nearby
indices, so those reads and writes hit the L1/L2 caches instead of L3 (a
kernel graph of points in arbitrary order scatters them over all n). Measured
on the 20,000-row sphere Laplacian (9.0M nonzeros, float32): 5.3-6.6 ms per
product with scipy's CSR; 4.3 ms in half storage, 2.5 ms on 2 threads. On the
50,000-row torus (41.5M nonzeros, float32, 2 threads, interleaved A/B):
21-23.5 ms per product in the input's order, 20-21 ms in RCM order; ARPACK's
329 products 11.2 s against 8.7-10.2 s (ordering 0.2 s, once per operator).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import repeat

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from scipy.sparse.csgraph import reverse_cuthill_mckee
from scipy.sparse.linalg import LinearOperator

from . import _sparse
from .parallel import MIN_NNZ_PER_BLOCK, _balanced_row_bounds

MAX_BLOCKS = 4  # row blocks of a product: up to this many threads


class SymmetricCSR(LinearOperator):
    """``x -> S x`` for a symmetric CSR matrix, from its upper triangle only.

    Parameters
    ----------
    matrix : sparse matrix of shape (n, n)
        Symmetric (not checked: the lower triangle is never read).
    dtype : {np.float32, np.float64}, default=np.float64
        Storage and vector precision.
    n_jobs : int, default=None
        Threads per product (joblib's meaning), each over rows of about equal
        nonzero count. Use as a context manager to release them (products
        after the ``with`` block run serially). Run the solver with BLAS on
        one thread (:func:`.parallel.single_threaded_blas`): OpenBLAS's
        threads spin after each of its small BLAS calls and take the cores
        from the product's (12.5 s against 7.5 s for ARPACK's 329 products on
        the 50,000-row torus).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.random(300, 300, density=0.05, format="csr", random_state=0)
    >>> S = (A + A.T).tocsr()
    >>> x = np.arange(300.0)
    >>> bool(np.allclose(SymmetricCSR(S) @ x, S @ x))
    True
    """

    def __init__(self, matrix, dtype=np.float64, n_jobs: int | None = None):
        S = sp.csr_matrix(matrix)
        if not S.has_canonical_format:
            S = S.copy()
            S.sum_duplicates()
        if S.shape[0] != S.shape[1]:
            raise ValueError(f"SymmetricCSR needs a square matrix, got {S.shape}.")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}.")
        super().__init__(dtype=dtype, shape=S.shape)
        n, nnz = S.shape[0], S.nnz
        # Row r of the stored matrix is row order[r] of S.
        self._order = reverse_cuthill_mckee(S, symmetric_mode=True).astype(np.int64)
        rank = np.empty(n, dtype=np.int64)
        rank[self._order] = np.arange(n)
        self._ptr = np.empty(n + 1, dtype=np.int64)
        self._diag = np.empty(n, dtype=dtype)
        idx, val = np.empty(nnz, dtype=np.int32), np.empty(nnz, dtype=dtype)
        _sparse.upper_part(
            n,
            dtype == np.float64,
            self._order,
            rank,
            S.indptr.astype(np.int64),
            S.indices.astype(np.int32, copy=False),
            S.data.astype(np.float64, copy=False),
            self._ptr,
            idx,
            val,
            self._diag,
        )
        # Views, not copies: the tail beyond the upper part was never written,
        # so (allocated by mmap, as large arrays are) it holds no memory.
        upper = int(self._ptr[-1])
        self._idx, self._val = idx[:upper], val[:upper]
        # The split does not depend on n_jobs, so neither does the result.
        n_blocks = min(MAX_BLOCKS, max(self._idx.size // MIN_NNZ_PER_BLOCK, 1))
        self._bounds = _balanced_row_bounds(self._ptr, n_blocks)
        n_threads = min(effective_n_jobs(n_jobs), len(self._bounds))
        self._pool = ThreadPoolExecutor(n_threads) if n_threads > 1 else None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None  # still usable, serially

    def _matvec(self, x):
        x = np.ravel(x).astype(self.dtype, copy=False)[self._order]
        parts = [np.empty(self.shape[0]) for _ in self._bounds]
        if self._pool is None:
            for bounds, part in zip(self._bounds, parts):
                self._partial(x, bounds, part)
        else:
            list(self._pool.map(self._partial, repeat(x), self._bounds, parts))
        y = np.empty(self.shape[0], dtype=self.dtype)
        y[self._order] = np.sum(parts, axis=0)
        return y

    def _partial(self, x, bounds, out) -> None:
        _sparse.sym_partial(
            self.shape[0],
            *bounds,
            self.dtype == np.float64,
            self._ptr,
            self._idx,
            self._val,
            self._diag,
            x,
            out,
        )

    def _rmatvec(self, x):
        return self._matvec(x)
