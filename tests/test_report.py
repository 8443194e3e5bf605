"""The ``sksbi-manifold report`` command: bad input and an end-to-end run."""

import json
import os
from types import SimpleNamespace

import numpy as np
import pytest

import sksbi_manifold
from sksbi_manifold.report import workflow
from sksbi_manifold.report.cli import _parser, main


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


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.parametrize(
    "option, value, match",
    [
        ("--n-jobs", "0", "non-zero integer"),
        ("--n-jobs", "two", "must be an integer"),
        ("--max-samples", "0", "positive integer"),
        ("--max-samples", "-5", "positive integer"),
        ("--max-samples", "1.5", "must be an integer"),
        ("--n-default", "0", "positive integer"),
        ("--n-default", "-1", "positive integer"),
        ("--random-state", "-1", "[0, 2**32 - 2]"),
    ],
)
def test_bad_option_values_are_one_line(tmp_path, capsys, option, value, match):
    argv = ["report", str(tmp_path / "nope.npy"), option, value, "--out", str(tmp_path)]
    assert main(argv) == 2
    line = _one_line(capsys)
    assert f"argument {option}:" in line and repr(value) in line and match in line


@pytest.mark.parametrize("value", ["-1", "-2", "1", "8"])
def test_n_jobs_accepts_joblib_values(value):
    args = _parser().parse_args(["report", "--n-jobs", value, "--max-samples", "1"])
    assert args.n_jobs == int(value) and args.max_samples == 1


def test_usage_errors_are_one_line(capsys):
    assert main([]) == 2
    assert "required: command" in _one_line(capsys)
    assert main(["report", "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in _one_line(capsys)


def test_version(capsys):
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out == f"sksbi-manifold {sksbi_manifold.__version__}\n"


@pytest.fixture
def no_load(monkeypatch):
    """Fail the test if the input is read: the output check must come first."""

    def load(config):
        raise AssertionError("the input was read before --out was checked")

    monkeypatch.setattr(workflow, "_load", load)


@pytest.mark.parametrize(
    "below, match",
    [
        ((), "is an existing file"),
        (("sub",), "part of the path is a file"),
        (("a", "b"), "part of the path is a file"),
    ],
)
def test_out_that_is_not_a_directory(tmp_path, capsys, no_load, below, match):
    file = tmp_path / "file"
    file.write_text("x")
    out = file.joinpath(*below)
    path = _latents(tmp_path)
    assert main(["report", str(path), "--out", str(out), "--quiet"]) == 2
    line = _one_line(capsys)
    assert match in line and str(out) in line and "--out" in line


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere"
)
def test_out_read_only_directory(tmp_path, capsys, no_load):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o500)
    try:
        for out in (read_only, read_only / "sub"):
            assert main(["report", "--out", str(out), "--quiet"]) == 2
            assert "Permission denied" in _one_line(capsys)
    finally:
        read_only.chmod(0o700)


def test_out_not_writable(tmp_path, capsys, no_load, monkeypatch):
    def refuse(**kwargs):
        assert kwargs["dir"] == tmp_path / "out"
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(
        workflow, "tempfile", SimpleNamespace(NamedTemporaryFile=refuse)
    )
    assert main(["report", "--out", str(tmp_path / "out"), "--quiet"]) == 2
    line = _one_line(capsys)
    assert "is not writable: Permission denied; choose another --out" in line


def test_out_check_leaves_no_file(tmp_path, monkeypatch):
    def load(config):
        raise workflow.InputError("stop")

    monkeypatch.setattr(workflow, "_load", load)
    out = tmp_path / "new" / "out"
    with pytest.raises(workflow.InputError, match="stop"):
        workflow.run_report(workflow.ReportConfig(out=out))
    assert out.is_dir() and not any(out.iterdir())


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, dict):
        np.savez(path, **content)
    else:
        np.save(path, content)
    return path


_BAD_FILES = [
    ("text.npy", b"1,2\n3,4\n", "not a .npy file (it looks like text"),
    ("empty.npy", b"", "is empty (0 bytes)"),
    ("empty.csv", b"", "is empty (0 bytes)"),
    ("blank.csv", b"\n\n", "is empty"),
    ("header.csv", b"a,b\n", "no data rows"),
    ("corrupt.npz", b"PK\x03\x04" + bytes(64), "not a valid .npz archive"),
    ("text.npz", b"1,2\n", "not a .npz archive"),
    ("garbage.pt", b"not a tensor", "not a file written by torch.save"),
    ("one.npy", np.zeros(60), "(n_samples, n_features), got 1-D"),
    ("three.npy", np.zeros((60, 2, 2)), "(n_samples, n_features), got 3-D"),
    ("several.npz", {"a": np.zeros((60, 2)), "b": np.ones((60, 2))}, "--key"),
]


