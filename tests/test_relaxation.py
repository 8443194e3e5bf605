"""RiemannianRelaxation and its loss/gradient core.

See :ref:`conv-relaxation` and :ref:`conv-known-answers`.
"""

import warnings
from unittest import mock

import numpy as np
import pytest
from scipy.spatial import cKDTree
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sksbi_manifold._geometry import distances, eigen, kernels, laplacian, metric
from sksbi_manifold.datasets import make_lifted_manifold
from sksbi_manifold.embedding import (
    DiffusionMapsGC,
    IESSelector,
    RiemannianRelaxation,
    _relaxation,
)
from sksbi_manifold.interpretation import NadarayaWatsonInterpolator

ESTIMATORS = [
    RiemannianRelaxation(
        n_components=2,
        embedding=IESSelector(
            n_components=2, embedding=DiffusionMapsGC(n_components=4)
        ),
        random_state=0,
    ),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        # tiny random data: the relaxation may stop at max_iter
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# --- data
def _roll(n, seed=0):
    info = make_lifted_manifold(
        "swiss_roll", n, ambient_dim=3, random_state=seed, return_info=True
    )
    return info.data, np.c_[info.arc_length, info.coords[:, 1]]


def _geometry(X, eps, m=12):
    W = kernels.gaussian_affinity(distances.radius_graph(X, 3 * eps), eps)
    lap = laplacian.renormalized_laplacian(W, eps)
    _, phi = eigen.laplacian_eigenpairs(lap, m, eigen_solver="arpack", random_state=0)
    return lap, phi[:, 1:]


@pytest.fixture(scope="module")
def roll_geometry():
    X, T = _roll(500)
    lap, phi = _geometry(X, 0.9)
    return X, T, lap, phi


def _local_distortion(Y, T, lo=0.3, hi=1.5):
    """Std of log(embedding distance / true arc-length distance).

    See :ref:`conv-known-answers`.
    """
    pairs = cKDTree(T).query_pairs(hi, output_type="ndarray")
    dt = np.linalg.norm(T[pairs[:, 0]] - T[pairs[:, 1]], axis=1)
    keep = dt > lo
    de = np.linalg.norm(Y[pairs[keep, 0]] - Y[pairs[keep, 1]], axis=1)
    return float(np.std(np.log(de / dt[keep])))


# --- core
@pytest.mark.parametrize("weights", ["uniform", "self_transition"])
@pytest.mark.parametrize("columns,d", [([0, 8], 2), ([0, 1, 8], 2), ([0, 8, 9], 3)])
def test_gradient_matches_central_differences(roll_geometry, weights, columns, d):
    _, _, lap, phi = roll_geometry
    w = _relaxation.relaxation_weights(lap, lap.epsilon, weights)
    problem = _relaxation.RelaxationProblem(lap, d, 0.5, w)
    Y = phi[:, columns]
    Y = _relaxation.auto_init_scale(problem, Y) * Y
    direction = np.random.default_rng(1).standard_normal(Y.shape)
    direction -= direction.mean(axis=0)
    _, grad = problem.loss_and_gradient(Y)
    h = 1e-6 * np.abs(Y).max()
    numeric = (problem.loss(Y + h * direction) - problem.loss(Y - h * direction)) / (
        2 * h
    )
    analytic = float(np.sum(grad * direction))
    assert abs(numeric - analytic) <= 1e-5 * abs(analytic)
    np.testing.assert_allclose(grad.sum(axis=0), 0.0, atol=1e-12 * np.abs(grad).max())


def test_dual_metric_equals_geometry_layer(roll_geometry):
    _, _, lap, phi = roll_geometry
    problem = _relaxation.RelaxationProblem(lap, 2, 0.5, np.full(500, 1 / 500))
    Y = 40.0 * phi[:, [0, 3, 8]] + 100.0  # large offset: centring matters
    ref = metric.riemannian_metric(lap, Y)
    np.testing.assert_allclose(
        problem.dual_metric(Y), ref, atol=1e-9 * np.abs(ref).max()
    )


def test_loss_definition_and_invariances(roll_geometry):
    _, _, lap, phi = roll_geometry
    w = np.full(500, 1 / 500)
    eo = 0.5
    problem = _relaxation.RelaxationProblem(lap, 1, eo, w)
    Y = 30.0 * phi[:, [0, 5]]
    h = np.linalg.eigvalsh(metric.riemannian_metric(lap, Y))[:, ::-1]
    dev = np.c_[(h[:, 0] - 1) / (1 + eo**2), h[:, 1] / eo**2]
    expected = np.sum(w * np.max(dev**2, axis=1))
    assert problem.loss(Y) == pytest.approx(expected, rel=1e-10)
    assert problem.loss(Y + 7.0) == pytest.approx(expected, rel=1e-10)
    rot = np.array([[0.6, -0.8], [0.8, 0.6]])
    assert problem.loss(Y @ rot) == pytest.approx(expected, rel=1e-8)


def test_weights_and_auto_scale(roll_geometry):
    _, _, lap, phi = roll_geometry
    w = _relaxation.relaxation_weights(lap, lap.epsilon, "self_transition")
    p_self = 1 + lap.matrix.diagonal() * lap.epsilon**2 / 4
    np.testing.assert_allclose(w, p_self / p_self.sum())
    assert w.sum() == pytest.approx(1.0) and np.all(w > 0)
    np.testing.assert_allclose(
        _relaxation.relaxation_weights(lap, None, "uniform"), np.full(500, 1 / 500)
    )
    with pytest.raises(ValueError, match="epsilon"):
        _relaxation.relaxation_weights(lap, None, "self_transition")
    problem = _relaxation.RelaxationProblem(lap, 2, 0.5, w)
    Y = phi[:, [0, 8]]
    c = _relaxation.auto_init_scale(problem, Y)
    h = np.linalg.eigvalsh(problem.dual_metric(c * Y))[:, ::-1]
    assert np.median(h[:, :2].mean(axis=1)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="init_scale"):
        _relaxation.auto_init_scale(problem, np.ones((500, 2)))


def test_relax_keeps_best_iterate_and_stops_on_stagnation(roll_geometry):
    _, _, lap, phi = roll_geometry
    problem = _relaxation.RelaxationProblem(lap, 2, 0.5, np.full(500, 1 / 500))
    Y0 = phi[:, [0, 8]]
    Y0 = _relaxation.auto_init_scale(problem, Y0) * Y0
    res = _relaxation.relax(problem, Y0, max_iter=400, tol=1e-2)
    assert res.converged and res.n_iter < 400
    assert res.loss_curve.shape == (res.n_iter + 1,)
    assert np.all(np.diff(res.loss_curve) <= 1e-12 * res.loss_curve[0])
    assert res.loss <= res.loss_curve.min()
    assert res.loss == pytest.approx(problem.loss(res.embedding))
    window = _relaxation.STAGNATION_WINDOW
    old = res.loss_curve[-1 - window]
    assert old - res.loss_curve[-1] <= 1e-2 * old
    short = _relaxation.relax(problem, Y0, max_iter=3, tol=0.0)
    assert short.n_iter == 3 and not short.converged
    zero = _relaxation.relax(problem, Y0, max_iter=0)
    np.testing.assert_array_equal(zero.embedding, Y0)


# --- known answer
def test_swiss_roll_relaxation_reduces_loss_and_distortion(relaxed_swiss_roll):
    # Known answer (doc/conventions.rst, 'Known-answer tests') at n = 1000:
    # IES-selected DM coordinates, s = d = 2 (the shared fixture).
    X, T, rr = relaxed_swiss_roll.X, relaxed_swiss_roll.T, relaxed_swiss_roll.rr
    assert rr.loss_ < 0.2 * rr.loss_curve_[0]
    before = _local_distortion(rr.initial_embedding_, T)
    after = _local_distortion(rr.embedding_, T)
    assert after < 0.7 * before
    # score on the training rows is minus the loss of the fit
    assert rr.score(X) == pytest.approx(-rr.loss_, rel=1e-9)


# --- estimator API
@pytest.fixture(scope="module")
def fitted_chain():
    X_all, T_all = _roll(1400, seed=1)
    X, T = X_all[:700], T_all[:700]
    dm = DiffusionMapsGC(
        n_components=12, epsilon=0.8, eigen_solver="arpack", random_state=0
    ).fit(X)
    ies = IESSelector(n_components=2, embedding=dm, prefit=True, random_state=0).fit(X)
    rr = RiemannianRelaxation(n_components=2, embedding=ies, prefit=True).fit(X)
    return X, T, dm, ies, rr, X_all[700:]


def test_fitted_attributes(fitted_chain):
    _, _, dm, ies, rr, _ = fitted_chain
    assert rr.embedding_.shape == rr.initial_embedding_.shape == (700, 2)
    np.testing.assert_allclose(rr.initial_embedding_, rr.init_scale_ * ies.embedding_)
    assert rr.laplacian_ is dm.laplacian_
    assert rr.epsilon_ == dm.epsilon_
    assert rr.loss_curve_.shape == (rr.n_iter_ + 1,)
    assert rr.loss_ == pytest.approx(rr.loss_curve_.min())
    assert rr.weights_.sum() == pytest.approx(1.0)
    assert rr.get_feature_names_out().tolist() == ["rr0", "rr1"]


def test_transform_exact_on_training_rows_else_nadaraya_watson(fitted_chain):
    X, _, dm, _, rr, _ = fitted_chain
    np.testing.assert_array_equal(rr.transform(X[:40]), rr.embedding_[:40])
    rng = np.random.default_rng(0)
    X_new = X[:60] + 0.05 * rng.standard_normal((60, 3))
    nw = NadarayaWatsonInterpolator(bandwidth=dm.epsilon_).fit(X, rr.embedding_)
    np.testing.assert_allclose(rr.transform(X_new), nw.predict(X_new), rtol=1e-10)
    mixed = np.vstack([X_new[:5], X[7:9]])
    np.testing.assert_allclose(rr.transform(mixed)[5:], rr.embedding_[7:9])
    out32 = rr.transform(X_new.astype(np.float32))
    assert out32.dtype == np.float32


def test_score_prefers_relaxed_map_on_held_out_data(fitted_chain):
    # same manifold (same random isometry), independent points
    X, _, _, ies, rr, X_test = fitted_chain
    unrelaxed = RiemannianRelaxation(
        n_components=2, embedding=ies, prefit=True, max_iter=0
    ).fit(X)
    assert rr.score(X_test) > unrelaxed.score(X_test)
    assert rr.score(X_test) <= 0


def test_prefit_never_refits(fitted_chain):
    X, _, _, ies, _, _ = fitted_chain
    with mock.patch.object(IESSelector, "fit", side_effect=AssertionError("refit")):
        rr = RiemannianRelaxation(n_components=2, embedding=ies, prefit=True).fit(X)
    assert rr.embedding_estimator_ is ies
    with pytest.raises(ValueError, match="rows"):
        RiemannianRelaxation(n_components=2, embedding=ies, prefit=True).fit(X[:100])


def test_pipeline_and_nested_parameters(fitted_chain):
    X = fitted_chain[0][:400]
    pipe = make_pipeline(
        StandardScaler(),
        RiemannianRelaxation(
            n_components=2,
            embedding=IESSelector(
                n_components=2,
                embedding=DiffusionMapsGC(n_components=8, eigen_solver="arpack"),
            ),
            max_iter=50,
            random_state=0,
        ),
    )
    key = "riemannianrelaxation__embedding__embedding__epsilon"
    assert key in pipe.get_params()
    pipe.set_params(**{key: 0.3})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        Y = pipe.fit_transform(X)
    assert Y.shape == (400, 2)
    rr = pipe[-1]
    assert rr.epsilon_ == 0.3
    assert rr.embedding_estimator_.embedding_estimator_.epsilon_ == 0.3


def test_default_chain_is_the_paper_chain():
    X, _ = _roll(300, seed=2)
    rr = RiemannianRelaxation(n_components=2, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        rr.fit(X)
    ies = rr.embedding_estimator_
    assert isinstance(ies, IESSelector) and ies.n_components == 2
    dm = ies.embedding_estimator_
    assert isinstance(dm, DiffusionMapsGC) and dm.n_components == 20
    assert rr.epsilon_ == dm.epsilon_
    assert rr.embedding_.shape == (300, 2)


def test_errors_and_warnings(fitted_chain):
    X, _, dm, ies, _, _ = fitted_chain
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        RiemannianRelaxation(
            n_components=2, embedding=ies, prefit=True, max_iter=2
        ).fit(X)
    with pytest.raises(ValueError, match="intrinsic_dim"):
        RiemannianRelaxation(
            n_components=2, intrinsic_dim=3, embedding=ies, prefit=True
        ).fit(X)
    clipped = RiemannianRelaxation(
        n_components=3, embedding=ies, prefit=True, max_iter=2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(UserWarning, match="n_components=3 exceeds the 2 columns"):
            clipped.fit(X)
    assert clipped.n_components_ == 2 and clipped.embedding_.shape == (len(X), 2)
    assert clipped.get_feature_names_out().tolist() == ["rr0", "rr1"]
    rr = RiemannianRelaxation(
        n_components=2, embedding=ies, prefit=True, init_scale=50.0, max_iter=3
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        rr.fit(X)
    np.testing.assert_allclose(rr.initial_embedding_, 50.0 * ies.embedding_)
    # a DiffusionMapsGC inner works directly (first n_components columns)
    direct = RiemannianRelaxation(n_components=2, embedding=dm, prefit=True, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        direct.fit(X)
    np.testing.assert_allclose(
        direct.initial_embedding_, direct.init_scale_ * dm.embedding_[:, :2]
    )


# --- slow
@pytest.mark.slow
def test_swiss_roll_relaxation_at_reference_size():
    # Known answer (doc/conventions.rst, 'Known-answer tests'): n = 2000,
    # eps = 0.6, uniform weights.
    X, T = _roll(2000)
    rr = RiemannianRelaxation(
        n_components=2,
        weights="uniform",
        embedding=IESSelector(
            n_components=2,
            embedding=DiffusionMapsGC(
                n_components=20, epsilon=0.6, eigen_solver="arpack"
            ),
        ),
        random_state=0,
    ).fit(X)
    assert rr.embedding_estimator_.support_.tolist() == [0, 8]
    assert rr.loss_ < 0.2 * rr.loss_curve_[0]
    assert _local_distortion(rr.embedding_, T) < 0.7 * _local_distortion(
        rr.initial_embedding_, T
    )
    h = np.linalg.eigvalsh(metric.riemannian_metric(rr.laplacian_, rr.embedding_))
    assert np.median(np.abs(h - 1).max(axis=1)) < 0.3


def test_relaxation_does_not_depend_on_n_jobs(monkeypatch):
    # The sparse products run on row blocks of threads: bitwise the same.
    from sksbi_manifold._geometry import parallel

    monkeypatch.setattr(parallel, "MIN_NNZ_PER_BLOCK", 1)
    X, _ = _roll(400)
    emb = [
        RiemannianRelaxation(
            n_components=2, max_iter=30, random_state=0, n_jobs=n_jobs
        ).fit_transform(X)
        for n_jobs in (1, 2)
    ]
    assert np.array_equal(emb[0], emb[1])
