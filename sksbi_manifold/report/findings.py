"""The report's opening answers, read off the measured numbers.

Each function takes the ``results`` dict of a finished run and returns one
sentence (or None when its stage did not run); the rules are stated in the
sentences themselves, so a reader can check them against the tables below.
"""

from __future__ import annotations

import math

# TSLasso: a parameter "parametrizes the manifold" when selected in at least
# this share of the repeats (the paper reports the frequencies over 20 runs).
SELECTED_SHARE = 0.5
# Coverage: a KL difference counts when it exceeds this many standard errors.
N_SE = 2.0


def with_interval(r: dict, key: str) -> str:
    """``r[key]`` with its bootstrap interval; lower bounds marked ``>=``."""
    bound = ">= " if key in r.get("lower_bounds", []) else ""
    lo, hi = r.get("intervals", {}).get(key, (math.nan, math.nan))
    ci = f" [{lo:.2f}, {hi:.2f}]" if math.isfinite(lo) and math.isfinite(hi) else ""
    return f"{bound}{r[key]:.2f}{ci}"


def dimension(results: dict) -> str | None:
    """Are the data low dimensional, and which d (the range over estimators)?

    The range spans the 95 % intervals of the estimates that are not lower
    bounds (each estimate is shown with its interval).
    """
    dims = results.get("intrinsic_dimension")
    if not dims:
        return None
    target = next(iter(results["input"]))
    n_features = results["input"][target]["n_features"]
    parts = []
    for name, r in dims.items():
        if not isinstance(r, dict):  # "eigengap": the embedded target rows
            continue
        r = {**r, "intervals": dict(r.get("intervals", {}))}
        keys = [k for k in ("doubling", "correlation", "gride") if k in r]
        if name == target and "eigengap" in dims:
            r["eigengap"] = dims["eigengap"]
            if "eigengap_interval" in dims:
                r["intervals"]["eigengap"] = dims["eigengap_interval"]
            keys.append("eigengap")
        # Estimates flagged as lower bounds are shown as such, not in the range.
        firm = [k for k in keys if k not in r.get("lower_bounds", [])] or keys
        span = [r[k] for k in firm] + [
            v for k in firm for v in r["intervals"].get(k, ()) if math.isfinite(v)
        ]
        low, high = min(span), max(span)
        each = ", ".join(f"{k} {with_interval(r, k)}" for k in keys)
        parts.append(f"{name}: d between {low:.1f} and {high:.1f} ({each})")
    return (
        f"Low dimensional: in R^{n_features}, "
        + "; ".join(parts)
        + ". Brackets: 95 % bootstrap intervals (sampling variability and the "
        "scale choice, not bias). Where the estimators disagree, trust the "
        "eigengap: doubling and correlation "
        "count volumes (ambient noise raises them, boundaries and curvature "
        "lower them), GRIDE reads neighbour-distance ratios (the most accurate "
        "on clean benchmark manifolds, raised by ambient noise), the eigengap "
        "counts directions of the local covariance and stays within 0.2 of the "
        "truth on noisy, bounded test manifolds (see the estimators' Notes)."
    )


def coverage(results: dict) -> str | None:
    """Does the reference (simulated) set cover the target (experimental)?"""
    cov = results.get("coverage")
    if not isinstance(cov, dict):
        return None
    target, reference = cov["names"]
    kl, se = cov["kl_divergence"], cov["kl_divergence_se"]
    forward, backward = f"{target}||{reference}", f"{reference}||{target}"
    gap = kl[forward] - kl[backward]
    noise = N_SE * (se[forward] ** 2 + se[backward] ** 2) ** 0.5
    numbers = (
        f"KL({forward}) = {kl[forward]:.3g} +- {se[forward]:.2g}, "
        f"KL({backward}) = {kl[backward]:.3g} +- {se[backward]:.2g}"
    )
    if gap > noise:
        verdict = (
            f"No: the {reference} set does not cover the {target} set. "
            f"{target.capitalize()} rows are less likely under the {reference} "
            "density than the other way round"
        )
    elif -gap > noise:
        verdict = (
            f"Yes: the {reference} set covers the {target} set (and reaches "
            f"beyond it): {reference} rows are the less likely ones under the "
            f"other density"
        )
    else:
        verdict = (
            f"Undecided: the two KL divergences agree within {N_SE:g} standard errors"
        )
    return f"{verdict} ({numbers}; KDE on held-out rows, Table 1 below)."