@pytest.mark.parametrize(
    "name, content, match", _BAD_FILES, ids=[c[0] for c in _BAD_FILES]
)
def test_bad_latent_files_are_one_line(tmp_path, capsys, name, content, match):
    if name.endswith(".pt"):
        pytest.importorskip("torch")
    path = _write(tmp_path / name, content)
    for argv in (
        [str(path)],
        [str(_latents(tmp_path, n=60, name="ok.npy")), "--reference", str(path)],
    ):
        assert main(["report", *argv, "--out", str(tmp_path / "out"), "--quiet"]) == 2
        line = _one_line(capsys)
        assert match in line and "allow_pickle" not in line
        assert "weights_only" not in line and "Error:" not in line
    if name == "several.npz":
        assert "['a', 'b']" in line
        assert main(["report", str(path), "--key", "c", "--out", str(tmp_path)]) == 2
        assert "key 'c' not found" in _one_line(capsys)


@pytest.fixture
def captured(monkeypatch):
    """Replace the stages by one that records the state they would see."""
    seen = {}

    def stage(state):
        seen["state"] = state

    monkeypatch.setattr(workflow, "STAGES", [("capture", stage)])
    return seen


def test_key_and_pandas_csv_reach_the_stages(tmp_path, captured):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 60, 3)).astype(np.float32)
    latents = tmp_path / "several.npz"
    np.savez(latents, a=a, b=b)
    reference = tmp_path / "reference.npz"
    np.savez(reference, b=2 * b, c=a)
    params = tmp_path / "params.csv"
    pd.DataFrame(rng.standard_normal((60, 2)), columns=["theta", "snr"]).to_csv(params)
    argv = ["report", str(latents), "--key", "b", "--params", str(params)]
    argv += ["--reference", str(reference), "--out", str(tmp_path / "out"), "--quiet"]
    assert main(argv) == 0
    state = captured["state"]
    np.testing.assert_array_equal(state.target.X, b)
    np.testing.assert_array_equal(state.reference.X, 2 * b)
    assert state.target.names == ["theta", "snr"]
    assert state.target.params.shape == (60, 2)
    assert (tmp_path / "out" / "results.json").exists()


