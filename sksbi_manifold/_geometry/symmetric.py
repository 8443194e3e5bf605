"""Symmetric sparse matrices in half storage, for the iterative eigensolvers.

ARPACK spends its time in ``y = S x``, which is bound by streaming ``S`` from
memory. Stored as its diagonal and strict upper triangle, ``S`` streams half
the bytes (the scattered writes of the lower half land in a vector that stays
in the caches), and the sums run in float64 (``_sparse.c``). Measured on
the 20,000-row sphere Laplacian (9.0M nonzeros, float32): 5.3-6.6 ms per product
with scipy's CSR; 4.3 ms in half storage, 2.5 ms on 2 threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import repeat

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
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
        after the ``with`` block run serially).

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
        self._ptr = np.empty(n + 1, dtype=np.int64)
        self._diag = np.empty(n, dtype=dtype)
        idx, val = np.empty(nnz, dtype=np.int32), np.empty(nnz, dtype=dtype)
        _sparse.upper_part(
            n,
            dtype == np.float64,
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
        x = np.ascontiguousarray(np.ravel(x), dtype=self.dtype)
        parts = [np.empty(self.shape[0]) for _ in self._bounds]
        if self._pool is None:
            for bounds, part in zip(self._bounds, parts):
                self._partial(x, bounds, part)
        else:
            list(self._pool.map(self._partial, repeat(x), self._bounds, parts))
        return np.sum(parts, axis=0).astype(self.dtype, copy=False)

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
