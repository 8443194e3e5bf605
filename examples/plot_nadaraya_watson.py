"""
Carry simulation parameters to experimental latents
===================================================

Experimental images have no ground-truth parameters, but their latents lie
among simulated latents that do. The paper (Appendix A.6) infers the
parameters of each experimental latent by Nadaraya-Watson kernel regression
on the simulated set:
``f(x) = sum_j K(x, x_j) f_j / sum_j K(x, x_j)`` with the package's kernel
``K = exp(-||x - x_j||^2 / epsilon^2)`` cut off at ``3 epsilon``.
:class:`~sksbi_manifold.NadarayaWatsonInterpolator` is a scikit-learn
regressor (``score`` is R^2), so its bandwidth can be chosen by its built-in
leave-one-out rule or by ``GridSearchCV``, also inside a ``Pipeline``.

The synthetic experimental set of
:func:`~sksbi_manifold.datasets.make_toy_cryo_latents` does have parameters, so we
can check the transfer.
"""

# %%
# Data
# ----
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sksbi_manifold import NadarayaWatsonInterpolator
from sksbi_manifold.datasets import make_toy_cryo_latents
from sksbi_manifold.exceptions import UnsupportedRowsWarning

sim = make_toy_cryo_latents(2500, domain="simulated", random_state=0)
exp = make_toy_cryo_latents(1500, domain="experimental", random_state=1)
targets = ["theta", "log_snr"]
y_sim, y_exp = sim.params[:, :2], exp.params[:, :2]

# %%
# Leave-one-out bandwidth on the raw latents
# ------------------------------------------
# ``bandwidth="auto"`` scores a grid of bandwidths by the leave-one-out error
# of the training rows, all from one pass over the distances.
nw = NadarayaWatsonInterpolator(random_state=0, n_jobs=2).fit(sim.data, y_sim)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", UnsupportedRowsWarning)
    pred = nw.predict(exp.data)
print(
    f"bandwidth_ = {nw.bandwidth_:.3f}; {nw.n_outside_} of {len(exp.data)} "
    f"experimental rows have no simulated row within 3 bandwidths "
    f"({len(caught)} warning: they get their nearest neighbour's values)"
)
r2 = r2_score(y_exp, pred, multioutput="raw_values")
print(
    "R^2 on the experimental rows: "
    + ", ".join(f"{n} {v:.3f}" for n, v in zip(targets, r2))
)
print(
    f"for comparison, R^2 of the network's posterior mean of theta: "
    f"{r2_score(y_exp[:, 0], exp.posterior_mean):.3f}"
)

# %%
# In ``R^256`` the latent noise sets a floor of about 2.7 on the distance
# between two latents, and the leave-one-out optimum puts the kernel cutoff
# ``3 * bandwidth_`` just around it: each prediction averages a few close
# simulated rows, and rows without any inside the cutoff copy their nearest
# neighbour. The transferred conformation is already more accurate than the
# network's own posterior mean, which is blurred at low SNR.

# %%
# Grid search in a pipeline
# -------------------------
# Projecting on the leading principal components first removes most of the
# noise dimensions, so that kernel averages over several neighbours become
# possible. ``GridSearchCV`` tunes the projection and the bandwidth together
# with the default (R^2) scorer. Rows without a neighbour inside the cutoff
# warn at every fold; we silence that warning during the search.
pipe = make_pipeline(PCA(random_state=0), NadarayaWatsonInterpolator())
grid = {
    "pca__n_components": [8, 16, 32],
    "nadarayawatsoninterpolator__bandwidth": [0.5, 1.0, 2.0],
}
search = GridSearchCV(pipe, grid, cv=3)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UnsupportedRowsWarning)
    search.fit(sim.data, y_sim)
    pred_cv = search.predict(exp.data)
best = search.best_params_
print(
    f"best: {best['pca__n_components']} components, bandwidth "
    f"{best['nadarayawatsoninterpolator__bandwidth']}, CV R^2 "
    f"{search.best_score_:.3f}"
)
r2_cv = r2_score(y_exp, pred_cv, multioutput="raw_values")
print(
    "R^2 on the experimental rows: "
    + ", ".join(f"{n} {v:.3f}" for n, v in zip(targets, r2_cv))
)
n_outside = search.best_estimator_[-1].n_outside_
print(f"{n_outside} experimental rows outside the kernel cutoff")

# %%
# Figures: the leave-one-out curve, the grid, and the transferred conformation
# against the truth, coloured by the signal-to-noise ratio (low SNR latents
# are blurred towards a common "noise centre" and their conformation is
# harder to read).
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
axes[0].plot(nw.bandwidths_, nw.loo_errors_, "o-")
axes[0].axvline(nw.bandwidth_, color="C3", ls="--")
axes[0].set_xscale("log")
axes[0].set_xticks([0.6, 1, 2, 4], ["0.6", "1", "2", "4"], minor=False)
axes[0].minorticks_off()
axes[0].set_xlabel("bandwidth epsilon")
axes[0].set_ylabel("leave-one-out error (1 - R^2)")
axes[0].set_title("bandwidth='auto' on raw latents")

scores = search.cv_results_["mean_test_score"].reshape(3, 3)
image = axes[1].imshow(scores, cmap="viridis", vmin=max(0.0, scores.min()))
for (a, b), value in np.ndenumerate(scores):
    axes[1].text(
        b,
        a,
        f"{value:.3f}",
        ha="center",
        va="center",
        bbox={"facecolor": "w", "alpha": 0.8},
    )
axes[1].set_yticks(range(3), grid["pca__n_components"])
axes[1].set_xticks(range(3), grid["nadarayawatsoninterpolator__bandwidth"])
axes[1].set_ylabel("PCA components")
axes[1].set_xlabel("bandwidth")
axes[1].set_title("GridSearchCV mean R^2")
fig.colorbar(image, ax=axes[1])

jitter = np.random.default_rng(0).uniform(-0.3, 0.3, len(y_exp))
points = axes[2].scatter(
    y_exp[:, 0] + jitter, pred_cv[:, 0], c=y_exp[:, 1], s=4, cmap="plasma"
)
axes[2].plot([0, 19], [0, 19], "k--", lw=1)
axes[2].set_xlabel("true theta (jittered)")
axes[2].set_ylabel("transferred theta")
axes[2].set_title("experimental rows")
fig.colorbar(points, ax=axes[2], label="log SNR")
fig.tight_layout()
plt.show()
