"""IESSelector and the IES core (:ref:`conv-ies`, :ref:`conv-known-answers`)."""

import math
from itertools import combinations
from unittest import mock

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sksbi_manifold._geometry import distances, eigen, kernels, laplacian, metric
from sksbi_manifold.datasets import make_lifted_manifold
from sksbi_manifold.embedding import DiffusionMapsGC, IESSelector, _ies

ESTIMATORS = [
    IESSelector(
        n_components=2, embedding=DiffusionMapsGC(n_components=4), random_state=0
    ),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --- data
def _dm(X, eps, m, seed=0):
    """Diffusion maps straight from the geometry layer."""
    W = kernels.gaussian_affinity(distances.radius_graph(X, 3 * eps), eps)
    lap = laplacian.renormalized_laplacian(W, eps)
    lam, phi = eigen.laplacian_eigenpairs(
        lap, m, eigen_solver="arpack", random_state=seed
    )
    return lap, lam[1:], phi[:, 1:]


def _strip(n, aspect, seed):
    X, coords, _ = make_lifted_manifold(
        "strip", n, ambient_dim=3, noise=0.05, aspect_ratio=aspect, random_state=seed
    )
    return X, coords


def _dm_estimator(m, eps):
    return DiffusionMapsGC(n_components=m, epsilon=eps, eigen_solver="arpack")


def _canonical_correlations(A, B):
    qa, _ = np.linalg.qr(A - A.mean(axis=0))
    qb, _ = np.linalg.qr(B - B.mean(axis=0))
    return np.linalg.svd(qa.T @ qb, compute_uv=False)


def _outer_swiss_roll(n, window, seed):
    """The outer ``window`` of arc length of the package's swiss roll."""
    info = make_lifted_manifold(
        "swiss_roll",
        int(n * 36.5 / window),
        ambient_dim=3,
        random_state=seed,
        return_info=True,
    )
    keep = info.arc_length >= info.arc_length.max() - window
    return info.data[keep], np.c_[info.arc_length[keep], info.coords[keep, 1]]


# --- core
def test_candidate_subsets_enumerate_sets_with_first_column():
    subsets = _ies.candidate_subsets(7, 3)
    assert subsets.shape == (math.comb(6, 2), 3)
    assert np.all(subsets[:, 0] == 0)
    assert np.all(np.diff(subsets, axis=1) > 0)
    assert len({tuple(s) for s in subsets}) == subsets.shape[0]
    assert tuple(subsets[0]) == (0, 1, 2)
    assert _ies.candidate_subsets(5, 1).tolist() == [[0]]
    assert _ies.candidate_subsets(3, 3).tolist() == [[0, 1, 2]]
    with pytest.raises(ValueError, match="subset_size"):
        _ies.candidate_subsets(3, 4)


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_log_volumes_equal_slogdet_of_normalised_bases(d):
    rng = np.random.default_rng(d)
    U = np.linalg.qr(rng.standard_normal((40, 9, 4)))[0]
    U[5, :, 1] = U[5, :, 0]  # rank-deficient tangent basis at one point
    U[6, 3:, :] = 0.0  # with U[6, 0, 1] = 0, sets {0} + (rows >= 3) have a
    U[6, 0, 1] = 0.0  # zero second column
    subsets = _ies.candidate_subsets(9, 4)
    r = _ies.log_volumes(U, subsets, d)
    expected = np.empty_like(r)
    for a, S in enumerate(subsets):
        B = U[:, S, :d]  # rows: projected gradients, scaled to unit length
        norms = np.linalg.norm(B, axis=2, keepdims=True)
        B = B / np.where(norms > 0, norms, 1.0)
        sign, logdet = np.linalg.slogdet(np.einsum("ika,ikb->iab", B, B))
        expected[a] = np.where(sign > 0, 0.5 * logdet, -np.inf)
    finite = np.isfinite(expected)
    # slogdet of a numerically singular matrix can come out positive and tiny;
    # the elimination calls those -inf too or finite but hugely negative.
    clear = finite & (expected > -10)
    assert np.array_equal(np.isfinite(r)[clear], finite[clear])
    np.testing.assert_allclose(r[clear], expected[clear], atol=1e-9)
    # unit rows: trace G = s, so det G <= (s / d)^d (= 1 for s = d, Hadamard)
    assert np.all(r[np.isfinite(r)] <= 0.5 * d * np.log(4 / d) + 1e-12)
    if d > 1:
        assert np.all(np.isneginf(r[:, 5]))
        assert np.all(np.isneginf(r[subsets[:, 1] >= 3, 6]))


def test_log_volumes_do_not_depend_on_n_jobs_or_chunking(monkeypatch):
    rng = np.random.default_rng(0)
    U = np.linalg.qr(rng.standard_normal((30, 10, 3)))[0]
    subsets = _ies.candidate_subsets(10, 4)
    r1 = _ies.log_volumes(U, subsets, 3, n_jobs=1)
    np.testing.assert_array_equal(r1, _ies.log_volumes(U, subsets, 3, n_jobs=2))
    monkeypatch.setattr(_ies, "_CHUNK_ENTRIES", 200)  # one set per chunk
    np.testing.assert_allclose(r1, _ies.log_volumes(U, subsets, 3), atol=1e-12)


def test_tangent_bases_are_top_eigenvectors_descending():
    X, _ = _strip(600, 2.0, 0)
    lap, _, phi = _dm(X, 0.5, 6)
    rows = np.arange(0, 600, 37)
    values, U = _ies.tangent_bases(lap, phi, rows, 2)
    H = metric.riemannian_metric(lap, phi, rows=rows)
    expected = np.linalg.eigvalsh(H)[:, ::-1]
    rayleigh = np.einsum("iak,iab,ibk->ik", U, H, U)
    np.testing.assert_allclose(rayleigh, expected[:, :2], rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(values, expected[:, :2], rtol=1e-10, atol=1e-16)
    assert np.all(rayleigh[:, 0] >= rayleigh[:, 1])


def _reference_loo(r, candidates):
    """Loop transcription of the reference ``average_no_regu_gain`` + ptile."""
    n_points = r.shape[1]
    total = r.sum(axis=1)
    out = []
    for c in candidates:
        gains = []
        for i in range(n_points):
            residual = (total - r[:, i]) / (n_points - 1)
            gains.append(residual[c] - residual[r[:, i].argmax()])
        out.append(np.percentile(-np.array(gains), 75))
    return np.array(out)


def test_loo_percentiles_match_reference_loop():
    rng = np.random.default_rng(1)
    r = -rng.gamma(2.0, 1.0, size=(15, 25))
    candidates = np.array([3, 0, 7, 14])
    np.testing.assert_allclose(
        _ies.loo_percentiles(r, candidates), _reference_loo(r, candidates)
    )


def test_unregularised_winner_always_passes_loo_rule():
    rng = np.random.default_rng(2)
    for _ in range(20):
        r = -rng.gamma(1.5, 1.0, size=(30, 12))
        best = np.argmax(r.mean(axis=1))
        assert _ies.loo_percentiles(r, np.array([best]))[0] <= _ies.LOO_THRESHOLD


def _toy_table(rng, n_sub=40, n_s=30):
    r = -rng.gamma(2.0, 1.0, size=(n_sub, n_s))
    r[0] -= 3.0  # the lowest-frequency set is clearly not the best one
    return r


@pytest.mark.parametrize("scale", [1e-7, 1.0, 1e7])
def test_zeta_grid_covers_whole_path_at_any_eigenvalue_scale(scale):
    rng = np.random.default_rng(3)
    subsets = _ies.candidate_subsets(8, 3)
    r = _toy_table(rng, n_sub=subsets.shape[0])
    eigenvalues = scale * np.sort(rng.uniform(0.1, 2.0, 8))
    path = _ies.ies_path(r, subsets, eigenvalues, 2)
    R = r.mean(axis=1)
    penalty = eigenvalues[subsets].sum(axis=1)
    assert path.winners[0] == np.argmax(R)  # unregularised end
    assert path.winners[-1] == np.argmin(penalty)  # lowest-frequency end
    assert tuple(path.selection) == tuple(subsets[path.candidates[path.chosen]])
    # the selection is scale-free (zeta rescales inversely)
    ref = _ies.ies_path(r, subsets, eigenvalues / scale, 2)
    assert tuple(ref.selection) == tuple(path.selection)
    assert [tuple(subsets[c]) for c in ref.candidates] == [
        tuple(subsets[c]) for c in path.candidates
    ]


def test_path_candidates_and_fixed_zeta():
    rng = np.random.default_rng(4)
    subsets = _ies.candidate_subsets(8, 3)
    r = _toy_table(rng, n_sub=subsets.shape[0])
    eigenvalues = np.sort(rng.uniform(0.1, 2.0, 8))
    path = _ies.ies_path(r, subsets, eigenvalues, 2)
    # candidates change at every listed position and zetas increase
    assert np.all(path.candidates[1:] != path.candidates[:-1])
    assert np.all(np.diff(path.candidate_zetas) > 0)
    for cand, zeta in zip(path.candidates, path.candidate_zetas):
        fixed = _ies.ies_path(r, subsets, eigenvalues, 2, zeta=zeta)
        assert tuple(fixed.selection) == tuple(subsets[cand])
    # the chosen candidate is the last one passing the LOO rule
    ok = np.flatnonzero(path.loo_percentiles <= _ies.LOO_THRESHOLD)
    assert path.chosen == ok[-1]


def test_degenerate_sets_are_never_selected():
    rng = np.random.default_rng(5)
    subsets = _ies.candidate_subsets(6, 2)
    r = _toy_table(rng, n_sub=subsets.shape[0], n_s=10)
    best = int(np.argmax(r.mean(axis=1)))
    r[best, 3] = -np.inf  # rank loss at one point
    path = _ies.ies_path(r, subsets, np.arange(1.0, 7.0), 2)
    assert best not in path.candidates
    assert np.all(np.isfinite(path.loo_percentiles))


def test_rank_deficient_points_are_skipped():
    X, _ = _strip(700, 2.5, 3)
    lap, lam, phi = _dm(X, 0.45, 6)
    rows = np.arange(0, 700, 7)
    clean = _ies.independent_eigencoordinates(lap, phi, lam, 2, [2], rows=rows)[0]
    # Row 14 keeps one neighbour only (still a Markov row): its dual metric has
    # rank 1, so its second tangent vector is an arbitrary null vector.
    L = lap.matrix.tolil()
    neighbour = next(j for j in L.rows[14] if j != 14)
    L[14, :] = 0.0
    L[14, 14], L[14, neighbour] = -1.0, 1.0
    L = L.tocsr()
    values, _ = _ies.tangent_bases(L, phi, np.array([14, 21]), 2)
    assert _ies.informative_points(values, 2).tolist() == [False, True]
    assert _ies.informative_points(values, 1).tolist() == [True, True]
    path = _ies.independent_eigencoordinates(L, phi, lam, 2, [2], rows=rows)[0]
    assert path.n_points == rows.size - 1
    assert path.selection.tolist() == clean.selection.tolist() == [0, 2]


def test_aggregate_selections_by_frequency():
    selections = np.array([[0, 1, 3], [0, 1, 5], [0, 3, 5], [0, 1, 2]])
    support, freq = _ies.aggregate_selections(selections, 8, 3)
    assert support.tolist() == [0, 1, 3]  # 3 and 5 tie: lower eigenvalue wins
    np.testing.assert_allclose(freq[[0, 1, 2, 3, 5, 7]], [1, 0.75, 0.25, 0.5, 0.5, 0])


def test_exhaustive_search_budget_is_checked():
    X = np.random.default_rng(0).standard_normal((6, 2))
    lap = laplacian.renormalized_laplacian(
        kernels.gaussian_affinity(distances.radius_graph(X, 10.0), 3.0), 3.0
    )
    Phi = np.random.default_rng(1).standard_normal((6, 60))
    with pytest.raises(ValueError, match="Reduce the subset size"):
        _ies.independent_eigencoordinates(
            lap, Phi, np.arange(1.0, 61.0), 12, [2], rows=np.arange(6)
        )


# --- known answers
def test_short_strip_selects_first_cross_coordinate():
    # Aspect 2.5: lambda(1,0) < lambda(2,0) < lambda(0,1) < lambda(3,0), so phi_3
    # (index 2) is the first eigenvector across the strip.
    X, coords = _strip(1200, 2.5, 0)
    ies = IESSelector(
        n_components=2, embedding=_dm_estimator(6, 0.4), random_state=0
    ).fit(X)
    assert ies.support_.tolist() == [0, 2]
    cross = ies.embedding_estimator_.embedding_[:, 2]
    assert abs(np.corrcoef(cross, np.cos(np.pi * (coords[:, 1] + 2) / 4))[0, 1]) > 0.9
    path = ies.regularization_path_[0]
    assert path.candidates[0].tolist() == [0, 2]
    assert path.candidates[-1].tolist() == [0, 1]  # plain first two coordinates
    big = IESSelector(n_components=2, embedding=_dm_estimator(6, 0.4), zeta=1e4)
    assert big.fit(X).support_.tolist() == [0, 1]
    assert ies.zeta_ == pytest.approx(0.4, rel=0.3)


def test_swiss_roll_selection_parametrises_both_coordinates():
    # Outer part of the roll, aspect ratio 14 / 4 = 3.5.
    X, T = _outer_swiss_roll(3000, 14.0, 0)
    ies = IESSelector(
        n_components=2, embedding=_dm_estimator(10, 0.5), random_state=0
    ).fit(X)
    assert ies.support_[0] == 0 and ies.support_[1] > 1
    assert np.all(_canonical_correlations(ies.embedding_, T) > 0.9)
    first_two = ies.embedding_estimator_.embedding_[:, :2]
    assert _canonical_correlations(first_two, T)[1] < 0.2


def test_several_intrinsic_dims_are_aggregated():
    X, _ = _strip(800, 2.5, 1)
    ies = IESSelector(
        n_components=2,
        intrinsic_dim=[1, 2, 3],
        subset_size=3,
        embedding=_dm_estimator(6, 0.45),
        random_state=0,
    ).fit(X)
    assert ies.selections_.shape == (3, 3)
    assert len(ies.regularization_path_) == 3
    assert [p.intrinsic_dim for p in ies.regularization_path_] == [1, 2, 3]
    assert ies.zeta_.shape == (3,)
    counts = np.bincount(ies.selections_.ravel(), minlength=6) / 3
    np.testing.assert_allclose(ies.scores_, counts)
    expected, _ = _ies.aggregate_selections(ies.selections_, 6, 2)
    assert ies.support_.tolist() == expected.tolist()
    assert 0 in ies.support_


# --- estimator API
@pytest.fixture(scope="module")
def strip_fit():
    X, _ = _strip(700, 2.5, 2)
    dm = _dm_estimator(6, 0.45).set_params(random_state=0).fit(X)
    return X, dm


def test_transform_is_inner_transform_on_support(strip_fit):
    X, dm = strip_fit
    ies = IESSelector(n_components=2, embedding=dm, prefit=True, random_state=0)
    Y = ies.fit_transform(X)
    np.testing.assert_array_equal(Y, dm.embedding_[:, ies.support_])
    np.testing.assert_array_equal(ies.embedding_, Y)
    np.testing.assert_array_equal(ies.eigenvalues_, dm.eigenvalues_[ies.support_])
    assert ies.laplacian_ is dm.laplacian_
    X_new = X[:50] + 0.01
    np.testing.assert_allclose(
        ies.transform(X_new), dm.transform(X_new)[:, ies.support_]
    )
    np.testing.assert_allclose(ies.transform(X), Y, atol=1e-8)
    names = ies.get_feature_names_out()
    assert names.tolist() == [f"dm{k}" for k in ies.support_]
    assert ies.get_support().sum() == 2
    assert ies.get_support(indices=True).tolist() == ies.support_.tolist()


def test_prefit_never_refits(strip_fit):
    X, dm = strip_fit
    before = dm.embedding_.copy()
    with mock.patch.object(type(dm), "fit", side_effect=AssertionError("refit")):
        ies = IESSelector(n_components=2, embedding=dm, prefit=True).fit(X)
    assert ies.embedding_estimator_ is dm
    np.testing.assert_array_equal(dm.embedding_, before)
    cloned = IESSelector(
        n_components=2, embedding=_dm_estimator(6, 0.45), random_state=0
    ).fit(X)
    assert cloned.embedding_estimator_ is not cloned.embedding
    with pytest.raises(NotFittedError):
        IESSelector(embedding=_dm_estimator(6, 0.45), prefit=True).fit(X)
    with pytest.raises(ValueError, match="prefit=True"):
        IESSelector(prefit=True).fit(X)


def test_random_state_reaches_inner_estimator(strip_fit):
    X = strip_fit[0][:300]
    dm = DiffusionMapsGC(n_components=4, eigen_solver="arpack", gc_sample_size=50)
    a = IESSelector(n_components=2, embedding=dm, random_state=3).fit(X)
    b = IESSelector(n_components=2, embedding=dm, random_state=3).fit(X)
    assert dm.random_state is None  # the user's estimator is untouched
    assert a.embedding_estimator_.random_state is not None
    np.testing.assert_array_equal(a.embedding_, b.embedding_)


def test_pandas_output(strip_fit):
    pd = pytest.importorskip("pandas")
    X, dm = strip_fit
    ies = IESSelector(n_components=2, embedding=dm, prefit=True).set_output(
        transform="pandas"
    )
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    out = ies.fit(frame).transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"dm{k}" for k in ies.support_]


def test_bad_parameters_give_clear_errors(strip_fit):
    X, dm = strip_fit
    with pytest.raises(ValueError, match="subset_size"):
        IESSelector(n_components=2, subset_size=7, embedding=dm, prefit=True).fit(X)
    with pytest.raises(ValueError, match="smaller than n_components"):
        IESSelector(n_components=3, subset_size=2, embedding=dm, prefit=True).fit(X)
    with pytest.raises(ValueError, match="intrinsic_dim"):
        IESSelector(intrinsic_dim=[2, 0], embedding=dm, prefit=True).fit(X)

    class NoLaplacian(DiffusionMapsGC):
        def fit(self, X, y=None):
            super().fit(X)
            del self.laplacian_
            return self

    with pytest.raises(ValueError, match="laplacian_"):
        IESSelector(
            n_components=2,
            embedding=NoLaplacian(4, epsilon=0.45, eigen_solver="arpack"),
        ).fit(X)


def test_n_components_clipped_to_the_inner_columns(strip_fit):
    X, dm = strip_fit
    ies = IESSelector(n_components=7, embedding=dm, prefit=True, random_state=0)
    with pytest.warns(UserWarning, match="n_components=7 exceeds the 6 columns"):
        ies.fit(X)
    assert ies.n_components_ == 6 and ies.support_.tolist() == list(range(6))
    assert ies.transform(X[:4]).shape == (4, 6)
    # the default subset size follows the clipped value and the inner columns
    multi = IESSelector(intrinsic_dim=[3, 8], embedding=dm, prefit=True).fit(X)
    assert multi.selections_.shape == (2, 6) and multi.n_components_ == 3


def test_exhaustive_search_is_fast_at_paper_size():
    # m = 20, s = d = 6: 11,628 sets x 500 points in one vectorised pass.
    rng = np.random.default_rng(0)
    U = np.linalg.qr(rng.standard_normal((500, 20, 6)))[0]
    subsets = _ies.candidate_subsets(20, 6)
    assert subsets.shape[0] == math.comb(19, 5) == 11628
    r = _ies.log_volumes(U[:100], subsets[:2000], 6)
    assert r.shape == (2000, 100) and np.all(r <= 0)
    # spot-check against brute force on a few sets
    for a in (0, 777, 1999):
        B = U[:100, subsets[a], :6]
        B = B / np.linalg.norm(B, axis=2, keepdims=True)
        ref = 0.5 * np.linalg.slogdet(np.einsum("ika,ikb->iab", B, B))[1]
        np.testing.assert_allclose(r[a], ref, atol=1e-9)
    assert len(list(combinations(range(1, 20), 5))) == subsets.shape[0]


# --- slow
@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_long_strip_ies_picks_phi1_phi7(seed):
    # Known answer (doc/conventions.rst, 'Known-answer tests'): aspect 2 pi,
    # eps = 0.25, m = 20, n = 8000.
    X, coords = _strip(8000, 2 * np.pi, seed)
    ies = IESSelector(
        n_components=2,
        embedding=_dm_estimator(20, 0.25).set_params(random_state=0),
        random_state=0,
    ).fit(X)
    assert ies.support_.tolist() == [0, 6]
    phi7 = ies.embedding_estimator_.embedding_[:, 6]
    assert abs(np.corrcoef(phi7, np.cos(np.pi * (coords[:, 1] + 2) / 4))[0, 1]) > 0.9
    path = ies.regularization_path_[0]
    assert path.candidates[-1].tolist() == [0, 1]
    assert ies.zeta_ == pytest.approx(0.28, rel=0.25)


@pytest.mark.slow
def test_paper_size_search_over_several_dims():
    X, _ = _strip(3000, 2 * np.pi, 0)
    ies = IESSelector(
        n_components=3,
        intrinsic_dim=[3, 4, 5, 6],
        embedding=_dm_estimator(20, 0.35),
        random_state=0,
    ).fit(X)
    assert ies.selections_.shape == (4, 6)
    assert ies.support_.shape == (3,) and ies.support_[0] == 0
    assert ies.regularization_path_[0].path.shape[1] == 6


def test_frozen_embedding_is_reused_by_clones_and_prefit_follows_select_from_model():
    # FrozenEstimator.fit(X, y) needs y: the inner fit is called as
    # SelectFromModel calls it. prefit=True does not survive clone (as
    # SelectFromModel); FrozenEstimator is the way to share a fitted embedding.
    from sklearn.base import clone
    from sklearn.frozen import FrozenEstimator

    from sksbi_manifold import RiemannianRelaxation

    rng = np.random.default_rng(0)
    t = rng.uniform(0, 2 * np.pi, 600)
    X = np.c_[np.cos(t), np.sin(t), 0.3 * rng.standard_normal(600)]
    dm = DiffusionMapsGC(n_components=6, random_state=0).fit(X)
    before = dm.get_params()
    prefit = IESSelector(n_components=2, embedding=dm, prefit=True).fit(X)
    frozen = clone(IESSelector(n_components=2, embedding=FrozenEstimator(dm)))
    frozen.fit(X)
    np.testing.assert_array_equal(frozen.embedding_, prefit.embedding_)
    assert dm.get_params() == before  # neither reseeded nor refitted
    with pytest.raises(NotFittedError):
        clone(IESSelector(n_components=2, embedding=dm, prefit=True)).fit(X)
    rr = RiemannianRelaxation(n_components=2, embedding=FrozenEstimator(prefit))
    rr_prefit = RiemannianRelaxation(n_components=2, embedding=prefit, prefit=True)
    np.testing.assert_allclose(clone(rr).fit(X).embedding_, rr_prefit.fit(X).embedding_)


def test_score_delegates_to_the_inner_embedding_and_drives_gridsearch():
    from sklearn.model_selection import GridSearchCV, KFold

    X = make_lifted_manifold("swiss_roll", 600, ambient_dim=3, random_state=0)[0]
    ies = IESSelector(
        n_components=2,
        embedding=DiffusionMapsGC(n_components=6, intrinsic_dim=2, random_state=0),
        random_state=0,
    ).fit(X)
    assert ies.score(X) == ies.embedding_estimator_.score(X)
    grid = {"embedding__epsilon": [0.3, 0.7, 1.5]}
    search = GridSearchCV(ies, grid, cv=KFold(3, shuffle=True, random_state=0))
    search.fit(X)
    # the same choice as scoring the bare diffusion maps
    dm_search = GridSearchCV(
        DiffusionMapsGC(n_components=6, intrinsic_dim=2, random_state=0),
        {"epsilon": grid["embedding__epsilon"]},
        cv=KFold(3, shuffle=True, random_state=0),
    ).fit(X)
    assert (
        search.best_params_["embedding__epsilon"] == dm_search.best_params_["epsilon"]
    )
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], dm_search.cv_results_["mean_test_score"]
    )
    with pytest.raises(NotFittedError):
        IESSelector().score(X)


def test_score_is_absent_when_the_inner_estimator_has_none():
    from sklearn.manifold import SpectralEmbedding

    assert hasattr(IESSelector(), "score")
    assert not hasattr(IESSelector(embedding=SpectralEmbedding()), "score")
