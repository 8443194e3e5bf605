"""The block reducers of ``distances`` on a torch device.

Same inputs and outputs as the fused C reducers, written with torch tensor
operations so the distance blocks run on any torch device (a GPU when one is
present).  No exact float64 re-check of pairs near a threshold is done here:
results equal the numpy path within floating-point tolerance.
"""

from __future__ import annotations

import numpy as np


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "device= needs PyTorch; install it with `pip install torch` or the "
            "'torch' extra of sksbi-manifold, or leave device=None."
        ) from exc
    return torch


def _squared_block(ops, block: slice, mode: int, device):
    """Squared distances of one row block (float64) and its invalid-pair mask."""
    from .distances import MODE_NO_SELF, MODE_UPPER

    torch = _torch()
    upper = ops.same and mode == MODE_UPPER
    col0 = block.start if upper else 0
    Xb = torch.as_tensor(ops.X[block], device=device)
    Yc = torch.as_tensor(ops.Y[col0:], device=device)
    xx = torch.as_tensor(ops.xx[block], device=device)
    yy = torch.as_tensor(ops.yy[col0:], device=device)
    d2 = (xx[:, None] + yy[None, :] - 2.0 * (Xb @ Yc.T)).double().clamp_min_(0.0)
    invalid = None
    if ops.same and mode in (MODE_UPPER, MODE_NO_SELF):
        rows = torch.arange(block.start, block.stop, device=device)[:, None]
        cols = torch.arange(col0, col0 + Yc.shape[0], device=device)[None, :]
        invalid = cols <= rows if upper else cols == rows
    return torch, d2, invalid, col0


def _count(ops, block, device, edges):
    from .distances import MODE_UPPER

    torch, d2, invalid, _ = _squared_block(ops, block, MODE_UPPER, device)
    k = edges.size
    bins = torch.bucketize(d2, torch.as_tensor(edges, device=device))
    if invalid is not None:
        bins[invalid] = k
    ones = torch.ones_like(bins)
    rows = torch.zeros((bins.shape[0], k + 1), dtype=torch.int64, device=device)
    rows.scatter_add_(1, bins, ones)
    cols = None
    if ops.same:
        cols = torch.zeros((bins.shape[1], k + 1), dtype=torch.int64, device=device)
        cols.scatter_add_(1, bins.T.contiguous(), ones.T.contiguous())
        cols = cols[:, :k].cpu().numpy()
    return rows[:, :k].cpu().numpy(), cols


def _select(ops, block, device, radius):
    from .distances import MODE_UPPER

    _, d2, invalid, col0 = _squared_block(ops, block, MODE_UPPER, device)
    mask = d2 <= radius**2
    if invalid is not None:
        mask &= ~invalid
    idx = mask.nonzero()
    counts = mask.sum(dim=1).cpu().numpy().astype(np.int64)
    indices = (idx[:, 1] + col0).cpu().numpy().astype(np.int64)
    return counts, indices, d2[mask].sqrt().cpu().numpy()


def _kernel(ops, block, device, inv_eps2, cut2, targets, mode):
    torch, d2, invalid, _ = _squared_block(ops, block, mode, device)
    F = torch.as_tensor(targets, device=device)
    out = []
    for inv, cut in zip(inv_eps2, cut2):
        W = torch.exp(-d2 * inv) * (d2 <= cut)
        if invalid is not None:
            W[invalid] = 0.0
        out.append(torch.cat([W.sum(dim=1, keepdim=True), W @ F], dim=1))
    return torch.stack(out, dim=1).cpu().numpy()


def _logsum(ops, block, device, coef, mode):
    torch, d2, invalid, _ = _squared_block(ops, block, mode, device)
    out = []
    for c in coef:
        v = -d2 * c
        if invalid is not None:
            v[invalid] = -np.inf
        out.append(torch.logsumexp(v, dim=1))
    return torch.stack(out, dim=1).cpu().numpy()


_REDUCERS = {
    "_count_task": _count,
    "_select_task": _select,
    "_kernel_task": _kernel,
    "_logsum_task": _logsum,
}


def run_on_torch(task, ops, block: slice, device):
    """Run the numpy block ``task`` (a partial of a reducer) with torch."""
    try:
        reducer = _REDUCERS[task.func.__name__]
    except (AttributeError, KeyError):
        raise ValueError(f"{task!r} has no torch implementation.") from None
    return reducer(ops, block, device, **task.keywords)
