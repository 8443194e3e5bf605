"""scikit-learn's estimator checks over every public estimator, as constructed.

Each estimator is checked with its default parameters, as a user gets it from
``Est()``: the checks' tiny data sets (10-30 rows, sometimes one feature or one
target column) must be handled by the defaults themselves, e.g. by clipping
``n_components`` to what the data allow (with a warning; the value used is
``n_components_``). There are no expected failures. Variants with other
parameters are checked in each estimator's own test file.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sksbi_manifold._discovery import all_estimators


def _default_instances():
    return [cls() for _, cls in all_estimators()]


def test_estimators_discovered():
    # Every estimator named in the design card is exported.
    names = {name for name, _ in all_estimators()}
    expected = {
        "DoublingDimension",
        "CorrelationDimension",
        "EigengapDimension",
        "GrideDimension",
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


@parametrize_with_checks(_default_instances())
def test_sklearn_compatible(estimator, check):
    check(estimator)
