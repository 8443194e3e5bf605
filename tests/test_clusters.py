"""detect_clusters: graph components, spectral gaps and dense regions.

Known answers (doc/conventions.rst, 'Clusters'): two discs joined by a thin
bridge -> 2 (one component, a spectral gap); two far blobs -> 2 components;
one sphere, a long strip, a circle -> 1; a sphere with a dense cap -> 1
structural cluster and 1 dense region on the cap.
"""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from sksbi_manifold import DiffusionMapsGC, IESSelector, detect_clusters
from sksbi_manifold.exceptions import DisconnectedGraphWarning


def _disc(rng, n, centre):
    r, t = np.sqrt(rng.uniform(size=n)), rng.uniform(0, 2 * np.pi, n)
    return np.c_[centre + r * np.cos(t), r * np.sin(t)]


def _sphere(rng, n):
    x = rng.normal(size=(n, 3))
    return x / np.linalg.norm(x, axis=1)[:, None]


@pytest.fixture(scope="module")
def bridged():
    rng = np.random.default_rng(1)
    bridge = np.c_[rng.uniform(-2, 2, 60), rng.uniform(-0.04, 0.04, 60)]
    X = np.vstack([_disc(rng, 1500, -3), _disc(rng, 1500, 3), bridge])
    truth = np.r_[np.zeros(1500), np.ones(1500), (bridge[:, 0] > 0).astype(float)]
    return X, truth


@pytest.mark.parametrize("epsilon", [0.12, "gc"])
def test_bridged_discs_are_two_clusters(bridged, epsilon):
    X, truth = bridged
    dm = DiffusionMapsGC(n_components=10, epsilon=epsilon, random_state=0).fit(X)
    res = detect_clusters(dm, random_state=0)
    ev = res.evidence
    assert (res.n_clusters, ev["n_components"], ev["chosen_by"]) == (
        2,
        1,
        "spectral gap",
    )
    assert ev["gap_ratios"][0] > 10 > max(ev["gap_ratios"][1:])
    assert adjusted_rand_score(truth[:3000], res.labels[:3000]) > 0.99
    assert res.n_density_clusters == 0


def test_far_blobs_are_two_components():
    rng = np.random.default_rng(2)
    X = np.vstack([_disc(rng, 1500, -3), _disc(rng, 1000, 3)])
    with pytest.warns(DisconnectedGraphWarning):
        dm = DiffusionMapsGC(n_components=10, epsilon=0.12).fit(X)
    res = detect_clusters(dm)
    assert res.n_clusters == 2
    assert res.evidence["chosen_by"] == "graph components"
    assert res.evidence["component_sizes"] == [1500, 1000]
    np.testing.assert_array_equal(res.labels, np.r_[np.zeros(1500), np.ones(1000)])


def test_isolated_rows_are_not_clusters():
    rng = np.random.default_rng(3)
    far = 10 + 10 * np.arange(5)[:, None] * np.ones((1, 3))
    X = np.vstack([_sphere(rng, 3000), far])
    with pytest.warns(DisconnectedGraphWarning):
        dm = DiffusionMapsGC(n_components=10, epsilon=0.15).fit(X)
    res = detect_clusters(dm)
    assert res.n_clusters == 1
    assert res.evidence["n_components"] == 6 and res.evidence["n_isolated"] == 5
    assert (res.labels[-5:] == -1).all() and (res.labels[:-5] == 0).all()


@pytest.mark.parametrize("shape", ["sphere", "strip", "circle"])
def test_one_manifold_is_one_cluster(shape):
    rng = np.random.default_rng(4)
    if shape == "sphere":
        X, eps = _sphere(rng, 3000), 0.15
    elif shape == "strip":  # low spectrum 1, 4, 9, ...: the largest natural jump
        X, eps = rng.uniform([0, 0], [8, 1], (4000, 2)), 0.12
    else:
        t = rng.uniform(0, 2 * np.pi, 3000)
        X, eps = np.c_[np.cos(t), np.sin(t)], 0.05
    res = detect_clusters(DiffusionMapsGC(n_components=10, epsilon=eps).fit(X))
    assert res.n_clusters == 1 and res.n_density_clusters == 0
    assert max(res.evidence["gap_ratios"]) < 5


def test_dense_cap_is_a_density_cluster_not_a_component():
    rng = np.random.default_rng(5)
    extra = _sphere(rng, 8000)
    extra = extra[extra[:, 2] > 0.8][:1500]  # the cap z > 0.8 at ~5x density
    X = np.vstack([_sphere(rng, 3000), extra])
    res = detect_clusters(DiffusionMapsGC(n_components=10, epsilon=0.15).fit(X))
    assert res.n_clusters == 1
    assert res.n_density_clusters == 1
    in_region = res.density_labels == 0
    assert np.mean(X[in_region, 2] > 0.7) > 0.98  # the region sits on the cap
    assert np.mean(in_region[X[:, 2] > 0.9]) > 0.9  # and covers its centre
    assert res.evidence["density_peak_ratios"][0] > 3


def test_data_path_and_chain(bridged):
    X, _ = bridged
    res = detect_clusters(X, n_eigenvalues=6, random_state=0)
    assert res.n_clusters == 2 and len(res.evidence["eigenvalues"]) == 6
    dm = DiffusionMapsGC(n_components=6, epsilon=0.12).fit(X)
    ies = IESSelector(n_components=2, embedding=dm, prefit=True).fit(X)
    assert detect_clusters(ies, random_state=0).n_clusters == 2
    text = str(detect_clusters(dm, random_state=0))
    assert "clusters: 2 (by spectral gap)" in text and "dense regions" in text


def test_bad_input(bridged):
    X, _ = bridged
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        detect_clusters(DiffusionMapsGC())
    lean = DiffusionMapsGC(n_components=3, epsilon=0.12, store_graph=False).fit(X)
    with pytest.raises(ValueError, match="store_graph=True"):
        detect_clusters(lean)
    with pytest.raises(ValueError, match="gap_ratio"):
        detect_clusters(X, gap_ratio=1.0)
    with pytest.raises(ValueError, match="n_eigenvalues"):
        detect_clusters(X, n_eigenvalues=1)
    bad = X.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="inf"):
        detect_clusters(bad)
