"""The torch device path of the distance engine gives the numpy results."""

import numpy as np
import pytest

from sksbi_manifold import DiffusionMapsGC, NadarayaWatsonInterpolator
from sksbi_manifold._geometry import distances as D
from sksbi_manifold.dimension import (
    CorrelationDimension,
    DoublingDimension,
    EigengapDimension,
)

torch = pytest.importorskip("torch")


def _curved_float32(n=3000, seed=0):
    """A 2-torus in R^4, lifted to R^32 by a random rotation, float32."""
    rng = np.random.default_rng(seed)
    u, v = rng.uniform(0, 2 * np.pi, (2, n))
    T = np.column_stack([np.cos(u), np.sin(u), np.cos(v), np.sin(v)])
    Q, _ = np.linalg.qr(rng.normal(size=(32, 32)))
    X = np.hstack([T, 0.01 * rng.normal(size=(n, 28))]) @ Q
    return X.astype(np.float32)


@pytest.mark.parametrize(
    "estimator",
    [
        DoublingDimension(random_state=0),
        CorrelationDimension(random_state=0),
        EigengapDimension(random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_dimension_estimators_equal_on_device(estimator):
    X = _curved_float32()
    ref = estimator.set_params(device=None).fit(X)
    dim0, local0, tr0 = ref.dimension_, ref.local_dimension_, ref.transform(X[:500])
    dev = estimator.set_params(device="cpu").fit(X)
    assert dev.dimension_ == dim0
    np.testing.assert_array_equal(dev.local_dimension_, local0)
    np.testing.assert_array_equal(dev.transform(X[:500]), tr0)


def test_doubling_transform_of_training_rows_on_device():
    # The failure: on the device, transform(X_train) differed from
    # local_dimension_ on a third of the rows (near-zero distances unchecked).
    X = _curved_float32()
    est = DoublingDimension(random_state=0, device="cpu").fit(X)
    np.testing.assert_array_equal(est.transform(X).ravel(), est.local_dimension_)


def test_kernels_equal_on_device():
    X = _curved_float32(1500).astype(np.float64)
    y = X[:, 0] ** 2
    dm0 = DiffusionMapsGC(n_components=4, random_state=0).fit(X)
    dm1 = DiffusionMapsGC(n_components=4, random_state=0, device="cpu").fit(X)
    assert dm1.epsilon_ == dm0.epsilon_
    np.testing.assert_allclose(dm1.eigenvalues_, dm0.eigenvalues_, rtol=1e-9)
    nw0 = NadarayaWatsonInterpolator(random_state=0).fit(X, y)
    nw1 = NadarayaWatsonInterpolator(random_state=0, device="cpu").fit(X, y)
    assert nw1.bandwidth_ == pytest.approx(nw0.bandwidth_, rel=1e-9)
    np.testing.assert_allclose(nw1.predict(X[:200]), nw0.predict(X[:200]), rtol=1e-9)


def test_float32_counts_equal_on_device():
    X = _curved_float32(2000)
    radii = np.geomspace(0.05, 2.0, 12)
    np.testing.assert_array_equal(
        D.radius_counts(X, radii, device="cpu"), D.radius_counts(X, radii)
    )
    g0, g1 = D.radius_graph(X, 0.3), D.radius_graph(X, 0.3, device="cpu")
    np.testing.assert_array_equal(g1.indices, g0.indices)
    np.testing.assert_array_equal(g1.indptr, g0.indptr)
    d0, i0 = D.knn_distances(X, 8, return_indices=True)
    d1, i1 = D.knn_distances(X, 8, return_indices=True, device="cpu")
    np.testing.assert_array_equal(i1, i0)
    np.testing.assert_array_equal(d1, d0)


@pytest.mark.parametrize(
    "Estimator",
    [DoublingDimension, EigengapDimension, DiffusionMapsGC],
    ids=lambda E: E.__name__,
)
@pytest.mark.parametrize("device", ["cuda:7", "nonsense"])
def test_unavailable_device_is_a_clear_error(Estimator, device):
    if device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has that GPU")
    X = _curved_float32(200)
    with pytest.raises(ValueError, match=r"device="):
        Estimator(device=device).fit(X)


def test_missing_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA is present")
    with pytest.raises(ValueError, match="not available on this machine"):
        NadarayaWatsonInterpolator(device="cuda").fit(np.eye(5), np.arange(5.0))
