"""The blocked distance engine against brute-force references."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp
from sklearn import config_context
from sklearn.neighbors import NearestNeighbors

from sksbi_manifold._geometry import distances as D


def _data(dtype, n=400, m=150, dim=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, dim)).astype(dtype)
    X[7] = X[8]  # an exact duplicate
    X[20] = X[21] + 1e-4  # nearly coincident pair
    Y = rng.standard_normal((m, dim)).astype(dtype)
    return X, Y


def _sq(A, B):
    A, B = A.astype(np.float64), B.astype(np.float64)
    return ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)


RADII = [2.5, 3.5, 4.0, 5.0]


@pytest.fixture(params=[np.float64, np.float32], ids=["f64", "f32"])
def dtype(request):
    return request.param


@pytest.mark.parametrize("working_memory", [1024, 0.05])
def test_counts_equal_sklearn_brute(dtype, working_memory):
    X, _Y = _data(dtype)
    nn = NearestNeighbors(algorithm="brute").fit(X.astype(np.float64))
    with config_context(working_memory=working_memory):
        counts = D.radius_counts(X, RADII[::-1])
    for t, r in enumerate(RADII[::-1]):
        ref = nn.radius_neighbors(X.astype(np.float64), r, return_distance=False)
        np.testing.assert_array_equal(counts[:, t], [len(a) - 1 for a in ref])
    with_self = D.radius_counts(X, RADII, exclude_self=False)
    np.testing.assert_array_equal(with_self, counts[:, ::-1] + 1)


@pytest.mark.parametrize(
    "radii",
    [
        np.geomspace(1.0, 6.0, 40),  # table lookup, one edge per cell
        [0.0, 2.0, 2.0000001, 2.0000002, 3.0, 4.5],  # zero edge, shared cells
        np.geomspace(1e-150, 5.0, 8),  # span too wide for a table
        [2.5],
    ],
    ids=["geomspace", "close", "wide", "one"],
)
def test_counts_at_many_radii_equal_brute_force(dtype, radii):
    X, Y = _data(dtype)
    d2 = _sq(X, X)
    np.fill_diagonal(d2, np.inf)
    edges = np.asarray(radii) ** 2
    for ref_d2, counts in (
        (d2, D.radius_counts(X, radii)),
        (_sq(X, Y), D.radius_counts(X, radii, Y)),
    ):
        expected = (ref_d2[:, :, None] <= edges).sum(1)
        np.testing.assert_array_equal(counts, expected)


@pytest.mark.parametrize("same", [True, False], ids=["self", "cross"])
def test_counts_with_edges_within_rounding_of_pairs(dtype, same):
    """Edges 1e-7 (relative) above and below actual pair distances: far below
    the float32 GEMM's rounding (~1e-5) and far above float64's, so every such
    pair must be re-checked exactly, whatever the table says."""
    rng = np.random.default_rng(3)
    X = (rng.standard_normal((300, 256)) + 3.0).astype(dtype)  # large norms
    Y = None if same else (rng.standard_normal((200, 256)) + 3.0).astype(dtype)
    d2 = _sq(X, X if same else Y)
    if same:
        np.fill_diagonal(d2, np.inf)
    picked = rng.choice(d2[np.isfinite(d2)], 30, replace=False)
    edges = np.sort(np.r_[picked * (1 + 1e-7), picked * (1 - 1e-7)])
    counts = D.radius_counts(X, np.sqrt(edges), Y)
    expected = (d2[:, :, None] <= np.sqrt(edges) ** 2).sum(1)
    np.testing.assert_array_equal(counts, expected)


def test_counts_with_pairs_within_rounding_of_a_table_cell_border():
    """The count table bins a pair by the cell of its float32 GEMM value
    (cells 2^(1/128) wide) unless an edge lies within rounding of the cell.
    Edge on a cell border, data scaled so that one pair sits within 1e-7 of
    it (the GEMM value on either side): every count equals brute force."""
    rng = np.random.default_rng(5)
    X0 = rng.standard_normal((120, 256)) + 3.0
    border = 512.0 * (1 + 37 / 128)  # exactly a cell border (exponent + 7 bits)
    for trial in range(20):
        i, j = rng.choice(120, 2, replace=False)
        scale = np.sqrt(border / np.sum((X0[i] - X0[j]) ** 2))
        X = (X0 * scale).astype(np.float32)
        d2 = _sq(X, X)
        np.fill_diagonal(d2, np.inf)
        assert abs(d2[i, j] / border - 1) < 1e-6
        counts = D.radius_counts(X, [np.sqrt(border), np.sqrt(border) * 1.3])
        expected = (d2[:, :, None] <= np.array([border, 1.69 * border])).sum(1)
        np.testing.assert_array_equal(counts, expected, err_msg=str(trial))


def test_cross_counts_and_empty_neighbourhoods(dtype):
    X, Y = _data(dtype)
    counts = D.radius_counts(X, [0.1, 4.0], Y)
    ref = (_sq(X, Y)[:, :, None] <= np.array([0.1, 4.0]) ** 2).sum(1)
    np.testing.assert_array_equal(counts, ref)
    assert (counts[:, 0] == 0).all()


def test_counts_exact_at_the_radius():
    # Pairs exactly at the radius count (d <= r), also in float32.
    X = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]], dtype=np.float32)
    np.testing.assert_array_equal(D.radius_counts(X, [5.0])[:, 0], [1, 2, 1])


def test_radius_graph_equals_sklearn(dtype):
    X, _ = _data(dtype)
    graph = D.radius_graph(X, 3.5)
    ref = NearestNeighbors(algorithm="brute").fit(X.astype(np.float64))
    ref = ref.radius_neighbors_graph(X.astype(np.float64), 3.5, mode="distance")
    assert graph.has_sorted_indices
    # Same neighbours (pattern incl. the zero-distance pairs) and distances.
    np.testing.assert_array_equal(graph.indptr, ref.indptr)
    ref.sort_indices()
    np.testing.assert_array_equal(graph.indices, ref.indices)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    rows = np.repeat(np.arange(len(X)), np.diff(graph.indptr))
    exact = np.sqrt(_sq(X, X))[rows, graph.indices]
    np.testing.assert_allclose(graph.data, exact, atol=tol)
    # Self pairs and the duplicate are explicit zeros.
    assert (graph.diagonal() == 0).all()
    assert graph[7, 8] == 0 and 8 in graph.indices[graph.indptr[7] : graph.indptr[8]]
    assert abs(graph - graph.T).max() == 0


def test_radius_graph_mirror_across_blocks_and_empty_rows():
    # The symmetric graph is assembled from per-block upper triangles: many
    # small blocks, isolated rows (only their self pair) and a row whose
    # neighbours all lie below it must give the dense answer.
    rng = np.random.RandomState(3)
    X = np.r_[rng.randn(300, 4), [[40.0, 0, 0, 0]], rng.randn(50, 4) + 9]
    dense = np.sqrt(_sq(X, X))
    with config_context(working_memory=0.01):
        graph = D.radius_graph(X, 1.2)
    assert graph.indices.dtype == np.int32
    pattern = graph.copy()
    pattern.has_sorted_indices = False
    pattern.sort_indices()  # the flag set by the assembly must be true
    np.testing.assert_array_equal(pattern.indices, graph.indices)
    pattern.data[:] = 1
    np.testing.assert_array_equal(pattern.toarray() > 0, dense <= 1.2)
    np.testing.assert_allclose(graph.toarray(), np.where(dense <= 1.2, dense, 0))
    lonely = D.radius_graph(X, 1e-9)
    np.testing.assert_array_equal(lonely.indices, np.arange(len(X)))
    assert lonely.nnz == len(X) and (lonely.data == 0).all()


def test_radius_graph_query_set(dtype):
    X, Y = _data(dtype)
    graph = D.radius_graph(X, 3.0, Y)
    dense = np.sqrt(_sq(X, Y))
    assert graph.shape == (len(X), len(Y))
    np.testing.assert_array_equal(graph.toarray() > 0, (dense <= 3.0) & (dense > 0))
    empty = D.radius_graph(X, 1e-3, Y)
    assert empty.nnz == 0 and isinstance(empty, sp.csr_matrix)


def test_knn_distances(dtype):
    X, Y = _data(dtype)
    ref = np.sort(np.sqrt(_sq(X, X)), axis=1)[:, 1:6]
    np.testing.assert_allclose(D.knn_distances(X, 5), ref, atol=1e-10)
    dist, idx = D.knn_distances(X, 3, Y, return_indices=True)
    full = np.sqrt(_sq(X, Y))
    np.testing.assert_allclose(np.take_along_axis(full, idx, 1), dist, atol=1e-10)
    np.testing.assert_allclose(dist, np.sort(full, 1)[:, :3], atol=1e-10)
    with pytest.raises(ValueError, match="n_neighbors"):
        D.knn_distances(X[:3], 3)


@pytest.mark.parametrize("exclude_self", [False, True])
def test_kernel_sums_dense_reference(dtype, exclude_self):
    X, _ = _data(dtype)
    F = np.random.default_rng(1).standard_normal((len(X), 3))
    eps = np.array([0.8, 1.5])
    w, s = D.kernel_sums(X, None, F, eps, exclude_self=exclude_self)
    d2 = _sq(X, X)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    for t, e in enumerate(eps):
        K = np.exp(-d2 / e**2) * (d2 <= (3 * e) ** 2)
        if exclude_self:
            np.fill_diagonal(K, 0.0)
        np.testing.assert_allclose(w[:, t], K.sum(1), rtol=tol, atol=tol)
        np.testing.assert_allclose(s[:, t], K @ F, rtol=tol, atol=tol)


@pytest.mark.parametrize("n_targets", [1, 40])
def test_kernel_sums_symmetric_blocks(n_targets):
    # A set against itself is summed over pairs j > i, each added back to its
    # column's row, when the accumulators are narrow (1 target); wide ones
    # (40) visit all pairs. Both must match the dense sums over many blocks,
    # and give the same bits for any n_jobs (the blocks, not the threads,
    # fix the order of the additions).
    rng = np.random.RandomState(5)
    X = rng.randn(700, 6)
    F = rng.randn(700, n_targets)
    eps = np.array([0.9, 2.0])
    d2 = _sq(X, X)
    with config_context(working_memory=0.02):
        w, s = D.kernel_sums(X, None, F, eps, exclude_self=True)
        w2, s2 = D.kernel_sums(X, None, F, eps, exclude_self=True, n_jobs=2)
    np.testing.assert_array_equal(w, w2)
    np.testing.assert_array_equal(s, s2)
    for t, e in enumerate(eps):
        K = np.exp(-d2 / e**2) * (d2 <= (3 * e) ** 2)
        np.fill_diagonal(K, 0.0)
        np.testing.assert_allclose(w[:, t], K.sum(1), rtol=1e-12)
        np.testing.assert_allclose(s[:, t], K @ F, rtol=1e-10, atol=1e-12)


def test_kernel_sums_any_bandwidth_order():
    # The C reduction needs ascending cutoffs; descending widths used to be
    # cut at the smallest one.
    X, Y = _data(np.float64)
    eps = np.array([1.5, 0.4, 0.8])
    w, _ = D.kernel_sums(X, Y, None, eps)
    d2 = _sq(X, Y)
    for t, e in enumerate(eps):
        K = np.exp(-d2 / e**2) * (d2 <= (3 * e) ** 2)
        np.testing.assert_allclose(w[:, t], K.sum(1), rtol=1e-10, atol=1e-10)


def test_kernel_degrees_only_and_query_set():
    X, Y = _data(np.float64)
    w, s = D.kernel_sums(X, Y, None, 1.0, radius_ratio=2.0)
    d2 = _sq(X, Y)
    np.testing.assert_allclose(w[:, 0], (np.exp(-d2) * (d2 <= 4.0)).sum(1), rtol=1e-12)
    assert s.shape == (len(X), 1, 0)


@pytest.mark.parametrize("exclude_self", [False, True])
def test_gaussian_log_sums(dtype, exclude_self):
    X, Y = _data(dtype)
    h = np.array([0.05, 0.7, 3.0])  # 0.05: exp(-d^2/2h^2) underflows in float64
    ref_Y = None if exclude_self else Y
    out = D.gaussian_log_sums(X, ref_Y, h, exclude_self=exclude_self)
    d2 = _sq(X, X if exclude_self else Y)
    if exclude_self:
        np.fill_diagonal(d2, np.inf)
    tol = 1e-9 if dtype == np.float64 else 1e-4
    for t, b in enumerate(h):
        ref = logsumexp(-d2 / (2 * b**2), axis=1)
        np.testing.assert_allclose(out[:, t], ref, rtol=tol, atol=1e-10)
    assert np.isfinite(out).all()


def test_parallel_blocks_identical():
    X, _ = _data(np.float32, n=600)
    with config_context(working_memory=0.05):
        serial = D.radius_counts(X, RADII)
        graph = D.radius_graph(X, 3.0)
        parallel = D.radius_counts(X, RADII, n_jobs=2)
        pgraph = D.radius_graph(X, 3.0, n_jobs=2)
    np.testing.assert_array_equal(serial, parallel)
    assert (graph != pgraph).nnz == 0


def test_blocks_follow_working_memory():
    blocks = D._blocks(10_000, 50_000, 4)
    with config_context(working_memory=10):
        small = D._blocks(10_000, 50_000, 4)
    assert len(small) > len(blocks)
    assert max(b.stop - b.start for b in small) * 50_000 * 4 <= 10 * 2**20
    assert sum(b.stop - b.start for b in small) == 10_000


@pytest.mark.parametrize(
    "n_cols, itemsize", [(2_000, 8), (20_000, 8), (50_000, 4), (300_000, 8)]
)
def test_blocks_stay_small_enough_to_be_reused(n_cols, itemsize):
    # GEMM outputs of <= 16 MB (or 64 rows) are reused by the next block
    # instead of faulting in fresh pages; never fewer rows than a GEMM needs.
    blocks = D._blocks(10_000, n_cols, itemsize)
    rows = max(b.stop - b.start for b in blocks)
    assert rows * n_cols * itemsize <= max(16 * 2**20, 64 * n_cols * itemsize)
    assert rows >= 64
    assert sum(b.stop - b.start for b in blocks) == 10_000


def test_tree_path_matches_the_gemm_path():
    rng = np.random.default_rng(3)
    Y = rng.uniform(size=(3000, D.TREE_MAX_FEATURES))
    tree = D.tree_knn_distances(Y[:200], 9, Y)
    gemm = D.knn_distances(Y[:200], 9, Y)  # a query set: itself included
    np.testing.assert_array_equal(tree[:, 0], 0.0)  # each row itself
    np.testing.assert_allclose(tree, gemm, rtol=1e-12, atol=1e-15)


def test_torch_device_matches_numpy():
    pytest.importorskip("torch")
    X, Y = _data(np.float64)
    np.testing.assert_array_equal(
        D.radius_counts(X, RADII, device="cpu"), D.radius_counts(X, RADII)
    )
    assert (
        abs(D.radius_graph(X, 3.0, device="cpu") - D.radius_graph(X, 3.0)).max() < 1e-12
    )
    w1, s1 = D.kernel_sums(X, Y, Y[:, :2], [0.9, 2.0], device="cpu")
    w0, s0 = D.kernel_sums(X, Y, Y[:, :2], [0.9, 2.0])
    np.testing.assert_allclose(w1, w0, rtol=1e-12)
    np.testing.assert_allclose(s1, s0, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        D.gaussian_log_sums(X, None, 0.5, exclude_self=True, device="cpu"),
        D.gaussian_log_sums(X, None, 0.5, exclude_self=True),
        rtol=1e-10,
        atol=1e-14,
    )


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="same number of columns"):
        D.radius_counts(np.zeros((3, 2)), [1.0], np.zeros((3, 4)))


# --------------------------------------------------------------------------- #
# Rescaling and centring before the GEMM (huge, tiny and far-off data)
# --------------------------------------------------------------------------- #
def _all_outputs(X, Y, scale):
    """Every engine output for data and thresholds multiplied by ``scale``."""
    radii = np.array(RADII) * scale
    w, s = D.kernel_sums(X, Y, Y[:, :2] / scale, [0.9 * scale, 2.0 * scale])
    return {
        "counts": D.radius_counts(X, radii),
        "cross": D.radius_counts(X, radii, Y),
        "graph": D.radius_graph(X, 3.0 * scale).toarray() / scale,
        "knn": D.knn_distances(X, 5) / scale,
        "weights": w,
        "sums": s,
        "log_sums": D.gaussian_log_sums(X, None, 0.5 * scale, exclude_self=True),
    }


@pytest.mark.parametrize(
    "dtype, exponent",
    [
        (np.float64, -600),
        (np.float64, 40),
        (np.float64, 600),
        (np.float32, -100),
        (np.float32, 100),
    ],
)
def test_power_of_two_scaling_is_exact(dtype, exponent):
    """The engine divides by a power of two before its GEMM: data at 2**600
    (squares overflow) or 2**-600 (underflow) give bit-identical results, in
    the user's units. float32: 2**±100, whose squares leave float32."""
    X, Y = _data(dtype)
    scale = 2.0**exponent
    ref = _all_outputs(X, Y, 1.0)
    out = _all_outputs(X * dtype(scale), Y * dtype(scale), scale)
    for key, value in ref.items():
        np.testing.assert_array_equal(out[key], value, err_msg=key)


