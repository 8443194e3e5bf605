"""Loaders of latents and parameters: CSV headers, damaged files, memory maps.

The round trips and the basic errors are tested in ``test_datasets.py``.
"""

from __future__ import annotations

import re
import sys
import zipfile

import numpy as np
import pytest

from sksbi_manifold.datasets import load_latents, load_parameters

# Messages of NumPy and PyTorch whose advice is wrong for a damaged file.
_MISLEADING = ("allow_pickle", "weights_only", "pickle.load", "usecols")


@pytest.fixture
def X():
    return np.random.default_rng(0).standard_normal((50, 3))


def _error(call, *args, **kwargs) -> str:
    """The message of the ValueError of ``call``; it must not mislead."""
    with pytest.raises(ValueError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert not any(word in message for word in _MISLEADING), message
    return message


# ---------------------------------------------------------------------------
# CSV headers and pandas' index column
# ---------------------------------------------------------------------------


def test_csv_pandas_header_without_index(tmp_path, X):
    pd = pytest.importorskip("pandas")
    path = tmp_path / "a.csv"
    pd.DataFrame(X).to_csv(path, index=False)
    assert path.read_text().splitlines()[0] == "0,1,2"
    out = load_latents(path)
    assert out.shape == (50, 3)
    np.testing.assert_allclose(out, X, rtol=1e-15)


def test_csv_pandas_header_with_index(tmp_path, X):
    pd = pytest.importorskip("pandas")
    path = tmp_path / "b.csv"
    pd.DataFrame(X).to_csv(path)
    assert path.read_text().startswith(",0,1,2\n0,")
    np.testing.assert_allclose(load_latents(path), X, rtol=1e-15)
    values, names = load_parameters(path)
    assert names == ["param_0", "param_1", "param_2"]
    np.testing.assert_allclose(values, X, rtol=1e-15)


def test_csv_pandas_named_columns(tmp_path, X):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["theta", "log_snr", "defocus"])
    for index in (False, True):
        path = tmp_path / f"named_{index}.csv"
        frame.to_csv(path, index=index)
        values, names = load_parameters(path)
        assert names == ["theta", "log_snr", "defocus"]
        np.testing.assert_allclose(values, X, rtol=1e-15)
        assert load_latents(path).shape == (50, 3)
    labelled = tmp_path / "labelled.csv"  # an index of strings is dropped too
    frame.set_axis([f"row{i}" for i in range(50)]).to_csv(labelled)
    np.testing.assert_allclose(load_latents(labelled), X, rtol=1e-15)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0,1,2\n0.5,1.5,2.5\n-1,2e-3,nan\n", [[0.5, 1.5, 2.5], [-1, 2e-3, np.nan]]),
        ("0,1,2\n0.5,1.5,2.5", [[0.5, 1.5, 2.5]]),  # no trailing newline
        ("0\n0.25\n4\n", [[0.25], [4]]),  # one column
        ("0,1\r\n0.5,2\r\n", [[0.5, 2]]),  # Windows line ends
        ("\n\n0,1\n0.5,2\n", [[0.5, 2]]),  # blank lines first
        (" 0, 1\n0.5, 2\n", [[0.5, 2]]),  # spaces after the commas
        (",0,1\n0,0.5,2\n1,3,4", [[0.5, 2], [3, 4]]),  # index, no newline
        (",a,b\nr1,1,2\nr2,3,4\n", [[1, 2], [3, 4]]),  # named, string index
        ("a,b\n1,2\n3,4", [[1, 2], [3, 4]]),  # names, no newline
        ('"a","b c"\n1,2\n', [[1, 2]]),  # quoted names
        # Not headers: integer data (ambiguous: kept), floats, other numbers.
        ("0,1\n2,3\n", [[0, 1], [2, 3]]),
        ("0.0,1.0\n2.5,3\n", [[0, 1], [2.5, 3]]),
        ("1,0\n2.5,3\n", [[1, 0], [2.5, 3]]),
        ("0,1\n0.5,2\n", [[0.5, 2]]),
    ],
)
def test_csv_header_detection(tmp_path, text, expected):
    path = tmp_path / "x.csv"
    path.write_bytes(text.encode())
    np.testing.assert_array_equal(load_latents(path), expected)


