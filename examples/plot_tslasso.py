"""
Which functions parametrize the manifold? TSLasso
=================================================

Given a *dictionary* of smooth functions on the data (in the paper, the
simulation parameters), :class:`~sksbi_manifold.TSLasso` (Koelle, Zhang,
Murad and Meila 2024) selects the ``d`` functions whose gradients span the
tangent spaces of the manifold most economically: a group lasso on the
gradients projected onto local tangent spaces, repeated on random samples of
points. The selection frequency of each function measures how reliably it is
a coordinate of the manifold (paper Section 3, Appendix Figure 6).

We use a swiss roll in ``R^49`` with a dictionary of five functions whose
gradients we know in closed form:

* ``s``, the arc length along the roll, and ``v``, the height: together an
  isometric parametrization (the roll unrolls onto a rectangle);
* ``x`` and ``z``, the coordinates of the roll in its own 3-D space: smooth,
  but each one folds over the roll;
* ``u``, the roll angle: a valid coordinate, but not at unit speed (one turn
  covers more arc length outside than inside).
"""

# %%
# The roll, the dictionary and its gradients
# ------------------------------------------
# ``make_lifted_manifold`` returns the roll ``(u/2 cos u, v, u/2 sin u)`` in
# ``R^3`` (``info.natural``) and the isometry ``Q`` into ``R^49``
# (``info.embedding_matrix``). The gradient of a function of the
# ``R^3`` coordinates is lifted by ``Q``; on the manifold, ``grad s`` is the
# unit tangent along ``u`` and ``grad u`` that tangent divided by the speed
# ``|d(roll)/du|``.
import matplotlib.pyplot as plt
import numpy as np

from sksbi_manifold import TSLasso, estimate_gradients
from sksbi_manifold.datasets import make_lifted_manifold

info = make_lifted_manifold(
    "swiss_roll", 2000, ambient_dim=49, random_state=0, return_info=True
)
X, Q = info.data, info.embedding_matrix
u, v = info.coords.T
s = info.arc_length
roll = info.natural
names = ["s", "v", "x", "z", "u"]
F = np.column_stack([s, v, roll[:, 0], roll[:, 2], u])

tangent_u = np.column_stack(
    [
        np.cos(u) / 2 - u / 2 * np.sin(u),
        np.zeros_like(u),
        np.sin(u) / 2 + u / 2 * np.cos(u),
    ]
)
speed = np.linalg.norm(tangent_u, axis=1, keepdims=True)
e = np.eye(3)
grad_3d = np.stack(
    [
        tangent_u / speed,  # s
        np.broadcast_to(e[1], tangent_u.shape),  # v
        np.broadcast_to(e[0], tangent_u.shape),  # x
        np.broadcast_to(e[2], tangent_u.shape),  # z
        tangent_u / speed**2,  # u
    ],
    axis=-1,
)  # (n, 3, 5)
gradients = np.einsum("ak,nkf->naf", Q, grad_3d)  # (n, 49, 5)
print(f"X {X.shape}, dictionary {F.shape}, gradients {gradients.shape}")

# %%
# Selection with the analytic gradients
# -------------------------------------
# Ten repeats on 200 random points each. ``x`` and ``z`` have unit ambient
# gradients of which, on average, half the squared length is normal to the
# roll: after the normalisation by the ambient norm and the projection onto the
# tangent spaces they are weaker than ``s``, and they vanish where the roll is
# perpendicular to their axis. ``u`` is a coordinate everywhere, but its
# gradient shrinks along the roll; ``s`` is uniform.
ts = TSLasso(n_components=2, sample_size=200, n_repeats=10, random_state=0, n_jobs=2)
ts.fit(X, F, gradients=gradients)
print(f"epsilon_ = {ts.epsilon_:.3f}")
print(
    "selection frequency: "
    + ", ".join(f"{n} {f:.1f}" for n, f in zip(names, ts.selection_frequency_))
)
print(f"selected: {[names[k] for k in ts.selected_]}")

# %%
# Estimated gradients
# -------------------
# On real data the gradients are unknown: :func:`~sksbi_manifold.estimate_gradients`
# regresses function differences on local PCA coordinates (``TSLasso`` calls
# it when ``gradients`` is None). Its estimates live in the estimated tangent
# spaces, so we compare them with the tangential part of the analytic
# gradients.
rows = np.random.default_rng(0).choice(len(X), 300, replace=False)
estimated = estimate_gradients(X, F, rows=rows, tangent_dim=2, epsilon=ts.epsilon_)
basis = np.stack([Q @ (tangent_u[rows] / speed[rows]).T, np.repeat(Q[:, [1]], 300, 1)])
basis = basis.transpose(2, 1, 0)  # (rows, 49, 2): orthonormal tangent frames
tangential = basis @ (basis.transpose(0, 2, 1) @ gradients[rows])
error = np.linalg.norm(estimated - tangential, axis=1) / np.linalg.norm(
    tangential, axis=1
)
print(
    "median relative error of the estimated gradients: "
    + ", ".join(f"{n} {e:.3f}" for n, e in zip(names, np.median(error, axis=0)))
)

# %%
# Frequencies and regularisation paths
# ------------------------------------
# Each repeat searches the penalty ``lambda`` by bisection until exactly
# ``n_components`` groups are non-zero; ``coef_path_`` records the probed
# values with the mean norm of each function's coefficients (the y-axis of the
# paper's Appendix Figure 6). Here the bisection needs only three probes: at
# ``lambda = 0`` every function is active, at ``lambda_max / 2`` only ``s``
# and ``v`` remain.
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
axes[0].bar(names, ts.selection_frequency_, color=["C0", "C1", "C2", "C3", "C4"])
axes[0].set_ylim(0, 1.05)
axes[0].set_ylabel("selection frequency")
axes[0].set_title(f"TSLasso, {ts.n_repeats} repeats")
for path, lam_max in zip(ts.coef_path_, ts.lambda_max_):
    for k, name in enumerate(names):
        axes[1].plot(
            path.lambdas / lam_max,
            path.coef_mean_norms[:, k],
            "o-",
            color=f"C{k}",
            alpha=0.5,
            label=name if path is ts.coef_path_[0] else None,
        )
axes[1].set_xlabel("lambda / lambda_max")
axes[1].set_ylabel("mean coefficient norm")
axes[1].set_title("probed regularisation paths")
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()