@pytest.mark.parametrize("factor", [1e200, 1e-200, 1e300, 1e-300])
def test_huge_and_tiny_float64_match_the_unscaled_data(factor):
    X, _ = _data(np.float64)
    np.testing.assert_array_equal(
        D.radius_counts(X * factor, np.array(RADII) * factor), D.radius_counts(X, RADII)
    )
    np.testing.assert_allclose(
        D.knn_distances(X * factor, 4) / factor, D.knn_distances(X, 4), rtol=1e-12
    )
    assert D.radius_graph(X * factor, 3.0 * factor).nnz == D.radius_graph(X, 3.0).nnz


def test_float32_beyond_the_square_range():
    X, _ = _data(np.float32)
    for factor in (1e20, 1e-25, 1e36):
        Xs = X * np.float32(factor)
        Xu = Xs.astype(np.float64) / factor  # the float32 rows, in float64
        d2 = _sq(Xu, Xu)
        np.fill_diagonal(d2, np.inf)
        counts = D.radius_counts(Xs, np.array(RADII) * factor)
        np.testing.assert_array_equal(
            counts, (d2[:, :, None] <= np.square(RADII)).sum(1)
        )
        ref = np.sort(np.sqrt(d2), axis=1)[:, :3]
        np.testing.assert_allclose(D.knn_distances(Xs, 3) / factor, ref, rtol=1e-6)


