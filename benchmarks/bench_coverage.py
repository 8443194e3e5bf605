"""Coverage analysis at the paper's size (Section 3, Table 1).

    python benchmarks/bench_coverage.py [--n 20000] [--n-jobs 2] [--json out.json]

Draws ``n`` simulated and ``n`` experimental latents in R^256 with
``make_toy_cryo_latents``, runs ``density_coverage`` with the paper's split (15%
held out: 17,000 fitting and 3,000 test rows at n = 20,000; bandwidths by
5-fold cross-validation) and prints the table, the KL divergences, the
wall-clock and CPU time, and the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import time

from sksbi_manifold.datasets import make_toy_cryo_latents
from sksbi_manifold.sampling import density_coverage


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="rows per set")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)

    sim = make_toy_cryo_latents(args.n, random_state=args.seed).data
    exp = make_toy_cryo_latents(
        args.n, domain="experimental", random_state=args.seed + 1
    )
    load_before = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    res = density_coverage(
        sim,
        exp.data,
        names=("sim", "exp"),
        random_state=args.seed,
        n_jobs=args.n_jobs,
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(res)
    kl_se, kl_es = res.kl_divergence
    print(
        f"asymmetry as in the paper (KL(sim||exp) > KL(exp||sim)): {kl_se > kl_es}"
        f"  ratio {kl_se / kl_es:.2f}"
    )
    print(
        f"wall {wall:.1f} s, CPU {cpu:.1f} s, n_jobs={args.n_jobs}, "
        f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    out = {**res.to_dict(), "wall_s": wall, "cpu_s": cpu, "n_jobs": args.n_jobs}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return out


if __name__ == "__main__":
    main()
