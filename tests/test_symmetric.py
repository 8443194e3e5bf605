"""Half-storage symmetric products (the eigensolvers' operator)."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh

from sksbi_manifold._geometry import symmetric
from sksbi_manifold._geometry.symmetric import SymmetricCSR


@pytest.fixture
def small_blocks(monkeypatch):
    # Let test-sized matrices split into several row blocks.
    monkeypatch.setattr(symmetric, "MIN_NNZ_PER_BLOCK", 1)


def _symmetric_matrix(n=400, density=0.03, seed=0, diagonal=True):
    A = sp.random(n, n, density=density, format="csr", random_state=seed)
    S = (A + A.T).tocsr()
    if diagonal:
        S = (S + sp.diags(np.linspace(-1.0, 2.0, n))).tocsr()
    return S


@pytest.mark.parametrize("diagonal", [True, False])
def test_product_equals_full_storage(diagonal):
    S = _symmetric_matrix(diagonal=diagonal)
    x = np.random.default_rng(1).normal(size=S.shape[0])
    op = SymmetricCSR(S)
    assert op.shape == S.shape and op.dtype == np.float64
    np.testing.assert_allclose(op @ x, S @ x, rtol=0, atol=1e-13)
    np.testing.assert_allclose(op.rmatvec(x), S @ x, rtol=0, atol=1e-13)
    # float32 storage, float64 sums: one float32 rounding per entry, not per term
    op32 = SymmetricCSR(S, np.float32)
    y32 = op32 @ x.astype(np.float32)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, S @ x, rtol=0, atol=2e-5 * np.abs(x).max())


@pytest.mark.parametrize("n_jobs", [1, 2, 3, -1])
def test_blocks_give_the_same_result_for_any_n_jobs(small_blocks, n_jobs):
    S = _symmetric_matrix(n=700, seed=3)
    x = np.random.default_rng(2).normal(size=700)
    with SymmetricCSR(S, n_jobs=1) as serial, SymmetricCSR(S, n_jobs=n_jobs) as op:
        assert len(op._bounds) == symmetric.MAX_BLOCKS
        assert np.array_equal(op @ x, serial @ x)
    np.testing.assert_allclose(op @ x, S @ x, rtol=0, atol=1e-13)


def test_unsorted_and_duplicate_entries_are_summed():
    rows = np.array([0, 1, 0, 2, 2, 0, 1])
    cols = np.array([1, 0, 1, 2, 0, 2, 1])
    vals = np.array([1.0, 2.0, 1.0, 5.0, 3.0, 3.0, 4.0])
    S = sp.csr_matrix((vals, (rows, cols)), shape=(3, 3))  # S[0,1] = 2 = S[1,0]
    x = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(SymmetricCSR(S) @ x, S.toarray() @ x)


def test_eigsh_on_the_operator_matches_the_matrix():
    S = _symmetric_matrix(n=600, seed=5)
    v0 = np.ones(600)
    ref = eigsh(S, k=5, which="LA", v0=v0)[0]
    with SymmetricCSR(S, n_jobs=2) as op:
        got = eigsh(op, k=5, which="LA", v0=v0)[0]
    np.testing.assert_allclose(got, ref, rtol=1e-10)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="square"):
        SymmetricCSR(sp.random(3, 4, density=0.5, format="csr"))
    with pytest.raises(ValueError, match="float32 or float64"):
        SymmetricCSR(sp.eye(3, format="csr"), np.int64)
    op = SymmetricCSR(sp.eye(3, format="csr"))
    with pytest.raises(ValueError):
        op @ np.ones(4)
