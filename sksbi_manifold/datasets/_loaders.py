"""Loaders for latent vectors and simulator parameters stored on disk."""

from __future__ import annotations

import csv
import errno
import itertools
import os
import pickle
import re
import warnings
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

__all__ = ["load_latents", "load_parameters"]

_LATENT_SUFFIXES = (".npy", ".npz", ".csv", ".pt")
_PARAM_SUFFIXES = (".csv", ".npz", ".npy")
_DEFAULT_LATENT_KEYS = ("latents", "X")
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # an archive, an empty archive
_WRITERS = {
    ".npy": "a NumPy array written by numpy.save",
    ".npz": "an archive written by numpy.savez",
    ".csv": "comma-separated numbers, one row per sample",
    ".pt": "a tensor written by torch.save",
}
# A numeric field that is not a plain integer has one of these characters.
_NON_INTEGER = re.compile(r"[.eEiInN]")

PathLike = str | os.PathLike


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------


def _check_path(path: PathLike, supported: tuple[str, ...]) -> tuple[Path, str]:
    """Return the path and its lower-case suffix, or raise a clear error."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "Is a directory, not a file", str(path))
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
    suffix = path.suffix.lower()
    if suffix not in supported:
        raise ValueError(
            f"Unsupported file suffix {path.suffix!r} for {str(path)!r}; "
            f"supported suffixes are {', '.join(supported)}."
        )
    if path.stat().st_size == 0:
        raise ValueError(
            f"{str(path)!r} is empty (0 bytes); expected {_WRITERS[suffix]}."
        )
    return path, suffix


def _head(path: Path, size: int = 64) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


def _looks_like(head: bytes) -> str:
    """What the first bytes of a file look like, with the fix, for messages."""
    if head.startswith(_NPY_MAGIC):
        return "it is a .npy file: name it .npy"
    if head.startswith(_ZIP_MAGICS):
        return "it is a zip archive: name it .npz (numpy.savez) or .pt (torch.save)"
    if all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "it looks like text: name it .csv if it holds comma-separated numbers"
    return "its format is unknown"


def _as_float_array(array: object, what: str) -> np.ndarray:
    """Convert to a float array, keeping float32/float64, else float64."""
    array = np.asarray(array)
    if array.dtype.kind == "f":
        if array.dtype.itemsize not in (4, 8):
            return array.astype(np.float32)
        if not array.dtype.isnative:  # big-endian data: same width, native order
            return array.astype(array.dtype.newbyteorder("="))
        return array
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    raise ValueError(
        f"{what} must be numeric (float, int or bool), got an array of "
        f"dtype {array.dtype}."
    )


def _check_2d(array: np.ndarray, what: str) -> np.ndarray:
    if array.ndim != 2:
        fix = (
            "flatten the trailing axes, e.g. X.reshape(len(X), -1)"
            if array.ndim > 2
            else "reshape it, e.g. X.reshape(-1, 1) for a single column"
        )
        raise ValueError(
            f"{what} must be a 2-D array of shape (n_samples, n_features), "
            f"got {array.ndim}-D array of shape {array.shape}; {fix}."
        )
    if array.shape[1] == 0:
        raise ValueError(f"{what} has no columns (shape {array.shape}).")
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
    if not keys:
        raise ValueError(f"{str(path)!r} holds no arrays.")
    if len(keys) == 1:
        return keys[0]
    for candidate in _DEFAULT_LATENT_KEYS:
        if candidate in keys:
            return candidate
    raise ValueError(
        f"{str(path)!r} holds several arrays {keys} and none is named "
        f"{' or '.join(map(repr, _DEFAULT_LATENT_KEYS))}; choose one with "
        "key=NAME (--key NAME on the command line)."
    )


# ---------------------------------------------------------------------------
# .npy and .npz
# ---------------------------------------------------------------------------


def _npy_dtype(path: Path) -> np.dtype:
    """The dtype in the header of a .npy file (raises ValueError if corrupt)."""
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(fh)[2]
        return np.lib.format.read_array_header_2_0(fh)[2]


def _read_npy(path: Path) -> np.ndarray:
    """The array of a .npy file, memory-mapped: rows are read when used."""
    head = _head(path)
    if not head.startswith(_NPY_MAGIC):
        raise ValueError(
            f"{str(path)!r} is not a .npy file ({_looks_like(head)}); "
            "write arrays with numpy.save."
        )
    try:
        dtype = _npy_dtype(path)
        mapped = not dtype.hasobject
        array = np.load(path, mmap_mode="r", allow_pickle=False) if mapped else None
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(
            f"{str(path)!r} is not a valid .npy file (corrupt or truncated: "
            f"{exc}); write it again with numpy.save."
        ) from exc
    if array is None:
        raise ValueError(
            f"{str(path)!r} holds Python objects (dtype {dtype}), not numbers; "
            "save a numeric array."
        )
    return np.asarray(array)  # a plain ndarray view of the map, not a copy


@contextmanager
def _open_npz(path: Path) -> Iterator[Mapping]:
    """The archive of a .npz file, with a clear error if it is not one."""
    head = _head(path)
    if not head.startswith(_ZIP_MAGICS):
        raise ValueError(
            f"{str(path)!r} is not a .npz archive ({_looks_like(head)}); "
            "write archives with numpy.savez."
        )
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ValueError(
            f"{str(path)!r} is not a valid .npz archive (corrupt or truncated: "
            f"{exc}); write it again with numpy.savez."
        ) from exc
    with archive:
        yield archive


def _member(archive: Mapping, key: str, path: Path) -> np.ndarray:
    """One array of an open .npz archive, with a clear error if corrupt."""
    try:
        return np.asarray(archive[key])
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError) as exc:
        raise ValueError(
            f"array {key!r} of {str(path)!r} cannot be read ({exc}); write the "
            "archive again with numpy.savez, numeric arrays only."
        ) from exc


def _read_npz_latents(path: Path, key: str | None) -> np.ndarray:
    with _open_npz(path) as archive:
        return _member(archive, _pick_key(archive, key, path), path)


# ---------------------------------------------------------------------------
# .csv
# ---------------------------------------------------------------------------


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_positional(fields: list[str]) -> bool:
    """Whether ``fields`` are 0, 1, ..., D-1: pandas' labels of unnamed columns."""
    return fields == [str(j) for j in range(len(fields))]


