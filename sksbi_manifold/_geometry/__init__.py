"""Private geometry layer: the one place that computes distances, kernels,
Laplacians, Riemannian metrics and local PCA. Estimators compose it."""
