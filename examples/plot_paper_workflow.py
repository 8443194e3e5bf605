"""
The paper's workflow, end to end
================================

This example chains every estimator of the package on the default data, the
shipped latents of :func:`~sksbi_manifold.datasets.load_cryoem_latents`:
particles of adenylate kinase from the physical forward model, encoded by the
NPE summary network (an "experimental" set, with its documented mismatch,
whose parameters are not used, and a labelled "simulated" set, both in
``R^256``), and draws the figure types of *Cryo-EM images are intrinsically
low dimensional* (Evans et al.):

1. intrinsic dimension of both sets (Figure 2);
2. coverage of the experimental set by the simulated one (Table 1);
3. outlier removal and density flattening (Appendix A.4);
4. simulation parameters carried to the experimental latents (Appendix A.6);
5. Diffusion Maps spectrum (Appendix Figure 3);
6. IES-selected and relaxed embedding coloured by parameters and by the
   local dimension (Figure 3);
7. TSLasso: which parameters parametrize the manifold (Appendix Figure 6).

The sizes are small (4,000 rows per set, 1,000 after flattening) so that it
runs in about a minute; ``sksbi-manifold report`` runs the same chain at
realistic sizes and writes an HTML report.
"""

# %%
# The default data
# ----------------
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np

from sksbi_manifold import (
    CorrelationDimension,
    DensityFlatteningSampler,
    DiffusionMapsGC,
    DoublingDimension,
    EigengapDimension,
    IESSelector,
    NadarayaWatsonInterpolator,
    RiemannianRelaxation,
    TSLasso,
    density_coverage,
    near_reference,
    plotting,
)
from sksbi_manifold.datasets import load_cryoem_latents
from sksbi_manifold.exceptions import (
    UndefinedDimensionWarning,
    UnsupportedRowsWarning,
)

start = time.perf_counter()
exp = load_cryoem_latents("experimental", n_samples=4000)
sim = load_cryoem_latents("simulated", n_samples=4000)
names = list(sim.param_names)
sets = {"experimental": exp.data, "simulated": sim.data}
print(f"experimental {exp.data.shape}, simulated {sim.data.shape}; parameters: {names}")

# %%
# 1. Are the data low dimensional?
# --------------------------------
# Correlation dimension (global slope of ``log C(R)``), doubling dimension and
# eigengap (local estimates, global value by a smoothed vote), all with their
# automatic scales.
dims = {}
for name, X in sets.items():
    with warnings.catch_warnings():
        # Low-SNR rows sit in a dense noise ball, high-SNR rows are spread out:
        # at the automatic radius some of the latter have no neighbour (NaN).
        warnings.simplefilter("ignore", UndefinedDimensionWarning)
        dims[name] = (
            CorrelationDimension(random_state=0, n_jobs=2).fit(X),
            DoublingDimension(random_state=0, n_jobs=2).fit(X),
            EigengapDimension(sample_size=200, random_state=0, n_jobs=2).fit(X),
        )
for name, (cd, dd, eg) in dims.items():
    print(
        f"{name:>12}: correlation {cd.dimension_:.2f} (R in {cd.fit_range_[0]:.2f}"
        f"-{cd.fit_range_[1]:.2f}), doubling {dd.dimension_:.2f} "
        f"(R = {dd.radius_:.2f}, {dd.n_undefined_} undefined), "
        f"eigengap {eg.dimension_:.2f}"
    )

fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
bins = np.linspace(0, 10, 41)
for k, (name, (cd, dd, eg)) in enumerate(dims.items()):
    colour = ("C3", "C0")[k]
    axes[0].plot(
        cd.log_radii_,
        cd.log_correlation_,
        "o",
        color=colour,
        ms=3,
        label=f"{name}: d = {cd.dimension_:.2f}",
    )
    fit = np.log(np.array(cd.fit_range_))
    axes[0].plot(fit, cd.intercept_ + cd.dimension_ * fit, "-", color=colour)
    axes[1].hist(
        dd.local_dimension_,
        bins=bins,
        alpha=0.5,
        color=colour,
        density=True,
        label=f"{name} (R = {dd.radius_:.1f})",
    )
    axes[2].hist(
        eg.local_dimension_,
        bins=bins,
        alpha=0.5,
        color=colour,
        density=True,
        label=name,
    )
axes[0].set_xlabel("log R")
axes[0].set_ylabel("log C(R)")
axes[0].set_title("(a) correlation dimension")
axes[1].set_title("(b) local doubling dimension")
axes[2].set_title("(c) local eigengap dimension")
for ax in axes:
    ax.legend(fontsize=8)
for ax in axes[1:]:
    ax.set_xlabel("local dimension")
fig.tight_layout()

# %%
# 2. Does the simulated data cover the experimental data?
# -------------------------------------------------------
# Table 1: mean negative log-likelihood of held-out rows of each set (columns)
# under the kernel density of each set (rows), and both KL divergences. Then,
# as in the paper, keep only the simulated rows near experimental ones.
coverage = density_coverage(
    exp.data, sim.data, names=("e", "s"), random_state=0, n_jobs=2
)
print(coverage)
near = near_reference(sim.data, exp.data, radius=4.0, n_jobs=2)
print(f"simulated rows within 4.0 of an experimental row: {near.mean():.1%}")

