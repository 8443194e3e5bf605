"""Fixtures shared by several test modules."""

import numpy as np
import pytest
from sklearn.utils import Bunch

from sksbi_manifold import DiffusionMapsGC, IESSelector, RiemannianRelaxation
from sksbi_manifold.datasets import make_lifted_manifold


@pytest.fixture(scope="session")
def relaxed_swiss_roll():
    """1,000 swiss-roll rows in R^3, relaxed from their IES chart (s = d = 2).

    Bunch(X, T (arc length, height), rr): the known-answer case of
    doc/conventions.rst ('Known-answer tests') for relaxation and distortion.
    """
    info = make_lifted_manifold(
        "swiss_roll", 1000, ambient_dim=3, random_state=0, return_info=True
    )
    rr = RiemannianRelaxation(
        n_components=2,
        embedding=IESSelector(
            n_components=2,
            embedding=DiffusionMapsGC(
                n_components=12, epsilon=0.7, eigen_solver="arpack"
            ),
        ),
        random_state=0,
    ).fit(info.data)
    return Bunch(X=info.data, T=np.c_[info.arc_length, info.coords[:, 1]], rr=rr)