def _first_row(path: Path) -> tuple[list[str], int]:
    """Fields of the first non-blank line and the number of lines up to it."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh, skipinitialspace=True)
        for row in reader:
            fields = [f.strip() for f in row]
            if any(fields):
                return fields, reader.line_num
    raise ValueError(f"{str(path)!r} is empty; expected {_WRITERS['.csv']}.")


def _has_non_integer(path: Path, skip: int) -> bool:
    """Whether a line after the first ``skip`` holds a non-integer number."""
    with open(path) as fh:
        return any(
            _NON_INTEGER.search(line) for line in itertools.islice(fh, skip, None)
        )


def _csv_layout(path: Path) -> tuple[int, list[str] | None, bool, int]:
    """Lines to skip, column names, whether column 0 is an index, and width.

    The first line is a header if a field is not a number, or if it is
    ``0,1,...,D-1`` (pandas' header of unnamed columns) above data that are
    not all integers. A header starting with an empty field is pandas'
    ``to_csv`` with its index: the first column holds row labels, dropped.
    Positional names ``0,1,...`` are no names.
    """
    fields, line = _first_row(path)
    if all(_is_number(f) for f in fields):
        if _is_positional(fields) and _has_non_integer(path, line):
            return line, None, False, len(fields)
        return line - 1, None, False, len(fields)
    index = len(fields) > 1 and fields[0] == ""
    labels = fields[1:] if index else fields
    return line, None if _is_positional(labels) else labels, index, len(fields)


def _csv_error(path: Path, names: list[str] | None, skip: int, index: bool) -> str:
    """Why the data lines do not parse: non-numeric columns or ragged rows."""
    bad: dict[int, None] = {}
    width = None
    with open(path, newline="") as fh:
        rows = csv.reader(itertools.islice(fh, skip, None), skipinitialspace=True)
        for line, row in enumerate(rows, start=skip + 1):
            if not row:
                continue
            if width is None:
                width = len(row), line
            elif len(row) != width[0]:
                return (
                    f"line {line} has {len(row)} values but line {width[1]} has "
                    f"{width[0]}; every row needs the same number of columns."
                )
            for j, field in enumerate(row[int(index) :]):
                if not _is_number(field.strip()):
                    bad[j] = None
    columns = [names[j] if names and j < len(names) else f"column {j}" for j in bad]
    return (
        f"non-numeric (or missing) values in {columns}; only numeric columns "
        "are supported."
    )


def _ignore(field: str) -> float:
    return 0.0


def _read_csv(path: Path) -> tuple[np.ndarray, list[str] | None]:
    """Numeric CSV (comma separated, optional header) as float64 2-D array."""
    skip, names, index, width = _csv_layout(path)
    try:
        with warnings.catch_warnings():  # "input contained no data": see below
            warnings.simplefilter("ignore", UserWarning)
            values = np.loadtxt(
                path,
                delimiter=",",
                skiprows=skip,
                ndmin=2,
                dtype=float,
                converters={0: _ignore} if index else None,
            )
    except ValueError as exc:
        reason = _csv_error(path, names, skip, index)
        raise ValueError(f"{str(path)!r}: {reason}") from exc
    if values.size == 0:
        raise ValueError(f"{str(path)!r} has a header line but no data rows.")
    if values.shape[1] != width:
        raise ValueError(
            f"{str(path)!r}: header has {width} fields but rows have "
            f"{values.shape[1]} values."
        )
    if index:
        values = np.ascontiguousarray(values[:, 1:])
    return values, names


# ---------------------------------------------------------------------------
# .pt
# ---------------------------------------------------------------------------


def _import_torch() -> object:
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            "Loading .pt files requires PyTorch, which is not installed; "
            "install it with `pip install torch`."
        ) from exc
    return torch


def _torch_load(torch: object, path: Path) -> object:
    """``torch.load`` of tensors only, mapped (not read whole) if possible."""
    mmap = zipfile.is_zipfile(path)  # torch.save's format since PyTorch 1.6
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        found = (
            "it holds objects other than tensors, e.g. NumPy arrays"
            if mmap
            else f"it is not a file written by torch.save; {_looks_like(_head(path))}"
        )
        raise ValueError(
            f"{str(path)!r} cannot be loaded safely ({found}); save a tensor or "
            "a dict of tensors with torch.save."
        ) from exc
    except (RuntimeError, EOFError, OSError) as exc:
        raise ValueError(
            f"{str(path)!r} is not a valid PyTorch file (corrupt or truncated); "
            "write it again with torch.save."
        ) from exc


def _read_pt(path: Path, key: str | None) -> np.ndarray:
    torch = _import_torch()
    obj = _torch_load(torch, path)
    if isinstance(obj, Mapping):
        obj = obj[_pick_key(obj, key, path)]
    elif key is not None:
        raise ValueError(f"key={key!r} given but {str(path)!r} holds a single object.")
    if isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu()
        if obj.is_floating_point() and obj.dtype not in (torch.float32, torch.float64):
            obj = obj.float()
        return obj.numpy()  # shares the (mapped) storage of the tensor
    if isinstance(obj, np.ndarray):
        return obj
    raise ValueError(
        f"{str(path)!r} must hold a tensor or a dict of tensors, "
        f"got {type(obj).__name__}."
    )


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def load_latents(path: PathLike, *, key: str | None = None) -> np.ndarray:
    """Load a 2-D array of latent vectors from ``.npy``, ``.npz``, ``.csv`` or ``.pt``.

    Parameters
    ----------
    path : str or path-like
        File to read. The format is chosen by the (case-insensitive) suffix:

        - ``.npy``: a single array, memory-mapped read-only: rows are read
          from disk when used, so a large file is not read whole.
        - ``.npz``: the array named ``key``; without ``key``, the only array
          of the archive, else the one named ``"latents"``, else ``"X"``.
        - ``.csv``: comma-separated numbers. The first line is a header if
          one of its fields is not a number, or if it is ``0,1,...,D-1``
          (pandas' header of unnamed columns) above data that are not all
          integers. A header starting with an empty field marks the index
          column of ``pandas.DataFrame.to_csv``, which is dropped.
        - ``.pt``: a ``torch`` tensor, or a dict of tensors (same ``key``
          rules as ``.npz``), memory-mapped if saved in PyTorch's default
          zip format. Only tensors are unpickled (``weights_only=True``).
          Requires PyTorch.
    key : str or None, default=None
        Name of the array in an ``.npz`` archive or a ``.pt`` dict. Ignored
        for ``.npy`` and ``.csv`` files, which hold one array.

    Returns
    -------
    latents : ndarray of shape (n_samples, n_features)
        Floating-point array. ``float32`` and ``float64`` data keep their
        dtype (CSV gives ``float64``), other float widths become ``float32``,
        integers and booleans ``float64``. From a ``.npy`` file of native
        ``float32`` or ``float64`` data it is a read-only view of the memory
        map (no copy).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (the message names it).
    IsADirectoryError
        If ``path`` is a directory.
    ValueError
        For an unsupported suffix, an empty or corrupt file, a file whose
        contents are not of its suffix's format, an array that is not 2-D,
        non-numeric data or an archive of several arrays without ``key``
        (the message lists the keys).
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
        array = _read_npy(path)
    elif suffix == ".npz":
        array = _read_npz_latents(path, key)
    elif suffix == ".csv":
        array, _ = _read_csv(path)
    else:
        array = _read_pt(path, key)
    what = f"Latents in {str(path)!r}"
    return _as_float_array(_check_2d(np.asarray(array), what), what)


def _default_names(p: int) -> list[str]:
    return [f"param_{j}" for j in range(p)]


def _npz_with_names(archive: Mapping, key: str | None, path: Path) -> tuple:
    names = [str(n) for n in _member(archive, "names", path).ravel()]
    others = [k for k in archive.keys() if k != "names"]
    if key is None:
        if len(others) != 1:
            raise ValueError(
                f"{str(path)!r} holds arrays {others} besides 'names'; pass key=..."
            )
        key = others[0]
    elif key not in others:
        raise KeyError(f"key {key!r} not found in {str(path)!r}; available: {others}.")
    values = _member(archive, key, path)
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
    arrays = {k: _member(archive, k, path) for k in archive.keys()}
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
    with _open_npz(path) as archive:
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
          ``param_0, param_1, ...`` (also for pandas' positional header
          ``0,1,...``). A header starting with an empty field marks the
          index column of ``pandas.DataFrame.to_csv``, which is dropped.
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
    IsADirectoryError
        If ``path`` is a directory.
    ValueError
        For an unsupported suffix, an empty or corrupt file, a file whose
        contents are not of its suffix's format, arrays of the wrong
        dimensionality or mismatched lengths, names that do not match the
        columns, or non-numeric columns (named in the message).
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
        values = _read_npy(path)
        names = None
    values = _check_2d(np.asarray(values), f"Parameters in {str(path)!r}")
    names = names if names is not None else _default_names(values.shape[1])
    _check_numeric_columns(values, names, path)
    return values.astype(np.float64), list(names)
