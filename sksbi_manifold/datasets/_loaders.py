"""Loaders for latent vectors and simulator parameters stored on disk."""

from __future__ import annotations

import csv
import errno
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["load_latents", "load_parameters"]

_LATENT_SUFFIXES = (".npy", ".npz", ".csv", ".pt")
_PARAM_SUFFIXES = (".csv", ".npz", ".npy")
_DEFAULT_LATENT_KEYS = ("latents", "X")

PathLike = str | os.PathLike


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------


def _check_path(path: PathLike, supported: tuple[str, ...]) -> tuple[Path, str]:
    """Return the path and its lower-case suffix, or raise a clear error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
    suffix = path.suffix.lower()
    if suffix not in supported:
        raise ValueError(
            f"Unsupported file suffix {path.suffix!r} for {str(path)!r}; "
            f"supported suffixes are {', '.join(supported)}."
        )
    return path, suffix


def _as_float_array(array: object, what: str) -> np.ndarray:
    """Convert to a float array, keeping float32/float64, else float64."""
    array = np.asarray(array)
    if array.dtype.kind == "f":
        if array.dtype not in (np.float32, np.float64):
            array = array.astype(np.float32)
        return array
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    raise ValueError(f"{what} must be numeric, got an array of dtype {array.dtype}.")


def _check_2d(array: np.ndarray, what: str) -> np.ndarray:
    if array.ndim != 2:
        raise ValueError(
            f"{what} must be a 2-D array of shape (n_samples, n_features), "
            f"got {array.ndim}-D array of shape {array.shape}."
        )
    return array


def _pick_key(mapping: Mapping, key: str | None, path: Path) -> str:
    """Choose the array of an archive: ``key``, the only one, 'latents' or 'X'."""
    keys = list(mapping.keys())
    if key is not None:
        if key not in keys:
            raise KeyError(
                f"key {key!r} not found in {str(path)!r}; available: {keys}."
            )
        return key
    if len(keys) == 1:
        return keys[0]
    for candidate in _DEFAULT_LATENT_KEYS:
        if candidate in keys:
            return candidate
    raise ValueError(
        f"{str(path)!r} holds several arrays {keys} and none is named "
        f"{' or '.join(map(repr, _DEFAULT_LATENT_KEYS))}; pass key=..."
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_header(path: Path) -> list[str] | None:
    """Column names of the first row if it is a header (any non-numeric field)."""
    with open(path, newline="") as fh:
        first = next(csv.reader(fh, skipinitialspace=True), None)
    if first is None:
        raise ValueError(f"{str(path)!r} is empty.")
    fields = [f.strip() for f in first]
    return None if all(_is_number(f) for f in fields) else fields


def _bad_csv_columns(path: Path, names: list[str] | None, skip: int) -> list[str]:
    """Names (or indices) of columns holding a non-numeric entry."""
    bad: dict[int, None] = {}
    with open(path, newline="") as fh:
        for row in list(csv.reader(fh, skipinitialspace=True))[skip:]:
            for j, field in enumerate(row):
                if not _is_number(field.strip()):
                    bad[j] = None
    return [names[j] if names and j < len(names) else f"column {j}" for j in bad]


def _read_csv(path: Path) -> tuple[np.ndarray, list[str] | None]:
    """Numeric CSV (comma separated, optional header) as float64 2-D array."""
    names = _csv_header(path)
    skip = 0 if names is None else 1
    try:
        values = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2, dtype=float)
    except ValueError as exc:
        bad = _bad_csv_columns(path, names, skip)
        if not bad:
            raise ValueError(f"Could not parse {str(path)!r} as CSV: {exc}") from exc
        raise ValueError(
            f"{str(path)!r} has non-numeric (or missing) values in {bad}; "
            "only numeric columns are supported."
        ) from exc
    if names is not None and len(names) != values.shape[1]:
        raise ValueError(
            f"{str(path)!r}: header has {len(names)} names but rows have "
            f"{values.shape[1]} values."
        )
    return values, names


def _import_torch() -> object:
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            "Loading .pt files requires PyTorch, which is not installed; "
            "install it with `pip install torch`."
        ) from exc
    return torch


def _read_pt(path: Path, key: str | None) -> np.ndarray:
    torch = _import_torch()
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, Mapping):
        obj = obj[_pick_key(obj, key, path)]
    elif key is not None:
        raise ValueError(f"key={key!r} given but {str(path)!r} holds a single object.")
    if isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu()
        if obj.is_floating_point() and obj.dtype not in (torch.float32, torch.float64):
            obj = obj.float()
        return obj.numpy()
    if isinstance(obj, np.ndarray):
        return obj
    raise ValueError(
        f"{str(path)!r} must hold a tensor or a dict of tensors, "
        f"got {type(obj).__name__}."
    )


def _read_npz_latents(path: Path, key: str | None) -> np.ndarray:
    with np.load(path, allow_pickle=False) as archive:
        return archive[_pick_key(archive, key, path)]


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def load_latents(path: PathLike, *, key: str | None = None) -> np.ndarray:
    """Load a 2-D array of latent vectors from ``.npy``, ``.npz``, ``.csv`` or ``.pt``.

    Parameters
    ----------
    path : str or path-like
        File to read. The format is chosen by the (case-insensitive) suffix:

        - ``.npy``: a single array.
        - ``.npz``: the array named ``key``; without ``key``, the only array
          of the archive, else the one named ``"latents"``, else ``"X"``.
        - ``.csv``: comma-separated numbers, with an optional header row
          (detected as a first row holding a non-numeric field).
        - ``.pt``: a ``torch`` tensor, or a dict of tensors (same ``key``
          rules as ``.npz``). Requires PyTorch.
    key : str or None, default=None
        Name of the array in an ``.npz`` archive or a ``.pt`` dict.

    Returns
    -------
    latents : ndarray of shape (n_samples, n_features)
        Floating-point array. ``float32`` and ``float64`` data keep their
        dtype (CSV gives ``float64``), other float widths become ``float32``,
        integers and booleans ``float64``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (the message names it).
    ValueError
        For an unsupported suffix, an array that is not 2-D, non-numeric
        data or an ambiguous archive without ``key``.
    KeyError
        If ``key`` is not in the archive.
    ImportError
        If a ``.pt`` file is read without PyTorch installed.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sksbi_manifold.datasets import load_latents
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "latents.npz")
    ...     np.savez(path, latents=np.zeros((5, 3), dtype=np.float32))
    ...     X = load_latents(path)
    >>> X.shape, X.dtype
    ((5, 3), dtype('float32'))
    """
    path, suffix = _check_path(path, _LATENT_SUFFIXES)
    if suffix == ".npy":
        array = np.load(path, allow_pickle=False)
    elif suffix == ".npz":
        array = _read_npz_latents(path, key)
    elif suffix == ".csv":
        array, _ = _read_csv(path)
    else:
        array = _read_pt(path, key)
    what = f"Latents in {str(path)!r}"
    return _check_2d(_as_float_array(array, what), what)


def _default_names(p: int) -> list[str]:
    return [f"param_{j}" for j in range(p)]


def _npz_with_names(archive: Mapping, key: str | None, path: Path) -> tuple:
    names = [str(n) for n in np.asarray(archive["names"]).ravel()]
    others = [k for k in archive.keys() if k != "names"]
    if key is None:
        if len(others) != 1:
            raise ValueError(
                f"{str(path)!r} holds arrays {others} besides 'names'; pass key=..."
            )
        key = others[0]
    elif key not in others:
        raise KeyError(f"key {key!r} not found in {str(path)!r}; available: {others}.")
    values = np.asarray(archive[key])
    if values.ndim == 1 and len(names) == 1:
        values = values[:, None]
    values = _check_2d(values, f"Parameters {key!r} in {str(path)!r}")
    if len(names) != values.shape[1]:
        raise ValueError(
            f"{str(path)!r}: 'names' has {len(names)} entries but {key!r} has "
            f"{values.shape[1]} columns."
        )
    return values, names


def _npz_columns(archive: Mapping, key: str | None, path: Path) -> tuple:
    arrays = {k: np.asarray(archive[k]) for k in archive.keys()}
    if key is not None:
        if key not in arrays:
            raise KeyError(
                f"key {key!r} not found in {str(path)!r}; available: {list(arrays)}."
            )
        arrays = {key: arrays[key]}
    if len(arrays) == 1:
        values = next(iter(arrays.values()))
        if values.ndim == 2:
            return values, _default_names(values.shape[1])
    shapes = {k: a.shape for k, a in arrays.items()}
    if any(a.ndim != 1 for a in arrays.values()) or len(set(shapes.values())) != 1:
        raise ValueError(
            f"{str(path)!r} must hold 1-D arrays of equal length (one per "
            f"parameter), or a 2-D array plus a 'names' array; got shapes {shapes}."
        )
    bad = [k for k, a in arrays.items() if a.dtype.kind not in "biuf"]
    if bad:
        raise ValueError(
            f"{str(path)!r} has non-numeric parameter columns {bad}; "
            "only numeric values are supported."
        )
    return np.column_stack(list(arrays.values())), list(arrays)


def _check_numeric_columns(values: np.ndarray, names: list[str], path: Path) -> None:
    if values.dtype.kind not in "biuf":
        raise ValueError(
            f"{str(path)!r} has non-numeric parameter columns {list(names)} "
            f"(dtype {values.dtype}); only numeric values are supported."
        )


def _read_npz_params(path: Path, key: str | None) -> tuple:
    with np.load(path, allow_pickle=False) as archive:
        if "names" in archive.keys():
            return _npz_with_names(archive, key, path)
        return _npz_columns(archive, key, path)


def load_parameters(
    path: PathLike, *, key: str | None = None
) -> tuple[np.ndarray, list[str]]:
    """Load a table of simulator parameters with its column names.

    Parameters
    ----------
    path : str or path-like
        File to read, by (case-insensitive) suffix:

        - ``.csv``: comma-separated numbers; a header row (any non-numeric
          field in the first row) gives the names, otherwise they are
          ``param_0, param_1, ...``.
        - ``.npz``: either several 1-D arrays of equal length, one per
          parameter, whose archive names are the column names (in stored
          order); or a 2-D array plus a ``"names"`` array of strings. ``key``
          selects the 2-D array (or a single 1-D column) when the archive holds
          several.
        - ``.npy``: a 2-D array; names are ``param_0, param_1, ...``.
    key : str or None, default=None
        Name of the array to read from an ``.npz`` archive.

    Returns
    -------
    values : ndarray of shape (n_samples, n_params), dtype float64
        Parameter values.
    names : list of str
        Column names.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (the message names it).
    ValueError
        For an unsupported suffix, arrays of the wrong dimensionality or
        mismatched lengths, names that do not match the columns, or
        non-numeric columns (named in the message).
    KeyError
        If ``key`` is not in the archive.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sksbi_manifold.datasets import load_parameters
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "params.npz")
    ...     np.savez(path, theta=np.arange(4.0), log_snr=np.zeros(4))
    ...     values, names = load_parameters(path)
    >>> values.shape, names
    ((4, 2), ['theta', 'log_snr'])
    """
    path, suffix = _check_path(path, _PARAM_SUFFIXES)
    if suffix == ".csv":
        values, names = _read_csv(path)
    elif suffix == ".npz":
        values, names = _read_npz_params(path, key)
    else:
        values = np.load(path, allow_pickle=False)
        names = None
    values = _check_2d(np.asarray(values), f"Parameters in {str(path)!r}")
    names = names if names is not None else _default_names(values.shape[1])
    _check_numeric_columns(values, names, path)
    return values.astype(np.float64), list(names)
