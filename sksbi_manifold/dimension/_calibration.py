"""Finite-sample calibration of a dimension estimate on reference samples.

A neighbour-based estimate of ``n`` rows is biased once the neighbourhoods of
the scale it reads are no longer small against the data: in dimension 10 the
second neighbour of 2,500 uniform rows in a ball sits at about half its
radius, and TwoNN reads 8.9. The same estimator run on uniform samples of a
reference shape of the same size gives the map ``d -> g(d)``, increasing in
``d``; the calibrated estimate is ``g^{-1}`` of the data's (the idea of
DANCo, Ceruti et al. 2014, whose reference is the ball). Two references
bracket what data do: the ball (a boundary: its neighbourhoods are cut) and
the sphere ``S^d`` (no boundary, curvature only); see :ref:`conv-gride`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Samples averaged per dimension: the reference estimate has the sampling
# spread of the data's own (sd ~0.2 at d = 10, 2,500 rows), so a single one
# would add about as much noise as it removes bias.
N_REFERENCES = 4
# Above 10 the dimensions of the grid grow by 10 % (the map is smooth).
_STEP_FRACTION = 0.1


def uniform_ball(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows uniform in the unit ``d``-ball."""
    direction = uniform_sphere(n, d - 1, rng)
    return direction * rng.uniform(size=(n, 1)) ** (1.0 / d)


def uniform_sphere(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows uniform on the unit ``d``-sphere in ``R^(d+1)``."""
    x = rng.standard_normal((n, d + 1))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


REFERENCES = {"ball": uniform_ball, "sphere": uniform_sphere}


class Calibration:
    """The map from an estimate to the dimension of references that read it.

    Parameters
    ----------
    statistic : callable
        ``statistic(X)`` -> ndarray of shape (n_scales,): the estimator's
        value at each of its scales on the rows ``X``, its scales fixed (not
        re-selected on the reference).
    reference : {"ball", "sphere"}
        Shape of the reference samples.
    n_rows : int
        Rows of each reference sample: the data's, since the bias depends on
        it.
    cap : int
        Largest dimension (the data's ambient dimension bounds its own).
    seed : int
        The samples of dimension ``d`` are drawn from ``(seed, d, i)``, so a
        value does not depend on which others were asked for first.
    """

    def __init__(
        self, statistic: Callable, reference: str, n_rows: int, cap: int, seed: int
    ):
        self.reference = reference
        self._statistic = statistic
        self._sampler = REFERENCES[reference]
        self._n_rows = n_rows
        self._cap = max(int(cap), 1)
        self._seed = seed
        self._values: dict[int, np.ndarray] = {}

    def readings(self, d: int) -> np.ndarray:
        """Mean estimate by scale over ``N_REFERENCES`` samples of dimension ``d``."""
        if d not in self._values:
            runs = [
                self._statistic(
                    self._sampler(
                        self._n_rows, d, np.random.default_rng([self._seed, d, i])
                    )
                )
                for i in range(N_REFERENCES)
            ]
            self._values[d] = np.mean(runs, axis=0)
        return self._values[d]

    def table(self) -> tuple[np.ndarray, np.ndarray]:
        """Dimensions drawn so far and their mean estimates by scale."""
        dims = np.array(sorted(self._values))
        return dims, np.array([self._values[d] for d in dims]).reshape(dims.size, -1)

    def __call__(self, value: float, scale: int) -> tuple[float, np.ndarray]:
        """Dimension whose references read ``value`` at ``scale``; their curve.

        References are drawn from ``floor(value)`` upwards (the estimates are
        biased down) until one reads at least ``value``; the dimension
        interpolates linearly between the two that bracket it, on the running
        maximum of the readings (their sampling noise must not make the
        inverse jump back), and so does the curve over all scales. Below the
        smallest reference's reading the value is scaled by that reference's
        ratio; at the cap it is the cap.
        """
        if not np.isfinite(value):
            return float(value), np.full(self._curve_size(), np.nan)
        start = d = int(np.clip(np.floor(value), 1, self._cap))
        while self.readings(d)[scale] < value and d < self._cap:
            d = min(self._cap, d + max(1, round(_STEP_FRACTION * d)))
        dims = sorted(k for k in self._values if k >= start)
        curves = np.array([self._values[k] for k in dims])
        at = np.maximum.accumulate(curves[:, scale])
        if value <= at[0]:
            return float(value * dims[0] / at[0]), curves[0] * (value / at[0])
        if value >= at[-1]:
            return float(self._cap), curves[-1]
        k = int(np.searchsorted(at, value))
        t = (value - at[k - 1]) / (at[k] - at[k - 1])
        dim = (1 - t) * dims[k - 1] + t * dims[k]
        return float(dim), (1 - t) * curves[k - 1] + t * curves[k]

    def _curve_size(self) -> int:
        return next(iter(self._values.values())).size if self._values else 0