def test_csv_parameter_names(tmp_path):
    cases = {
        "theta,snr\n1,2\n": ["theta", "snr"],
        ",theta,snr\n0,1,2\n": ["theta", "snr"],
        "0,1\n1.5,2\n": ["param_0", "param_1"],
        ",0,1\n0,1.5,2\n": ["param_0", "param_1"],
        "1.5,2\n": ["param_0", "param_1"],
    }
    for i, (text, names) in enumerate(cases.items()):
        path = tmp_path / f"p{i}.csv"
        path.write_text(text)
        values, got = load_parameters(path)
        assert got == names, text
        np.testing.assert_array_equal(values, [[1.5 if "1.5" in text else 1, 2]])


def test_csv_errors(tmp_path):
    cases = {
        "blank.csv": ("\n \n\n", "is empty"),
        "header_only.csv": ("a,b\n", "header line but no data rows"),
        "pandas_empty.csv": (",0,1\n", "header line but no data rows"),
        "ragged.csv": ("1,2,3\n4,5,6\n7,8\n", "line 3 has 2 values but line 1 has 3"),
        "wide_index.csv": (",a,b\n0,1,2,3\n", "header has 3 fields but rows have 4"),
        "missing.csv": (",a,b\n0,1,\n1,2,3\n", r"missing.*\['b'\]"),
        "semicolons.csv": ("a;b\n1;2\n", r"non-numeric.*'a;b'"),
    }
    for name, (text, match) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        assert re.search(match, _error(load_latents, path)), name


# ---------------------------------------------------------------------------
# Empty, mislabelled and damaged files
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".csv", ".pt"])
def test_empty_file(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.touch()
    assert "is empty (0 bytes)" in _error(load_latents, path)
    if suffix != ".pt":
        assert "is empty (0 bytes)" in _error(load_parameters, path)


def test_npy_that_is_not_npy(tmp_path, X):
    text = tmp_path / "text.npy"
    text.write_text("1,2\n3,4\n")
    message = _error(load_latents, text)
    assert "not a .npy file" in message and "name it .csv" in message
    assert "not a .npy file" in _error(load_parameters, text)
    archive = tmp_path / "archive.npy"
    with open(archive, "wb") as fh:  # np.savez would append .npz
        np.savez(fh, X=X)
    assert "name it .npz" in _error(load_latents, archive)
    binary = tmp_path / "binary.npy"
    binary.write_bytes(bytes(range(256)))
    assert "format is unknown" in _error(load_latents, binary)


def test_npy_damaged(tmp_path, X):
    full = tmp_path / "full.npy"
    np.save(full, X)
    truncated = tmp_path / "truncated.npy"
    truncated.write_bytes(full.read_bytes()[:300])
    assert "corrupt or truncated" in _error(load_latents, truncated)
    header = tmp_path / "header.npy"
    header.write_bytes(full.read_bytes()[:20])
    assert "corrupt or truncated" in _error(load_latents, header)
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([[1, "a"]], dtype=object), allow_pickle=True)
    assert "Python objects" in _error(load_latents, objects)


def test_npz_damaged(tmp_path, X):
    text = tmp_path / "text.npz"
    text.write_text("1,2\n")
    assert "not a .npz archive" in _error(load_latents, text)
    npy = tmp_path / "npy.npz"
    with open(npy, "wb") as fh:
        np.save(fh, X)
    assert "name it .npy" in _error(load_latents, npy)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04" + bytes(100))
    assert "not a valid .npz archive" in _error(load_latents, garbage)
    assert "not a valid .npz archive" in _error(load_parameters, garbage)
    full = tmp_path / "full.npz"
    np.savez_compressed(full, X=X)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(full.read_bytes()[:-40])
    assert "not a valid .npz archive" in _error(load_latents, truncated)
    data = bytearray(full.read_bytes())  # damage the compressed member
    data[len(data) // 2 : len(data) // 2 + 16] = bytes(16)
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(bytes(data))
    assert "cannot be read" in _error(load_latents, damaged)
    assert "cannot be read" in _error(load_parameters, damaged)


def test_npz_several_arrays(tmp_path, X):
    path = tmp_path / "several.npz"
    np.savez(path, a=X, b=2 * X)
    message = _error(load_latents, path)
    assert "['a', 'b']" in message and "key=" in message and "--key" in message
    np.testing.assert_array_equal(load_latents(path, key="b"), 2 * X)
    empty = tmp_path / "none.npz"
    np.savez(empty)
    assert zipfile.is_zipfile(empty)
    assert "holds no arrays" in _error(load_latents, empty)


@pytest.mark.parametrize(
    "shape, fix",
    [((5,), r"X\.reshape\(-1, 1\)"), ((), "reshape"), ((4, 3, 2), "len\\(X\\), -1")],
)
def test_not_two_dimensional(tmp_path, shape, fix):
    for suffix in (".npy", ".npz"):
        path = tmp_path / f"x{suffix}"
        (np.save if suffix == ".npy" else np.savez)(path, np.zeros(shape))
        message = _error(load_latents, path)
        assert "(n_samples, n_features)" in message
        assert f"{len(shape)}-D" in message and str(shape) in message
        assert re.search(fix, message)
    no_columns = tmp_path / "empty_rows.npy"
    np.save(no_columns, np.zeros((5, 0)))
    assert "no columns" in _error(load_latents, no_columns)


def test_directory_is_not_a_file(tmp_path):
    folder = tmp_path / "latents.npy"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"latents\.npy"):
        load_latents(folder)


