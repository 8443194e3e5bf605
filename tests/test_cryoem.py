"""The NPE encoder and the realistic cryo-EM latents."""

import itertools

import numpy as np
import pytest
from scipy.stats import spearmanr

from sksbi_manifold.datasets import load_adk, make_cryoem_latents
from sksbi_manifold.datasets._cryoem import SIMULATED_RMSD, pink_noise

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def simulated():
    return make_cryoem_latents(3000, "simulated", random_state=0, return_images=True)


@pytest.fixture(scope="module")
def experimental():
    return make_cryoem_latents(1500, "experimental", random_state=1)


def test_shapes_and_determinism(simulated):
    assert simulated.data.shape == (3000, 256) and simulated.data.dtype == np.float32
    assert simulated.params.shape == (3000, 12)
    assert simulated.param_names[:2] == ["theta", "log_snr"]
    assert simulated.images.shape == (3000, 64, 64)
    assert np.isfinite(simulated.data).all()
    a = make_cryoem_latents(60, "experimental", random_state=5)
    b = make_cryoem_latents(60, "experimental", random_state=5)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.params, b.params)
    c = make_cryoem_latents(60, "experimental", random_state=6)
    assert np.abs(a.data - c.data).max() > 0.1


def test_posterior_tracks_theta_at_high_snr(simulated):
    """The shipped encoder: posterior mean follows theta, width grows with noise.

    Held-out Spearman at log10 SNR > -1.5 is 0.61-0.63 for the shipped weights
    (scripts/train_encoder.py); an untrained or mismatched encoder gives ~0.
    """
    log10_snr = simulated.params[:, 1] / np.log(10)
    theta, mean, width = (
        simulated.params[:, 0],
        simulated.posterior_mean,
        simulated.posterior_width,
    )
    high = log10_snr > -1.5
    assert spearmanr(mean[high], theta[high]).statistic > 0.55
    edges = [-3.0, -2.5, -2.0, -1.5, -1.0]
    medians = [
        np.median(width[(log10_snr >= lo) & (log10_snr < hi)])
        for lo, hi in itertools.pairwise(edges)
    ]
    assert np.all(np.diff(medians) < 0), medians  # narrower as the SNR rises
    assert medians[0] > 1.15 * medians[-1]
    assert (width > 0).all()


def test_experimental_domain_is_mismatched(simulated, experimental):
    sim_theta = load_adk("dims", 20, rmsd_range=SIMULATED_RMSD).rmsd
    assert experimental.params[:, 0].max() > sim_theta.max() + 0.5  # past the open end
    assert not np.isin(experimental.params[:, 0], sim_theta).any()  # other paths
    # low-SNR biased: median log10 SNR well below the simulated uniform median
    exp_snr = np.median(experimental.params[:, 1]) / np.log(10)
    sim_snr = np.median(simulated.params[:, 1]) / np.log(10)
    assert exp_snr < sim_snr - 0.3
    assert experimental.params[:, 9].min() >= 50.0  # worse B-factors
    assert experimental.domain == "experimental"


def test_pink_noise_spectrum():
    rng = np.random.RandomState(0)
    noise = pink_noise((200, 64, 64), rng)
    np.testing.assert_allclose(noise.var(axis=(1, 2)), 1.0, rtol=1e-5)
    power = np.mean(np.abs(np.fft.fft2(noise)) ** 2, axis=0)
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(64), np.fft.fftfreq(64), indexing="ij"))
    low, high = (
        power[(f > 0.05) & (f < 0.07)].mean(),
        power[(f > 0.4) & (f < 0.45)].mean(),
    )
    # power ~ 1/f: about 0.425 / 0.06 = 7 between the two rings
    assert 5.5 < low / high < 9.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_samples=0), "n_samples"),
        (dict(n_samples=-3), "n_samples"),
        (dict(domain="real"), "domain"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"n_samples": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_cryoem_latents(**args)
