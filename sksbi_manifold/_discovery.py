"""List the package's public estimators (for the common tests and the docs)."""

from __future__ import annotations

import inspect

from sklearn.base import BaseEstimator


def all_estimators() -> list[tuple[str, type]]:
    """Public estimator classes exported by ``sksbi_manifold``, sorted by name.

    Examples
    --------
    >>> from sksbi_manifold._discovery import all_estimators
    >>> all(issubclass(cls, object) for _, cls in all_estimators())
    True
    """
    import sksbi_manifold

    found = {
        name: obj
        for name in getattr(sksbi_manifold, "__all__", [])
        if inspect.isclass(obj := getattr(sksbi_manifold, name))
        and issubclass(obj, BaseEstimator)
    }
    return sorted(found.items())
