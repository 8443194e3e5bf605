"""Warning and error classes of sksbi_manifold, in one public module.

The estimators raise them; the ones users meet most are also importable from
the top-level package and from the subpackage that raises them (e.g.
``from sksbi_manifold.embedding import DisconnectedGraphWarning``).

- :class:`UndefinedDimensionWarning`: a dimension estimator found no scale.
- :class:`BoundaryWarning`: a geometric-consistency minimum at a grid end.
- :class:`DisconnectedGraphWarning`, :class:`OutOfSampleWarning`: Diffusion
  Maps' kernel graph and its out-of-sample extension.
- :class:`UnsupportedRowsWarning`: Nadaraya-Watson rows without kernel mass.
- :class:`InputError`: bad input to the report.
"""

__all__ = [
    "BoundaryWarning",
    "DisconnectedGraphWarning",
    "InputError",
    "OutOfSampleWarning",
    "UndefinedDimensionWarning",
    "UnsupportedRowsWarning",
]


class UndefinedDimensionWarning(UserWarning):
    """The data define no dimension at the scale used.

    Many points have no neighbour there (their estimate is NaN), or the data
    are too few for the scale rule (the estimate rests on a handful of
    neighbours per point).
    """


class BoundaryWarning(UserWarning):
    """The consistency minimum sits at an end of the radius grid."""


class DisconnectedGraphWarning(UserWarning):
    """The kernel graph has several connected components."""


class OutOfSampleWarning(UserWarning):
    """Rows given to ``transform`` had no training point within the cutoff."""


class UnsupportedRowsWarning(UserWarning):
    """Rows had no training point within the kernel cutoff (fallback used)."""


class InputError(ValueError):
    """Bad report input: the message is shown to the user as one line."""
