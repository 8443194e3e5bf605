"""scikit-learn's estimator checks over every public estimator.

Test-friendly constructor parameters live in ``CHECK_PARAMS``; there are no
expected failures.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sksbi_manifold import DiffusionMapsGC, IESSelector
from sksbi_manifold._discovery import all_estimators

# Small settings so that the checks' tiny data sets (10-30 rows) fit: the
# defaults ask for 20 eigenvectors or 500-row samples. Variants of each
# estimator are checked in its own test file.
CHECK_PARAMS: dict[str, dict] = {
    "DiffusionMapsGC": {"n_components": 2},
    "IESSelector": {"n_components": 2, "random_state": 0},
    "RiemannianRelaxation": {"n_components": 2, "random_state": 0},
    "TSLasso": {
        "n_components": 1,
        "sample_size": 10,
        "n_repeats": 2,
        "random_state": 0,
    },
}
INNER = {  # meta-estimators get a small inner embedding
    "IESSelector": lambda: DiffusionMapsGC(n_components=4),
    "RiemannianRelaxation": lambda: IESSelector(
        n_components=2, embedding=DiffusionMapsGC(n_components=4)
    ),
}


def _instances():
    out = []
    for name, cls in all_estimators():
        params = dict(CHECK_PARAMS.get(name, {}))
        if name in INNER:
            params["embedding"] = INNER[name]()
        out.append(cls(**params))
    return out


def test_estimators_discovered():
    # Every estimator named in the design card is exported.
    names = {name for name, _ in all_estimators()}
    expected = {
        "DoublingDimension",
        "CorrelationDimension",
        "EigengapDimension",
        "DensityFlatteningSampler",
        "DiffusionMapsGC",
        "IESSelector",
        "RiemannianRelaxation",
        "NadarayaWatsonInterpolator",
        "TSLasso",
    }
    missing = expected - names
    if missing:
        pytest.fail(f"not exported: {sorted(missing)}")


@parametrize_with_checks(_instances())
def test_sklearn_compatible(estimator, check):
    check(estimator)
