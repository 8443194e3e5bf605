"""function_smoothness: Dirichlet energies in Laplace-Beltrami units."""

from __future__ import annotations

import numpy as np
import pytest

from sksbi_manifold import (
    DiffusionMapsGC,
    IESSelector,
    function_smoothness,
)
from sksbi_manifold.datasets import make_lifted_manifold


@pytest.fixture(scope="module")
def sphere_dm():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(3000, 3))
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    dm = DiffusionMapsGC(n_components=8, epsilon=0.25, random_state=0).fit(Z)
    return Z, dm


def test_eigenvectors_have_exactly_their_eigenvalue(sphere_dm):
    _, dm = sphere_dm
    res = function_smoothness(dm, dm.embedding_, n_permutations=0)
    np.testing.assert_allclose(res.energy, dm.eigenvalues_, rtol=1e-8)
    assert np.isnan(res.p_value).all()


def test_first_shell_harmonics_on_the_unit_sphere_have_energy_two(sphere_dm):
    # l = 1: -Delta z = l (l + 1) z = 2 z; a factor-2 error in the Laplacian
    # scaling would read 1 or 4.
    Z, dm = sphere_dm
    res = function_smoothness(dm, Z, n_permutations=20, random_state=0)
    np.testing.assert_allclose(res.energy, 2.0, rtol=0.08)
    second = function_smoothness(dm, Z[:, 0] * Z[:, 1], n_permutations=0)
    assert second.energy[0] == pytest.approx(6.0, rel=0.1)  # l = 2: 6


@pytest.mark.parametrize("length", [2.0, 4.0])
def test_coordinate_of_a_flat_strip(length):
    # f = x on [0, L] x [0, W]: int |grad f|^2 / int (f - mean)^2 = 12 / L^2
    # (the lowest mode cos(pi x / L) has (pi / L)^2, 19% less).
    rng = np.random.default_rng(1)
    U = rng.uniform(size=(4000, 2)) * [length, 1.0]
    dm = DiffusionMapsGC(n_components=2, epsilon=0.08, random_state=0).fit(U)
    res = function_smoothness(
        dm, np.c_[U[:, 0], np.cos(np.pi * U[:, 0] / length)], n_permutations=0
    )
    # The kernel Laplacian itself reads the strip's lowest eigenvalue ~8% low
    # at L = 2 (boundary layer; dm.eigenvalues_ shows the same): compare
    # absolutely within 12 % and by ratios, which no such bias moves, tightly.
    np.testing.assert_allclose(
        res.energy, [12 / length**2, (np.pi / length) ** 2], rtol=0.12
    )
    assert res.energy[0] / res.energy[1] == pytest.approx(12 / np.pi**2, rel=0.04)
    assert res.energy[1] == pytest.approx(dm.eigenvalues_[0], rel=0.03)


def test_permutation_p_values_noise_uniform_smooth_small(sphere_dm):
    Z, dm = sphere_dm
    noise = np.random.default_rng(3).normal(size=(3000, 40))
    res = function_smoothness(dm, noise, n_permutations=99, random_state=0)
    assert 0.3 < res.p_value.mean() < 0.7
    assert np.mean(res.p_value <= 0.05) <= 0.15
    smooth = function_smoothness(dm, Z[:, 2] + 0.5 * Z[:, 0] ** 2, n_permutations=99)
    assert smooth.p_value[0] <= 0.01
    assert smooth.null_energy[0] > 20 * smooth.energy[0]


def test_names_chain_and_bad_input():
    pd = pytest.importorskip("pandas")
    X, T, _ = make_lifted_manifold("circle", 500, ambient_dim=5, random_state=0)
    dm = DiffusionMapsGC(n_components=4, random_state=0).fit(X)
    ies = IESSelector(n_components=1, embedding=dm, prefit=True).fit(X)
    F = pd.DataFrame({"cos": np.cos(T[:, 0]), "sin": np.sin(T[:, 0])})
    via_chain = function_smoothness(ies, F, n_permutations=10, random_state=0)
    direct = function_smoothness(dm, F, n_permutations=10, random_state=0)
    assert via_chain.names.tolist() == ["cos", "sin"]
    np.testing.assert_array_equal(via_chain.energy, direct.energy)
    assert "cos" in str(direct) and "p-value" in str(direct)
    with pytest.raises(ValueError, match="rows"):
        function_smoothness(dm, F.iloc[:10])
    with pytest.raises(ValueError, match="constant"):
        function_smoothness(dm, np.c_[np.ones(500), T[:, 0]])
    with pytest.raises(ValueError, match="laplacian_"):
        function_smoothness(DiffusionMapsGC(), F)
    lean = DiffusionMapsGC(n_components=2, store_graph=False, random_state=0).fit(X)
    with pytest.raises(ValueError, match="store_graph"):
        function_smoothness(lean, F)
    with pytest.raises(ValueError):
        function_smoothness(dm, np.c_[T[:, 0], np.full(500, np.nan)])