def parameters(results: dict) -> str | None:
    """Which physical parameters parametrize the manifold (TSLasso)?"""
    ts = results.get("tslasso")
    if not isinstance(ts, dict):
        return None
    q = ts.get("snr_quantiles")
    runs = (
        f"{len(q)} runs, one per SNR top-q percentile (q = {q[0]}, {q[1]}, ..., "
        f"{q[-1]}); selected in at least {SELECTED_SHARE:.0%} of the runs"
        if q and len(q) > 1
        else f"selected in at least {SELECTED_SHARE:.0%} of the repeats"
    )
    ref = results.get("tslasso_reference")
    if not isinstance(ref, dict):
        return f"Parametrizing the manifold (TSLasso, {runs}): {_selection(ts)}."
    source = results["parameter_transfer"]["source"]
    text = (
        f"Parametrizing the manifold (TSLasso, {runs}): {ts['set']}, parameters "
        f"carried from the {source} set: {_selection(ts)}; {ref['set']}, its own "
        f"parameters: {_selection(ref)}."
    )
    lost = [n for n in _chosen(ref) if n not in _chosen(ts)]
    if lost:
        text += (
            f" Selected on the {ref['set']} set but not on the {ts['set']} one: "
            f"{', '.join(lost)}. The {ref['set']} geometry carries them; their "
            f"values carried to the {ts['set']} rows (Nadaraya-Watson) do not "
            "follow its geometry, e.g. where the sets do not overlap."
        )
    return text


def _chosen(ts: dict) -> list[str]:
    freq = dict(zip(ts["names"], ts["selection_frequency"]))
    return [n for n, f in freq.items() if f >= SELECTED_SHARE]


def _selection(ts: dict) -> str:
    """``"a (100%), b (60%); sometimes selected: c (10%)"``, most often first."""
    pairs = sorted(zip(ts["names"], ts["selection_frequency"]), key=lambda p: -p[1])
    chosen = [f"{n} ({f:.0%})" for n, f in pairs if f >= SELECTED_SHARE]
    rest = [f"{n} ({f:.0%})" for n, f in pairs if 0 < f < SELECTED_SHARE]
    head = ", ".join(chosen) if chosen else "none"
    return head + (f"; sometimes selected: {', '.join(rest)}" if rest else "")


def beyond(results: dict) -> str | None:
    """The Discussion's future work: smoothness, distortion, clusters, misfit."""
    out = results.get("beyond_the_paper")
    if not out:
        return None
    parts = []
    sm = out.get("smoothness")
    if sm:
        order = sorted(zip(sm["energy"], sm["names"], strict=True))[:2]
        null = sorted(sm["shuffled"])[len(sm["shuffled"]) // 2]
        parts.append(
            "smoothest over the manifold: "
            + ", ".join(f"{n} (energy {e:.3g})" for e, n in order)
            + f", against {null:.3g} for shuffled values"
        )
    d = out["distortion"]
    parts.append(
        "relaxation takes the median log condition of the chart from "
        f"{d['ies']['log_condition']['median']:.2f} to "
        f"{d['relaxed']['log_condition']['median']:.2f} (0 = conformal)"
    )
    c = out["clusters"]
    parts.append(
        f"{c['n_clusters']} cluster{'s' * (c['n_clusters'] != 1)} "
        f"(by {c['chosen_by']}) and {c['n_density_clusters']} dense region"
        f"{'s' * (c['n_density_clusters'] != 1)}"
    )
    m = out.get("misspecification")
    if m:
        target, reference = list(results["input"])[:2]
        parts.append(
            f"{m['target_flagged']:.0%} of {target} rows look unlike {reference} "
            f"ones at p < {m['alpha']:g} (held-out {reference} rows: "
            f"{m['reference_flagged']:.0%})"
        )
    return "Beyond the paper: " + "; ".join(parts) + "."


def findings(results: dict) -> list[str]:
    """The answers that the run's stages can give, in the paper's order."""
    answers = (dimension, coverage, parameters, beyond)
    return [s for s in (answer(results) for answer in answers) if s]
