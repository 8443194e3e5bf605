"""The one place that imports private scikit-learn names.

scikit-learn keeps these helpers private (``sklearn.utils._param_validation``,
``_fit_context``, ...), so they may move between releases; the rest of the
package imports them from here, and a move is fixed in this module alone.
"""

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._metadata_requests import RequestMethod
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import _check_feature_names_in

__all__ = [
    "HasMethods",
    "Interval",
    "RealNotInt",
    "RequestMethod",
    "StrOptions",
    "_check_feature_names_in",
    "_fit_context",
    "_safe_indexing",
    "validate_params",
]
