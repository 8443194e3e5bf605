"""
Realistic cryo-EM latents: particles, encoder, geometry
=======================================================

The package makes the kind of data its users have, end to end:

1. conformations of a real protein, adenylate kinase (AdK), along its
   closed-to-open transition (:func:`~sksbi_manifold.datasets.load_adk`);
2. particle images from the physical forward model of the paper's Appendix
   A.1 (:func:`~sksbi_manifold.datasets.simulate_particles`): Gaussian density
   on the C-alpha atoms, a uniform random rotation, projection, the CTF, a
   shift and noise at a given SNR;
3. 256-d latents from a ResNet-style summary network trained by neural
   posterior estimation, with the posterior mean and width of the
   conformation theta (:func:`~sksbi_manifold.datasets.make_cryoem_latents`);
4. the paper's first questions on those latents: is the posterior informative,
   how many dimensions do the latents have, and what does an embedding show.
"""

# %%
# Conformations and particles
# ---------------------------
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import spearmanr

from sksbi_manifold import (
    CorrelationDimension,
    DensityFlatteningSampler,
    DiffusionMapsGC,
    DoublingDimension,
)
from sksbi_manifold.datasets import (
    load_adk,
    load_cryoem_latents,
    make_cryoem_latents,
    simulate_particles,
)

adk = load_adk()  # 20 conformations, theta = C-alpha RMSD to the closed state
print(
    f"{adk.description}: {adk.coords.shape}, "
    f"RMSD {adk.rmsd[0]:.2f}-{adk.rmsd[-1]:.2f} A"
)

fig, axes = plt.subplots(2, 4, figsize=(9, 4.8), constrained_layout=True)
for row, frame in enumerate([0, -1]):  # closed, open
    conf = adk.coords[frame]
    clean = simulate_particles(conf, 1, noise=False, random_state=3, defocus=1.5)
    axes[row, 0].imshow(clean.images[0], cmap="gray")
    axes[row, 0].set_title(f"RMSD {adk.rmsd[frame]:.1f} A, no noise", fontsize=9)
    for col, snr in enumerate([0.1, 0.01, 0.001], start=1):
        noisy = simulate_particles(
            conf, 1, random_state=3, defocus=1.5, log_snr=np.log(snr)
        )
        axes[row, col].imshow(noisy.images[0], cmap="gray")
        axes[row, col].set_title(f"SNR {snr:g}", fontsize=9)
for ax in axes.flat:
    ax.set_axis_off()
fig.suptitle("AdK particles: closed (top) and open (bottom), same view")

# %%
# Latents from the NPE encoder
# ----------------------------
# 3,000 simulated particles, encoded by the shipped network. At high SNR the
# posterior mean follows the true conformation and the posterior is narrow;
# as the SNR falls the posterior widens towards the prior.
sim = make_cryoem_latents(3000, "simulated", random_state=0, n_jobs=2)
theta, log10_snr = sim.params[:, 0], sim.params[:, 1] / np.log(10)
for lo, hi in [(-3, -2.5), (-2.5, -2), (-2, -1.5), (-1.5, -1)]:
    rows = (log10_snr >= lo) & (log10_snr < hi)
    rho = spearmanr(sim.posterior_mean[rows], theta[rows]).statistic
    width = np.median(sim.posterior_width[rows])
    print(f"log10 SNR in [{lo}, {hi}): Spearman {rho:.2f}, median width {width:.2f} A")

fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
high = log10_snr > -1.5
axes[0].scatter(theta[high], sim.posterior_mean[high], s=4, alpha=0.5)
axes[0].set(
    xlabel="true theta (A)", ylabel="posterior mean (A)", title="log10 SNR > -1.5"
)
axes[1].scatter(log10_snr, sim.posterior_width, s=3, alpha=0.4)
axes[1].set(xlabel="log10 SNR", ylabel="posterior width (A)")

# %%
# Intrinsic dimension and a Diffusion Maps embedding
# --------------------------------------------------
# The shipped 10,000 simulated latents (the report's default reference,
# :func:`~sksbi_manifold.datasets.load_cryoem_latents`) are far from filling
# R^256. Low-SNR particles crowd into a dense "noise ball", so the embedding
# is computed on a density-flattened sample, as in the paper.
ref = load_cryoem_latents("simulated")
dd = DoublingDimension(random_state=0, n_jobs=2).fit(ref.data)
cd = CorrelationDimension(random_state=0, n_jobs=2).fit(ref.data)
print(
    f"doubling dimension {dd.dimension_:.2f} (R = {dd.radius_:.2f}), "
    f"correlation dimension {cd.dimension_:.2f}"
)

rows = (
    DensityFlatteningSampler(n_samples=3000, random_state=0, n_jobs=2)
    .fit(ref.data)
    .sample_indices_
)
dm = DiffusionMapsGC(
    n_components=6, intrinsic_dim=3, gc_sample_size=64, random_state=0, n_jobs=2
).fit(ref.data[rows])
print(f"epsilon_ = {dm.epsilon_:.2f}, {dm.n_connected_components_} component(s)")
Y = dm.embedding_
fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), constrained_layout=True)
for ax, (label, c) in zip(
    axes,
    [
        ("theta (A)", ref.params[rows, 0]),
        ("log10 SNR", ref.params[rows, 1] / np.log(10)),
    ],
):
    sc = ax.scatter(Y[:, 0], Y[:, 1], c=c, s=4, cmap="viridis")
    ax.set(xlabel="DM 1", ylabel="DM 2", title=f"coloured by {label}")
    fig.colorbar(sc, ax=ax)
plt.show()