@pytest.mark.parametrize(
    "dtype, offset", [(np.float64, 1e8), (np.float64, 1e11), (np.float32, 1e4)]
)
def test_far_offset_equals_brute_force(dtype, offset):
    """Norms that dwarf the distances: the GEMM form of the offset data loses
    every digit; the engine centres first, so every output equals brute force
    on the (offset, rounded) rows themselves."""
    X, Y = _data(dtype)
    X, Y = X + dtype(offset), Y + dtype(offset)
    d2 = _sq(X, X)
    np.fill_diagonal(d2, np.inf)
    np.testing.assert_array_equal(
        D.radius_counts(X, RADII), (d2[:, :, None] <= np.square(RADII)).sum(1)
    )
    np.testing.assert_allclose(
        D.knn_distances(X, 5), np.sort(np.sqrt(d2), 1)[:, :5], rtol=1e-12
    )
    graph = D.radius_graph(X, 3.0)
    np.testing.assert_array_equal(graph.toarray() > 0, (d2 <= 9.0) & (d2 > 0))
    dxy = _sq(X, Y)
    w, _ = D.kernel_sums(X, Y, None, 1.5)
    K = np.exp(-dxy / 1.5**2) * (dxy <= 4.5**2)
    tol = 1e-9 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(w[:, 0], K.sum(1), rtol=tol, atol=tol)
    ref = logsumexp(-dxy / (2 * 0.7**2), axis=1)
    out = D.gaussian_log_sums(X, Y, 0.7)[:, 0]
    np.testing.assert_allclose(out, ref, rtol=tol)


