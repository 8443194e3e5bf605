"""
Outlier removal and density flattening
======================================

Manifold learners see the sampling density as well as the shape: dense
regions dominate kernel sums, sparse ones are left with few neighbours. The
paper (Appendix A.4) therefore cleans and flattens the latents before any
geometry: :class:`~sksbi_manifold.DensityFlatteningSampler`

1. counts the neighbours ``N_R(x)`` of every point within a radius ``R``;
2. drops *outliers*, the points with fewer than ``min_neighbors``;
3. draws a sample with probabilities proportional to ``1 / N_R(x)``.

We use a square whose left half is ten times denser than its right half, plus
a few isolated points, and compare the two halves before and after.
"""

# %%
# A two-density square with outliers
# ----------------------------------
import matplotlib.pyplot as plt
import numpy as np

from sksbi_manifold import DensityFlatteningSampler

rng = np.random.default_rng(0)
dense = rng.uniform([0.0, 0.0], [1.0, 2.0], size=(10000, 2))
sparse = rng.uniform([1.0, 0.0], [2.0, 2.0], size=(1000, 2))
isolated = rng.uniform([2.6, 0.0], [3.4, 2.0], size=(20, 2))
X = np.vstack([dense, sparse, isolated])
region = np.repeat(["dense", "sparse", "isolated"], [10000, 1000, 20])


def halves(rows):
    """Number of rows of ``rows`` in the dense and in the sparse half."""
    return int(np.sum(region[rows] == "dense")), int(np.sum(region[rows] == "sparse"))


n_dense, n_sparse = halves(np.arange(len(X)))
print(f"input: {n_dense} dense, {n_sparse} sparse (ratio {n_dense / n_sparse:.1f})")

# %%
# Flatten
# -------
# ``radius="auto"`` picks the radius whose histogram of counts is the most
# spread out (see the class documentation); here we fix ``R = 0.1`` so that a
# point of the sparse half has about 16 neighbours. ``fit_resample`` follows
# the imbalanced-learn protocol and returns the kept rows of ``X`` (and of
# ``y``); the indices are in ``sample_indices_``.
sampler = DensityFlatteningSampler(radius=0.1, n_samples=0.1, random_state=0)
X_flat, region_flat = sampler.fit_resample(X, region)
kept = sampler.sample_indices_
print(
    f"radius {sampler.radius_}, outliers dropped: {sampler.outlier_mask_.sum()} "
    f"(isolated points among them: "
    f"{np.sum(sampler.outlier_mask_ & (region == 'isolated'))} of 20)"
)
k_dense, k_sparse = halves(kept)
print(
    f"10% sample: {k_dense} dense, {k_sparse} sparse (ratio {k_dense / k_sparse:.2f})"
)

# %%
# Drawing without replacement saturates: once the sparse points are used up,
# the rest of the sample must come from the dense half, so the flattening is
# nearly exact only for small fractions. ``replace=True`` draws i.i.d. with the
# exact probabilities but repeats rows.
fractions = [0.02, 0.05, 0.1, 0.2, 0.4, 0.7]
ratios = []
for fraction in fractions:
    s = DensityFlatteningSampler(radius=0.1, n_samples=fraction, random_state=0)
    d, p = halves(s.fit(X).sample_indices_)
    ratios.append(d / p)
with_replacement = DensityFlatteningSampler(
    radius=0.1, n_samples=2000, replace=True, random_state=0
).fit(X)
d, p = halves(with_replacement.sample_indices_)
print("dense/sparse ratio of the sample by sampled fraction:")
for fraction, ratio in zip(fractions, ratios):
    print(f"  {fraction:4.0%}: {ratio:.2f}")
print(f"  with replacement (2000 draws): {d / p:.2f}")

# %%
# Neighbour counts before and after
# ---------------------------------
# Counting again inside the sample (a second sampler fitted on the sample
# exposes its counts) shows the flattened density: the two peaks of the input
# histogram, one per half, merge into one.
counts_after = DensityFlatteningSampler(radius=0.2).fit(X_flat).neighbor_counts_
counts_before = DensityFlatteningSampler(radius=0.2).fit(X).neighbor_counts_

fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
colours = {"dense": "C0", "sparse": "C1", "isolated": "C3"}
for name, colour in colours.items():
    sel = region == name
    axes[0].scatter(*X[sel].T, s=2, c=colour, label=name)
    sel = region_flat == name
    axes[1].scatter(*X_flat[sel].T, s=2, c=colour)
axes[0].set_title(f"input ({len(X)} points)")
axes[1].set_title(f"flattened 10% sample ({len(X_flat)} points)")
axes[0].legend(markerscale=5, fontsize=8, loc="lower center", ncol=3)
for ax in axes[:2]:
    ax.set_aspect("equal")
    ax.set_xlim(-0.1, 3.5)
    ax.set_ylim(-0.6, 2.1)

bins = np.geomspace(1e-3, 0.1, 41)
for counts, label in [(counts_before, "input"), (counts_after, "flattened")]:
    share = np.full(len(counts), 1 / len(counts))  # bars sum to one
    axes[2].hist(counts / len(counts), bins=bins, weights=share, alpha=0.6, label=label)
axes[2].set_ylabel("fraction of points")
axes[2].set_xscale("log")
axes[2].set_xlabel("N_R / n  (R = 0.2)")
axes[2].set_title("neighbour counts relative to the set size")
axes[2].legend(fontsize=8)
fig.tight_layout()

# %%
# The saturation curve.
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(fractions, ratios, "o-", label="without replacement")
ax.axhline(d / p, color="C2", ls="--", label="with replacement")
ax.axhline(n_dense / n_sparse, color="k", ls=":", label="input")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("sampled fraction of the inliers")
ax.set_ylabel("dense / sparse points")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