# %%
# 3. Outliers and density flattening
# ----------------------------------
sampler = DensityFlatteningSampler(n_samples=1000, random_state=0, n_jobs=2)
sampler.fit(exp.data)
rows = sampler.sample_indices_
X_exp = exp.data[rows]
print(
    f"radius_ = {sampler.radius_:.2f}: {sampler.outlier_mask_.sum()} outliers, "
    f"{len(rows)} rows drawn with probability ~ 1 / N_R"
)

# %%
# 4. Parameters of the experimental latents
# -----------------------------------------
# Nadaraya-Watson regression on the nearby simulated rows (rows with no
# simulated neighbour inside the kernel cutoff take their nearest neighbour's
# values). Parameters the simulator holds fixed (the amplitude contrast) are
# left out: they carry nothing and TSLasso needs varying functions.
varying = np.ptp(sim.params, axis=0) > 0
names = [name for name, v in zip(names, varying) if v]
nw = NadarayaWatsonInterpolator(random_state=0, n_jobs=2).fit(
    sim.data[near], sim.params[near][:, varying]
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UnsupportedRowsWarning)
    params = nw.predict(X_exp)
theta, log_snr = params[:, 0], params[:, 1]
print(
    f"bandwidth_ = {nw.bandwidth_:.2f}; correlation of the transferred theta "
    f"with the (hidden) truth: {np.corrcoef(theta, exp.params[rows, 0])[0, 1]:.3f}"
)

# %%
# 5. Diffusion Maps and its spectrum
# ----------------------------------
# The kernel width is chosen by geometric consistency for intrinsic dimension
# 3 (distortion evaluated at 100 random points, to save time). A single zero
# eigenvalue followed by slowly growing ones means a connected manifold.
dm = DiffusionMapsGC(
    n_components=10,
    intrinsic_dim=3,
    gc_sample_size=100,
    eigen_solver="arpack",
    random_state=0,
    n_jobs=2,
).fit(X_exp)
print(
    f"epsilon_ = {dm.epsilon_:.2f}, components: {dm.n_connected_components_}, "
    f"eigenvalues {np.round(dm.eigenvalues_, 3)}"
)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
axes[0].plot(np.arange(11), np.r_[0.0, dm.eigenvalues_], "o")
axes[0].set_xlabel("index")
axes[0].set_ylabel("eigenvalue of -L")
axes[0].set_title("spectrum (Appendix Figure 3)")
axes[1].plot(dm.gc_radii_, dm.gc_loss_, "o-", ms=3)
axes[1].axvline(dm.radius_, color="C3", ls="--")
axes[1].set_xlabel("kernel cutoff radius")
axes[1].set_ylabel("geometric-consistency distortion")
fig.tight_layout()

# %%
# 6. Independent coordinates, relaxation, colourings
# --------------------------------------------------
# The fitted Diffusion Maps estimator is reused (``prefit=True``); IES picks
# three independent eigenvectors and the relaxation makes them nearly
# isometric. Colourings: the local doubling dimension, the transferred
# conformation ``theta``, the network's posterior mean, the transferred log SNR
# and the posterior width (paper Figure 3).
ies = IESSelector(n_components=3, embedding=dm, prefit=True, random_state=0)
ies.fit(X_exp)
relax = RiemannianRelaxation(n_components=3, embedding=ies, prefit=True).fit(X_exp)
print(
    f"IES columns {ies.support_}; relaxation loss {relax.loss_curve_[0]:.3g} -> "
    f"{relax.loss_:.3g}"
)
local_dim = dims["experimental"][1].transform(X_exp).ravel()

colourings = {
    "local doubling dimension": local_dim,
    "transferred theta": theta,
    "posterior mean of theta": exp.posterior_mean[rows],
    "transferred log SNR": log_snr,
    "posterior width": exp.posterior_width[rows],
}
Y = relax.embedding_
fig, axes = plt.subplots(2, 3, figsize=(14, 8))
axes = axes.ravel()
axes[0].scatter(*ies.embedding_[:, :2].T, c=theta, s=3, cmap="viridis")
axes[0].set_title("IES coordinates (before relaxation), theta")
for ax, (label, values) in zip(axes[1:], colourings.items()):
    points = ax.scatter(Y[:, 0], Y[:, 1], c=values, s=3, cmap="viridis")
    fig.colorbar(points, ax=ax)
    ax.set_title(label)
fig.tight_layout()

# %%
# 7. TSLasso: which parameters parametrize the manifold?
# ------------------------------------------------------
# The dictionary is the transferred parameters; their gradients are estimated
# by local PCA at the Diffusion Maps kernel width. As in the paper's Appendix
# Figure 6, one run per SNR percentile q: run q uses only the rows whose
# (transferred) log SNR is in the top q-th percentile, 100 rows each.
snr = params[:, names.index("log_snr")]
q = np.arange(0, 100, 10)
pools = [np.flatnonzero(snr >= np.percentile(snr, qi)) for qi in q]
ts = TSLasso(
    n_components=4,
    sample_size=100,
    n_repeats=q.size,
    epsilon=dm,
    random_state=0,
    n_jobs=2,
).fit(X_exp, params, repeat_rows=pools)
print(
    "selection frequency: "
    + ", ".join(f"{n} {f:.1f}" for n, f in zip(names, ts.selection_frequency_) if f > 0)
)
print(f"selected: {[names[k] for k in ts.selected_]}")

axes = plotting.plot_tslasso_paths(
    ts, names=names, color_by=q, color_label="SNR percentile q"
)
axes[0].figure.suptitle("TSLasso regularisation paths on the experimental manifold")
print(f"total time {time.perf_counter() - start:.0f} s")
plt.show()
