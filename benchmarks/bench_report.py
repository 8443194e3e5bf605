"""The report at the paper's sizes: time per stage and peak memory against n.

    python benchmarks/bench_report.py [--sizes 50000 100000 271558]
        [--reference-size 100000] [--n-jobs 2] [--out bench_report.md]
        [any report flag, e.g. --n-relax 5000]

For each size ``n`` it writes float32 toy latents (``make_toy_cryo_latents``:
``n`` experimental rows and ``min(reference_size, n)`` simulated rows with
their parameters, R^256) to .npy/.npz files in a temporary directory, runs
``sksbi-manifold report`` on them in a subprocess, as a user would, and reads
the stage timings from its ``results.json``. Peak RSS is the report process's
own (``os.wait4``; ``resource.getrusage(RUSAGE_CHILDREN)`` would give the
largest over all runs so far). Prints a table (stages as rows, sizes as
columns) with the total wall time and the peak RSS, and writes it as Markdown
to ``--out``. Beyond the report's subsamples every stage should grow at most
linearly in ``n``. The machine may be shared: the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sksbi_manifold.datasets import make_toy_cryo_latents

_CHUNK = 50_000  # rows generated per call (bounds this process's memory)


def _latents(n: int, domain: str, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """``n`` toy rows, generated in chunks with consecutive seeds."""
    parts = [
        make_toy_cryo_latents(min(_CHUNK, n - start), domain=domain, random_state=s)
        for s, start in enumerate(range(0, n, _CHUNK), start=seed)
    ]
    X = np.concatenate([p.data for p in parts]).astype(np.float32, copy=False)
    return X, np.concatenate([p.params for p in parts]), parts[0].param_names


def _write_inputs(folder: Path, n: int, n_ref: int, seed: int) -> list[str]:
    """Write LATENTS, --reference and --reference-params; return the CLI args."""
    X, _, _ = _latents(n, "experimental", seed)
    np.save(folder / "exp.npy", X)
    del X
    R, params, names = _latents(n_ref, "simulated", seed + 1000)
    np.save(folder / "sim.npy", R)
    np.savez(folder / "sim_params.npz", **dict(zip(names, params.T)))
    return [
        str(folder / "exp.npy"),
        "--reference",
        str(folder / "sim.npy"),
        "--reference-params",
        str(folder / "sim_params.npz"),
    ]


def _run(args: list[str], out: Path, n_jobs: int, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "sksbi_manifold", "report", *args]
    cmd += ["--out", str(out), "--n-jobs", str(n_jobs), *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"report failed (exit {proc.returncode}): {' '.join(cmd)}")
    results = json.loads((out / "results.json").read_text())
    return {
        "timings": results["timings_s"],
        "sizes": results.get("sizes", {}),
        "wall": wall,
        "peak_rss_gb": usage.ru_maxrss / 2**20,  # KiB on Linux
    }


def _table(sizes: list[int], runs: list[dict], n_refs: list[int]) -> str:
    stages = list(dict.fromkeys(k for r in runs for k in r["timings"]))
    stages.remove("total")
    head = ["stage (s)"] + [f"n = {n:,} (ref {m:,})" for n, m in zip(sizes, n_refs)]
    rows = [
        [s] + [f"{r['timings'].get(s, float('nan')):.1f}" for r in runs] for s in stages
    ]
    rows.append(["total (stages)"] + [f"{r['timings']['total']:.1f}" for r in runs])
    rows.append(["wall, process"] + [f"{r['wall']:.1f}" for r in runs])
    rows.append(["peak RSS (GB)"] + [f"{r['peak_rss_gb']:.2f}" for r in runs])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Unknown options are passed to sksbi-manifold report.",
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[50000, 100000, 271558])
    parser.add_argument(
        "--reference-size",
        type=int,
        default=100000,
        help="simulated reference rows, capped at each size (default: 100000)",
    )
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench_report.md", help="Markdown table")
    args, extra = parser.parse_known_args(argv)

    runs, n_refs = [], []
    load = [os.getloadavg()[0]]
    for n in args.sizes:
        n_ref = min(args.reference_size, n)
        with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp:
            folder = Path(tmp)
            print(f"n = {n}, reference {n_ref}: writing the latents", flush=True)
            inputs = _write_inputs(folder, n, n_ref, args.seed)
            runs.append(_run(inputs, folder / "report", args.n_jobs, extra))
        n_refs.append(n_ref)
        load.append(os.getloadavg()[0])
    table = _table(args.sizes, runs, n_refs)
    loads = " -> ".join(f"{x:.1f}" for x in load)
    text = (
        f"# sksbi-manifold report: stage times\n\n{table}\n\n"
        f"n_jobs={args.n_jobs}, load average {loads}, "
        f"report flags: {' '.join(extra) or '(defaults)'}\n\n"
        "Sizes used (last run): "
        + json.dumps({k: v["used"] for k, v in runs[-1]["sizes"].items()})
        + "\n"
    )
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    main()
