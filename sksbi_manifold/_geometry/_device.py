"""The distance engine's GEMMs on a torch device.

Only the matrix product of a row block runs on the device (the one part a GPU
speeds up by orders of magnitude); the block comes back to the host and goes
through the same fused C reducer as the numpy path, exact float64 re-checks
included, so ``device=`` changes where the flops run, not the results.
"""

from __future__ import annotations

import numpy as np


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "device= needs PyTorch; install it with `pip install torch` or the "
            "'report' extra of sksbi-manifold, or leave device=None."
        ) from exc
    return torch


def check_device(device: str | None) -> str | None:
    """Validate a torch device string before any work (None is numpy).

    Raises a ValueError naming ``device`` for an unknown device type or one
    this machine lacks (``"cuda"`` without CUDA), instead of an error from
    deep inside torch at the first block.
    """
    if device is None:
        return None
    torch = _torch()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use e.g. 'cpu', 'cuda' "
            "or 'cuda:0', or device=None for the numpy engine."
        ) from exc
    if dev.type == "cpu":
        return device
    backend = getattr(torch, dev.type, None)
    available = backend is not None and getattr(backend, "is_available", bool)()
    count = getattr(backend, "device_count", lambda: 1)() if available else 0
    if not available or (dev.index is not None and dev.index >= count):
        raise ValueError(
            f"device={device!r} is not available on this machine (torch "
            f"{torch.__version__} sees {count} {dev.type} device(s)); use "
            "device='cpu' or device=None."
        )
    return device


def to_device(A: np.ndarray, device: str):
    """The rows as a tensor on the device (once per call, not per block)."""
    return _torch().as_tensor(np.ascontiguousarray(A), device=device)


def device_gemm(X_dev, Y_dev, rows: slice, col0: int) -> np.ndarray:
    """``X[rows] @ Y[col0:].T`` on the device, returned as a host array."""
    return (X_dev[rows] @ Y_dev[col0:].T).cpu().numpy()
