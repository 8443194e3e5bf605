"""Progress of long fits: one switch an estimator turns on, read by the engine.

An estimator with ``verbose > 0`` runs its fit inside :func:`reporting`; the
distance engine's block loop (every pass over the rows goes through it) then
reports the blocks it has done: a tqdm bar per pass when tqdm is installed,
else one line on stderr at each quarter. Passes of fewer than
``MIN_BLOCKS`` blocks are too quick to report. Nothing is printed otherwise.
"""

from __future__ import annotations

import functools
import sys
import time
from contextlib import contextmanager
from contextvars import ContextVar

MIN_BLOCKS = 4

_LABEL: ContextVar[str | None] = ContextVar("sksbi_progress", default=None)


@contextmanager
def reporting(label: str, enabled: bool = True):
    """Report the engine's passes under ``label`` (e.g. the estimator's name).

    ``enabled=False`` leaves an outer request in place: a quiet inner
    estimator of a verbose meta-estimator is still reported (under the outer
    label).
    """
    if not enabled:
        yield
        return
    token = _LABEL.set(label)
    try:
        yield
    finally:
        _LABEL.reset(token)


def verbose_progress(method):
    """Decorator: run an estimator method inside :func:`reporting` when the
    estimator's ``verbose`` is positive (label ``ClassName.method``)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        label = f"{type(self).__name__}.{method.__name__}"
        with reporting(label, enabled=bool(getattr(self, "verbose", 0))):
            return method(self, *args, **kwargs)

    return wrapper


def enabled() -> bool:
    """Whether a fit asked for progress (cheap: the engine asks per pass)."""
    return _LABEL.get() is not None


def track(items, total: int, what: str):
    """Yield ``items`` (the row blocks of one pass), reporting if enabled."""
    label = _LABEL.get()
    if label is None or total < MIN_BLOCKS:
        yield from items
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:
        yield from _lines(items, total, f"{label}: {what}")
        return
    yield from tqdm(items, total=total, desc=f"{label}: {what}", leave=False)


def _lines(items, n: int, title: str):
    start = time.perf_counter()
    marks = {max(1, round(n * q)) for q in (0.25, 0.5, 0.75, 1.0)}
    for done, item in enumerate(items, 1):
        yield item
        if done in marks:
            print(
                f"{title}: {done}/{n} blocks ({time.perf_counter() - start:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