# ---------------------------------------------------------------------------
# Memory maps and dtypes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_npy_is_memory_mapped(tmp_path, X, dtype):
    path = tmp_path / "big.npy"
    np.save(path, X.astype(dtype))
    out = load_latents(path)
    assert type(out) is np.ndarray and out.dtype == dtype
    assert isinstance(out.base, np.memmap)  # a view of the map, not a copy
    assert not out.flags.writeable
    np.testing.assert_array_equal(out, X.astype(dtype))
    fortran = tmp_path / "fortran.npy"
    np.save(fortran, np.asfortranarray(X.astype(dtype)))
    np.testing.assert_array_equal(load_latents(fortran), X.astype(dtype))


def test_npy_dtypes(tmp_path, X):
    big_endian = tmp_path / "big_endian.npy"
    np.save(big_endian, X.astype(">f8"))
    out = load_latents(big_endian)
    assert out.dtype == np.float64 and out.dtype.isnative
    np.testing.assert_array_equal(out, X)
    half = tmp_path / "half.npy"
    np.save(half, X.astype(np.float16))
    assert load_latents(half).dtype == np.float32
    complex_ = tmp_path / "complex.npy"
    np.save(complex_, X + 1j)
    assert "numeric (float, int or bool)" in _error(load_latents, complex_)
    values, _ = load_parameters(half)
    assert values.dtype == np.float64 and values.flags.writeable
    empty = tmp_path / "no_rows.npy"
    np.save(empty, np.zeros((0, 3), dtype=np.float32))
    assert load_latents(empty).shape == (0, 3)


# ---------------------------------------------------------------------------
# .pt
# ---------------------------------------------------------------------------


def test_pt_damaged(tmp_path, X):
    torch = pytest.importorskip("torch")
    text = tmp_path / "text.pt"
    text.write_text("1,2\n3,4\n")
    message = _error(load_latents, text)
    assert "not a file written by torch.save" in message and ".csv" in message
    arrays = tmp_path / "arrays.pt"
    torch.save({"latents": X}, arrays)  # NumPy, not tensors: refused
    assert "objects other than tensors" in _error(load_latents, arrays)
    full = tmp_path / "full.pt"
    torch.save(torch.from_numpy(X), full)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(full.read_bytes()[:300])
    assert "corrupt or truncated" in _error(load_latents, truncated)
    several = tmp_path / "several.pt"
    torch.save({"a": torch.zeros(3, 2), "b": torch.ones(3, 2)}, several)
    assert "['a', 'b']" in _error(load_latents, several)
    np.testing.assert_array_equal(load_latents(several, key="b"), np.ones((3, 2)))


def test_pt_formats_and_memory_map(tmp_path, X, monkeypatch):
    torch = pytest.importorskip("torch")
    legacy = tmp_path / "legacy.pt"
    torch.save(torch.from_numpy(X), legacy, _use_new_zipfile_serialization=False)
    np.testing.assert_array_equal(load_latents(legacy), X)
    calls = []
    load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    zipped = tmp_path / "zipped.pt"
    torch.save(torch.from_numpy(X).float(), zipped)
    out = load_latents(zipped)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, X.astype(np.float32))
    assert calls[-1]["mmap"] and calls[-1]["weights_only"]
    bf16 = tmp_path / "bf16.pt"
    torch.save(torch.from_numpy(X).to(torch.bfloat16), bf16)
    assert load_latents(bf16).dtype == np.float32


def test_pt_without_torch_still_reports_empty_file(tmp_path, monkeypatch):
    path = tmp_path / "x.pt"
    path.touch()
    monkeypatch.setitem(sys.modules, "torch", None)
    assert "is empty" in _error(load_latents, path)