def test_pandas_csv_latents_have_no_header_row(tmp_path, captured):
    pd = pytest.importorskip("pandas")
    path = tmp_path / "a.csv"
    X = np.random.default_rng(2).standard_normal((50, 4))
    pd.DataFrame(X).to_csv(path, index=False)
    assert main(["report", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    np.testing.assert_allclose(captured["state"].target.X, X, rtol=1e-15)


def test_npy_latents_stay_memory_mapped(tmp_path, captured):
    path = tmp_path / "X.npy"
    X = np.random.default_rng(3).standard_normal((80, 5)).astype(np.float32)
    np.save(path, X)
    assert main(["report", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    got = captured["state"].target.X
    assert got.dtype == np.float32 and isinstance(got.base, np.memmap)
    assert not got.flags.writeable  # not copied on the way to the stages
    np.testing.assert_array_equal(got, X)


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


# --------------------------------------------------------------------------- #
# Sizes: every stage runs on its configured subsample, every row comes back
# --------------------------------------------------------------------------- #
_SIZE_FLAGS = [
    "--n-subsample",
    "--n-coverage-fit",
    "--n-coverage-test",
    "--n-reference",
    "--n-dimension",
    "--n-relax",
    "--n-plot",
    "--n-tslasso",
]


@pytest.mark.parametrize("option", _SIZE_FLAGS)
@pytest.mark.parametrize(
    "value, match",
    [("0", "positive integer"), ("-3", "positive integer"), ("1.5", "an integer")],
)
def test_bad_size_flags_are_one_line(tmp_path, capsys, option, value, match):
    argv = ["report", str(tmp_path / "nope.npy"), option, value, "--out", str(tmp_path)]
    assert main(argv) == 2
    line = _one_line(capsys)
    assert f"argument {option}:" in line and repr(value) in line and match in line


@pytest.mark.parametrize("value", ["0", "-0.5", "1.5", "half", "nan"])
def test_bad_flatten_fraction_is_one_line(tmp_path, capsys, value):
    argv = ["report", str(tmp_path / "nope.npy"), "--flatten-fraction", value]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    line = _one_line(capsys)
    assert "argument --flatten-fraction:" in line and "(0, 1]" in line


def test_size_flags_reach_the_config(tmp_path, captured):
    path = _latents(tmp_path, n=60)
    argv = ["report", str(path), "--out", str(tmp_path / "out"), "--quiet"]
    values = {flag: str(101 + i) for i, flag in enumerate(_SIZE_FLAGS)}
    for flag, value in values.items():
        argv += [flag, value]
    argv += ["--max-samples", "77", "--flatten-fraction", "0.25"]
    assert main(argv) == 0
    config = captured["state"].config
    for flag, value in values.items():
        assert getattr(config, flag[2:].replace("-", "_")) == int(value)
    assert config.max_samples == 77 and config.flatten_fraction == 0.25
    defaults = workflow.ReportConfig()  # the paper's sizes
    assert (defaults.n_subsample, defaults.max_samples) == (50000, 20000)
    assert (defaults.n_coverage_fit, defaults.n_coverage_test) == (17000, 3000)
    assert defaults.n_reference == 20000 and defaults.n_plot == 50000
    assert defaults.n_dimension == 20000


_SMALL = {
    "n_dimension": 250,
    "n_coverage_fit": 120,
    "n_coverage_test": 40,
    "n_subsample": 300,
    "max_samples": 120,
    "n_relax": 80,
    "n_reference": 150,
    "n_plot": 100,
    "n_tslasso": 70,
}


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    """A full report on 400 + 360 toy rows with every size below the data."""
    from sksbi_manifold.datasets import make_toy_cryo_latents

    tmp = tmp_path_factory.mktemp("sizes")
    exp = make_toy_cryo_latents(400, domain="experimental", random_state=1)
    sim = make_toy_cryo_latents(360, random_state=2)
    np.save(tmp / "exp.npy", exp.data[:, :16])
    np.save(tmp / "sim.npy", sim.data[:, :16])
    np.savez(tmp / "sim.npz", theta=sim.params[:, 0], log_snr=sim.params[:, 1])
    config = workflow.ReportConfig(
        latents=tmp / "exp.npy",
        reference=tmp / "sim.npy",
        reference_params=tmp / "sim.npz",
        out=tmp / "out",
        **_SMALL,
    )
    workflow.run_report(config)
    out = tmp / "out"
    return json.loads((out / "results.json").read_text()), out


def test_every_size_is_honoured(small_report):
    results, out = small_report
    sizes = results["sizes"]
    for name, value in _SMALL.items():
        assert sizes[name]["configured"] == value
    assert sizes["n_dimension"]["used"] == {"target": 250, "reference": 250}
    cov = results["coverage"]
    for name in ("target", "reference"):
        assert cov["n_test"][name] == 40
        assert cov["n_train"][name] + cov["n_test"][name] == 160
    assert results["flattening"]["n_input"] == 300
    assert results["flattening"]["n_sample"] == sizes["max_samples"]["used"] == 120
    assert sizes["embedded"]["used"] == 114  # less the 5 % weakest degrees
    assert sizes["n_relax"]["used"] == 80 and sizes["n_reference"]["used"] == 150
    assert sizes["n_plot"]["used"] == 100 and sizes["n_tslasso"]["used"] == 70
    assert "100 random of 400 rows" in (out / "index.html").read_text()
    assert "<h2>Sizes</h2>" in (out / "index.html").read_text()


def test_tslasso_runs_per_snr_quantile(small_report):
    results, out = small_report
    ts = results["tslasso"]
    assert ts["runs"] == "snr_quantile" and ts["names"] == ["theta", "log_snr"]
    q = ts["snr_quantiles"]
    assert q[0] == 0 and set(q) <= set(range(0, 100, 5)) and q == sorted(q)
    sizes = ts["pool_sizes"]
    assert sizes[0] == 70 and sizes == sorted(sizes, reverse=True)  # nested pools
    assert ts["run_sizes"] == [min(300, n) for n in sizes]
    assert len(ts["run_selections"]) == len(q)
    assert "one per SNR top-q percentile" in (out / "index.html").read_text()
    # carried parameters: the same runs on the labelled set, its own parameters
    ref = results["tslasso_reference"]
    assert ref["set"] != ts["set"] and ref["names"] == ["theta", "log_snr"]
    assert ref["runs"] == "snr_quantile" and ref["pool_sizes"][0] == 70
    assert (out / "tslasso_reference_paths.png").exists()
    assert (out / "tslasso_reference_frequency.png").exists()


def test_snr_pools_fall_back_to_random_runs():
    rng = np.random.default_rng(0)
    snr = rng.normal(size=200)
    ds = workflow._Dataset("t", np.zeros((200, 2)), np.c_[snr, -snr], ["theta", "x"])
    assert workflow._snr_pools(ds, np.arange(200), 5) == (None, None)
    ds.names = ["theta", "log_snr"]
    q, pools = workflow._snr_pools(ds, np.arange(0, 200, 2), 5)
    np.testing.assert_array_equal(q, np.arange(0, 100, 5))
    for qi, pool in zip(q, pools):
        rows = np.arange(0, 200, 2)[pool]
        assert np.all(-snr[rows] >= np.percentile(-snr, qi))
    ds.params[:, 1] = 1.0  # a constant log_snr: random runs
    assert workflow._snr_pools(ds, np.arange(200), 5) == (None, None)


def test_every_row_comes_back_out_of_sample(small_report):
    results, out = small_report
    rows = np.load(out / "per_row.npz")
    assert results["out_of_sample"]["n_rows"] == 400
    assert rows["local_dimension"].shape == (400,)
    for name in ("embedding_before", "embedding_after"):
        assert rows[name].shape == (400, 3) and np.isfinite(rows[name]).all()
    assert rows["params"].shape == (400, 2) and np.isfinite(rows["params"]).all()
    assert list(rows["param_names"]) == ["theta", "log_snr"]
    flat, emb, relaxed = rows["flattened"], rows["embedded"], rows["relaxed"]
    assert (flat.size, emb.size, relaxed.size) == (120, 114, 80)
    assert np.isin(relaxed, emb).all() and np.isin(emb, flat).all()


def test_sizes_above_the_data_use_all_rows(tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    for name in ("X.npy", "R.npy"):  # two draws from one noisy circle
        t = rng.uniform(0, 2 * np.pi, 300)
        noise = 0.05 * rng.standard_normal((300, 2))
        np.save(tmp_path / name, np.c_[np.cos(t), np.sin(t), noise])
    monkeypatch.setattr(
        workflow,
        "STAGES",
        [s for s in workflow.STAGES[:3]],  # to flattening
    )
    config = workflow.ReportConfig(
        latents=tmp_path / "X.npy", reference=tmp_path / "R.npy", out=tmp_path / "o"
    )
    workflow.run_report(config)  # the paper's sizes, far above 300 rows
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    cov = results["coverage"]
    assert cov["n_train"]["target"] + cov["n_test"]["target"] == 300
    assert cov["n_test"]["target"] == round(300 * 3000 / 20000)
    flat = results["flattening"]
    assert flat["n_input"] == 300
    # at most half of the inliers, as the paper: a flattened sample
    assert flat["n_sample"] == round(0.5 * (300 - flat["n_outliers"]))


def test_report_opens_with_findings_run_record_and_warnings(small_report):
    results, out = small_report
    page = (out / "index.html").read_text()
    assert page.index("<h2>Findings</h2>") < page.index("<h2>Sizes</h2>")
    assert "Warnings raised" in page and "Run: version, inputs, parameters" in page
    from sksbi_manifold import __version__

    assert results["run"]["version"] == __version__
    assert results["run"]["inputs"]["latents"].endswith("exp.npy")
    assert results["run"]["parameters"]["n_relax"] == 80
    assert all({"category", "message", "count"} <= set(w) for w in results["warnings"])


def _coverage_results(kl_ts, kl_st, se=1.0):
    return {
        "coverage": {
            "names": ["experimental", "simulated"],
            "kl_divergence": {
                "experimental||simulated": kl_ts,
                "simulated||experimental": kl_st,
            },
            "kl_divergence_se": {
                "experimental||simulated": se,
                "simulated||experimental": se,
            },
        }
    }


def test_findings_follow_the_numbers():
    from sksbi_manifold.report import findings as F

    assert F.coverage(_coverage_results(900.0, 300.0)).startswith("No: the simulated")
    assert F.coverage(_coverage_results(300.0, 900.0)).startswith("Yes: the simulated")
    assert F.coverage(_coverage_results(10.0, 11.0, se=2.0)).startswith("Undecided")
    ts = {"names": ["theta", "log_snr", "q0"], "selection_frequency": [0.9, 0.5, 0.1]}
    text = F.parameters({"tslasso": ts})
    assert "theta (90%), log_snr (50%)" in text and "sometimes selected: q0" in text
    ts["snr_quantiles"] = list(range(0, 100, 5))
    text = F.parameters({"tslasso": ts})
    assert "20 runs, one per SNR top-q percentile (q = 0, 5, ..., 95)" in text
    assert "theta (90%), log_snr (50%)" in text
    ts["set"] = "experimental"
    ref = {"set": "simulated", "names": ["theta", "log_snr", "q0"]}
    ref["selection_frequency"] = [0.4, 1.0, 0.7]
    both = {"tslasso": ts, "tslasso_reference": ref}
    text = F.parameters(both | {"parameter_transfer": {"source": "simulated"}})
    assert "experimental, parameters carried from the simulated set: theta" in text
    assert "simulated, its own parameters: log_snr (100%), q0 (70%)" in text
    assert "Selected on the simulated set but not on the experimental one: q0." in text
    dims = {
        "input": {"experimental": {"n_features": 256}, "simulated": {}},
        "intrinsic_dimension": {
            "experimental": {"doubling": 2.3, "correlation": 2.8},
            "simulated": {"doubling": 3.2, "correlation": 2.0},
            "eigengap": 5.2,
        },
    }
    text = F.dimension(dims)
    assert "R^256" in text and "experimental: d between 2.3 and 5.2" in text
    assert "simulated: d between 2.0 and 3.2" in text
    assert F.findings({}) == [] and F.coverage({"coverage": "skipped"}) is None


def test_beyond_the_paper_section(small_report):
    results, out = small_report
    beyond = results["beyond_the_paper"]
    sm = beyond["smoothness"]
    assert sm["names"] == ["theta", "log_snr"] and sm["carried"]
    assert all(0 < p <= 1 for p in sm["p_value"])
    for chart in ("ies", "relaxed"):
        q = beyond["distortion"][chart]["log_condition"]
        assert q["q10"] <= q["median"] <= q["q90"]
    assert beyond["clusters"]["n_clusters"] >= 1
    m = beyond["misspecification"]
    assert m["n_target"] == 250 and 0 <= m["target_flagged"] <= 1
    page = (out / "index.html").read_text()
    assert "Beyond the paper: smoothness, distortion, clusters" in page
    assert "carried, so compare energies" in page
    assert any(f.startswith("Beyond the paper:") for f in _findings(results))


def _findings(results):
    from sksbi_manifold.report.findings import findings

    return findings(results)


def test_beyond_finding_follows_the_numbers():
    from sksbi_manifold.report import findings as F

    q = {"median": 0.0, "q10": 0.0, "q90": 0.0}
    results = {
        "input": {"experimental": {}, "simulated": {}},
        "beyond_the_paper": {
            "smoothness": {
                "names": ["theta", "log_snr", "q0"],
                "energy": [2.0, 1.0, 5.0],
                "shuffled": [10.0, 11.0, 12.0],
            },
            "distortion": {
                "ies": {"log_condition": {**q, "median": 2.4}},
                "relaxed": {"log_condition": {**q, "median": 0.3}},
            },
            "clusters": {
                "n_clusters": 2,
                "chosen_by": "spectral gap",
                "n_density_clusters": 1,
            },
            "misspecification": {
                "target_flagged": 0.98,
                "reference_flagged": 0.05,
                "alpha": 0.05,
            },
        },
    }
    text = F.beyond(results)
    assert "log_snr (energy 1), theta (energy 2), against 11 for shuffled" in text
    assert "from 2.40 to 0.30" in text
    assert "2 clusters (by spectral gap) and 1 dense region;" in text
    assert "98% of experimental rows look unlike simulated ones" in text
    assert F.beyond({}) is None


def test_dimension_finding_shows_lower_bounds_outside_the_range():
    from sksbi_manifold.report import findings as F

    dims = {
        "input": {"experimental": {"n_features": 256}},
        "intrinsic_dimension": {
            "experimental": {
                "doubling": 2.3,
                "correlation": 2.8,
                "gride": 15.9,
                "lower_bounds": ["gride"],
            },
            "eigengap": 6.1,
        },
    }
    text = F.dimension(dims)
    assert "d between 2.3 and 6.1" in text and "gride >= 15.90" in text


def test_dimension_finding_spans_the_intervals_of_firm_estimates():
    from sksbi_manifold.report import findings as F

    dims = {
        "input": {"experimental": {"n_features": 256}},
        "intrinsic_dimension": {
            "experimental": {
                "doubling": 2.3,
                "correlation": 2.8,
                "gride": 15.9,
                "intervals": {
                    "doubling": [2.04, 2.41],
                    "correlation": [2.7, 2.93],
                    "gride": [14.0, 17.0],
                },
                "lower_bounds": ["gride"],
            },
            "eigengap": 6.1,
            "eigengap_interval": [5.9, 6.26],
        },
    }
    text = F.dimension(dims)
    # the lower bound's interval stays out of the range; the others widen it
    assert "d between 2.0 and 6.3" in text
    assert "doubling 2.30 [2.04, 2.41]" in text
    assert "gride >= 15.90 [14.00, 17.00]" in text
    assert "eigengap 6.10 [5.90, 6.26]" in text
