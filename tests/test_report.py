"""The ``sksbi-manifold report`` command: bad input and an end-to-end run."""

import json

import numpy as np
import pytest

from sksbi_manifold.report.cli import main


def _latents(tmp_path, n=200, name="X.npy", nan_row=None):
    X = np.random.default_rng(0).standard_normal((n, 8))
    if nan_row is not None:
        X[nan_row] = np.nan
    path = tmp_path / name
    np.save(path, X)
    return path


def test_missing_file_is_one_clear_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.npy"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not found" in err[0] and "Traceback" not in err[0]


def test_nan_rows_are_rejected(tmp_path, capsys):
    path = _latents(tmp_path, nan_row=17)
    assert main(["report", str(path), "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "NaN" in err and "row 17" in err


def test_mismatched_parameter_rows(tmp_path, capsys):
    path = _latents(tmp_path)
    params = tmp_path / "p.csv"
    params.write_text("a,b\n" + "\n".join("1,2" for _ in range(150)))
    code = main(["report", str(path), "--params", str(params), "--out", str(tmp_path)])
    assert code == 2
    assert "150 rows" in capsys.readouterr().err


def test_reference_with_other_dimension(tmp_path, capsys):
    path = _latents(tmp_path)
    ref = tmp_path / "R.npy"
    np.save(ref, np.zeros((100, 5)))
    code = main(["report", str(path), "--reference", str(ref), "--out", str(tmp_path)])
    assert code == 2
    assert "columns" in capsys.readouterr().err


def test_unsupported_suffix(tmp_path, capsys):
    bad = tmp_path / "X.txt"
    bad.write_text("1 2 3")
    assert main(["report", str(bad), "--out", str(tmp_path)]) == 2
    assert "cannot read latents" in capsys.readouterr().err


@pytest.mark.slow
def test_default_report_end_to_end(tmp_path):
    out = tmp_path / "rep"
    code = main(
        [
            "report",
            "--out",
            str(out),
            "--n-default",
            "2500",
            "--max-samples",
            "800",
            "--quiet",
        ]
    )
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["intrinsic_dimension"]) >= {"experimental", "simulated"}
    kl = results["coverage"]["kl_divergence"]
    assert set(kl) == {"experimental||simulated", "simulated||experimental"}
    assert len(results["diffusion_maps"]["eigenvalues"]) == 20
    assert (out / "index.html").stat().st_size > 1000
    assert (out / "spectrum.png").exists() and (out / "tslasso_frequency.png").exists()
