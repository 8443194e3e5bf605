"""The fitted-kernel protocol: every embedding estimator exposes ``kernel_``."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sksbi_manifold import DiffusionMapsGC, IESSelector, RiemannianRelaxation
from sksbi_manifold._geometry.laplacian import FittedKernel
from sksbi_manifold._validation import fitted_kernel


def test_kernel_is_the_same_object_down_the_chain(relaxed_swiss_roll):
    rr = relaxed_swiss_roll.rr
    ies = rr.embedding_estimator_
    dm = ies.embedding_estimator_
    k = dm.kernel_
    assert isinstance(k, FittedKernel)
    assert k.epsilon == dm.epsilon_ and k.radius_ratio == pytest.approx(3.0)
    assert k.alpha == 1.0 and not k.precomputed
    assert k.laplacian is dm.laplacian_ and k.weights is dm.laplacian_weights_
    for outer in (ies, rr):
        assert outer.kernel_.epsilon == k.epsilon
        assert outer.kernel_.laplacian is dm.laplacian_


def test_unfitted_and_foreign_estimators():
    for est in (DiffusionMapsGC(), IESSelector(), RiemannianRelaxation()):
        with pytest.raises(NotFittedError):
            getattr(est, "kernel_")  # noqa: B009 - the property must raise
        assert not hasattr(est, "kernel_")  # NotFittedError is an AttributeError

    class Foreign:  # exposes only the attributes, not the protocol
        epsilon_ = 0.5
        radius_ = 2.0
        laplacian_ = None

    k = fitted_kernel(Foreign(), "test")
    assert (k.epsilon, k.radius_ratio, k.alpha) == (0.5, 4.0, 1.0)
    with pytest.raises(ValueError, match="exposes kernel_ or epsilon_"):
        fitted_kernel(object(), "test")


def test_precomputed_kernel_is_flagged():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    dm = DiffusionMapsGC(n_components=2, epsilon=1.0, metric="precomputed").fit(D)
    assert dm.kernel_.precomputed