@pytest.mark.parametrize("dtype, gap", [(np.float32, 1e3), (np.float64, 1e9)])
def test_knn_exact_between_distant_clusters(dtype, gap):
    """Clusters far apart: no single centre keeps the GEMM's rounding below
    the within-cluster distances, so the kNN candidates are checked against
    the rounding bound and every doubtful column is evaluated exactly."""
    rng = np.random.default_rng(4)
    centres = gap * rng.standard_normal((6, 12))
    X = (centres[rng.integers(0, 6, 600)] + rng.standard_normal((600, 12))).astype(
        dtype
    )
    d2 = _sq(X, X)
    np.fill_diagonal(d2, np.inf)
    dist, idx = D.knn_distances(X, 7, return_indices=True)
    np.testing.assert_allclose(dist, np.sort(np.sqrt(d2), 1)[:, :7], rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(np.take_along_axis(d2, idx, 1)), dist)
    with_self = D.knn_distances(X, 3, exclude_self=False)
    assert (with_self[:, 0] == 0).all()


def test_knn_every_reference_row_and_duplicates(dtype):
    """k up to every available row (no rival test left) and tied duplicates."""
    rng = np.random.default_rng(5)
    X = np.repeat(rng.standard_normal((15, 4)), 2, axis=0).astype(dtype)
    d2 = _sq(X, X)
    for k, exclude in [(29, True), (30, False), (12, True)]:
        ref = d2.copy()
        if exclude:
            np.fill_diagonal(ref, np.inf)
        dist, idx = D.knn_distances(X, k, exclude_self=exclude, return_indices=True)
        np.testing.assert_allclose(
            dist, np.sort(np.sqrt(ref), 1)[:, :k], rtol=1e-12, atol=1e-12
        )
        np.testing.assert_allclose(np.sqrt(np.take_along_axis(ref, idx, 1)), dist)
        assert all(np.unique(row).size == k for row in idx)
    # the twin of a duplicated row is its nearest neighbour, at distance 0
    dist, idx = D.knn_distances(X, 1, return_indices=True)
    assert (dist[:, 0] == 0).all() and (idx[:, 0] == np.arange(30) ^ 1).all()


def test_farthest_distances():
    X, Y = _data(np.float64)
    np.testing.assert_allclose(
        D.farthest_distances(X), np.sqrt(_sq(X, X)).max(1), rtol=1e-9
    )
    np.testing.assert_allclose(
        D.farthest_distances(X + 1e9, Y + 1e9), np.sqrt(_sq(X, Y)).max(1), rtol=1e-6
    )


def test_data_unit():
    assert D.data_unit(np.array([[3.0, -1e9]])) == 1.0
    assert D.data_unit(np.array([[1e200]])) == 2.0**665
    assert D.data_unit(np.array([[1e-200]]), np.zeros((2, 1))) == 2.0**-664
    assert D.data_unit(np.zeros((3, 2))) == 1.0
