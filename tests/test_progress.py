"""Progress of long fits: verbose estimators report the engine's passes."""

import numpy as np
import pytest
from sklearn import config_context

from sksbi_manifold import DensityFlatteningSampler, NadarayaWatsonInterpolator
from sksbi_manifold._geometry import distances, progress


@pytest.fixture
def no_tqdm(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)


def _data(n=3000):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 8)), rng.normal(size=n)


def test_verbose_reports_each_quarter_of_a_pass(capsys, no_tqdm):
    X, y = _data()
    with config_context(working_memory=1):  # many small row blocks
        NadarayaWatsonInterpolator(bandwidth=1.0, verbose=1).fit(X, y).predict(X)
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(line.startswith("NadarayaWatsonInterpolator.") for line in err)
    done = [line.split(": ")[-1].split(" ")[0] for line in err]
    assert done[-1].split("/")[0] == done[-1].split("/")[1]  # the pass finished
    assert len(err) == 4  # quarters of the one predict pass


def test_quiet_by_default_and_for_short_passes(capsys, no_tqdm):
    X, y = _data()
    with config_context(working_memory=1):
        NadarayaWatsonInterpolator(bandwidth=1.0).fit(X, y).predict(X)
    NadarayaWatsonInterpolator(bandwidth=1.0, verbose=1).fit(X[:50], y[:50]).predict(
        X[:50]
    )  # one block: too short to report
    assert capsys.readouterr().err == ""


def test_quiet_inner_estimators_keep_the_outer_label(capsys, no_tqdm):
    X, _ = _data()
    with config_context(working_memory=1), progress.reporting("Outer.fit"):
        DensityFlatteningSampler(radius=3.0, random_state=0).fit(X)
    err = capsys.readouterr().err
    assert "Outer.fit: " in err
    assert not progress.enabled()  # the switch is reset on exit


def test_switch_is_reset_after_an_error():
    with pytest.raises(ValueError):
        with progress.reporting("Broken.fit"):
            distances.knn_distances(np.zeros((3, 2)), 5)
    assert not progress.enabled()


def test_dimension_estimators_report_when_verbose(capsys, no_tqdm):
    from sksbi_manifold import (
        CorrelationDimension,
        DoublingDimension,
        EigengapDimension,
        GrideDimension,
    )

    X, _ = _data()
    for cls in (
        DoublingDimension,
        CorrelationDimension,
        EigengapDimension,
        GrideDimension,
    ):
        with config_context(working_memory=1):
            cls(random_state=0, verbose=1).fit(X)
        err = capsys.readouterr().err
        assert f"{cls.__name__}.fit: " in err, cls.__name__
        with config_context(working_memory=1):
            cls(random_state=0).fit(X)
        assert capsys.readouterr().err == "", cls.__name__
