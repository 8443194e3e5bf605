"""
Does the simulated data cover the experimental data?
====================================================

Simulation-based inference is only trustworthy where the simulator produces
latents like the experimental ones. The paper (Section 3, Table 1) checks this
with Gaussian kernel densities ``p_e`` and ``p_s`` fitted on the experimental
and simulated latents, bandwidths chosen by cross-validation, and the mean
negative log-likelihood of held-out rows of each set under each density.
:func:`~sksbi_manifold.density_coverage` computes that table and the two KL
divergences; :func:`~sksbi_manifold.near_reference` then keeps the simulated
rows that lie near the experimental ones.

We use the synthetic cryoSBI-like latents of
:func:`~sksbi_manifold.datasets.make_toy_cryo_latents`: the "experimental" domain
covers only the middle 14 of the 20 conformations, a narrower defocus range,
mostly high SNR, and carries an extra "ice thickness" variation that the
simulator lacks.
"""

# %%
# Data
# ----
import matplotlib.pyplot as plt
import numpy as np

from sksbi_manifold import density_coverage, near_reference
from sksbi_manifold.datasets import make_toy_cryo_latents

sim = make_toy_cryo_latents(2500, domain="simulated", random_state=0)
exp = make_toy_cryo_latents(2500, domain="experimental", random_state=1)
print(f"simulated {sim.data.shape}, experimental {exp.data.shape}, {sim.data.dtype}")

# %%
# Cross-entropy table and KL divergences
# --------------------------------------
# Each set is split into a training part (the KDE) and 15% held-out rows. The
# rows of the table are densities, the columns held-out sets, as in Table 1.
# Only differences matter: the entries carry the ``R^256`` normalisation of
# the kernel. ``D(p_e || p_s) = NLL(test_e | p_s) - NLL(test_e | p_e)`` is how
# much worse the simulated density predicts experimental rows than the
# experimental one does.
result = density_coverage(
    exp.data, sim.data, names=("e", "s"), random_state=0, n_jobs=2
)
print(result)
kl_es, kl_se = result.kl_divergence
print(
    f"the simulated set covers the experimental one better: "
    f"D(p_e || p_s) = {kl_es:.1f} < D(p_s || p_e) = {kl_se:.1f}"
)

# %%
# The bandwidths were chosen by 5-fold cross-validation of the held-out
# log-likelihood (the curves below; the grid is extended automatically while
# the optimum sits at an edge).
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for name, grid, scores, h in zip(
    ("experimental", "simulated"),
    result.cv_bandwidths,
    result.cv_scores,
    result.bandwidths,
):
    axes[0].plot(grid, scores, "o-", label=f"{name}: h = {h:.3f}")
axes[0].set_xscale("log")
axes[0].set_xlabel("kernel standard deviation h")
axes[0].set_ylabel("CV log-likelihood per row")
axes[0].legend(fontsize=8)

table = result.neg_log_likelihood
image = axes[1].imshow(table, cmap="YlGnBu")
for (i, j), value in np.ndenumerate(table):
    axes[1].text(
        j,
        i,
        f"{value:.1f}",
        ha="center",
        va="center",
        bbox={"facecolor": "w", "alpha": 0.8},
    )
axes[1].set_xticks([0, 1], ["test experimental", "test simulated"])
axes[1].set_yticks([0, 1], ["p_e", "p_s"])
axes[1].set_title("mean negative log-likelihood")
fig.colorbar(image, ax=axes[1])
fig.tight_layout()

# %%
# Keep the simulated rows near the experimental data
# --------------------------------------------------
# The paper keeps a simulated latent only if an experimental latent lies within
# ``R = 7.5`` of it (latent units of its network). Here the nearest-neighbour
# distances are about 2.8, and we look at radii around that scale. The
# conformations that the experimental set never shows (``theta`` below 3 or
# above 16) are the first to go.
theta = sim.params[:, 0]
radii = [3.0, 3.5, 4.0]
fig, ax = plt.subplots(figsize=(7, 3.5))
states = np.arange(20)
for k, radius in enumerate(radii):
    near = near_reference(sim.data, exp.data, radius, n_jobs=2)
    kept = [near[theta == s].mean() for s in states]
    outside = (theta < 3) | (theta > 16)
    print(
        f"R = {radius}: kept {near.mean():.1%} of the simulated rows "
        f"({near[~outside].mean():.1%} of states 3-16, "
        f"{near[outside].mean():.1%} of the others)"
    )
    ax.bar(states + (k - 1) * 0.27, kept, width=0.27, label=f"R = {radius}")
ax.axvspan(2.5, 16.5, color="0.92", zorder=0, label="experimental states")
ax.set_xlabel("conformation theta")
ax.set_ylabel("fraction of simulated rows kept")
ax.set_ylim(0, 1.3)
ax.legend(fontsize=8, ncol=4, loc="upper center")
fig.tight_layout()
plt.show()
