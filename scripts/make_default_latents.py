"""Write the report's embedded default data: realistic cryo-EM latents.

    python scripts/make_default_latents.py [--n 10000]

Simulates ``--n`` particles of each domain with the shipped encoder
(``make_cryoem_latents``, seeds 0 and 1) and stores latents (float32), true
parameters and posterior mean and width in
``sksbi_manifold/datasets/data/cryoem_default.npz``, read back by
``load_cryoem_latents``. Rerun after retraining the encoder.
"""

import argparse
import time
from pathlib import Path

import numpy as np

from sksbi_manifold.datasets import make_cryoem_latents

OUT = Path(__file__).resolve().parents[1] / "sksbi_manifold" / "datasets" / "data"
SEEDS = {"simulated": 0, "experimental": 1}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10000)
    args = parser.parse_args()
    arrays = {}
    for domain, seed in SEEDS.items():
        start = time.perf_counter()
        b = make_cryoem_latents(args.n, domain, random_state=seed, n_jobs=2)
        elapsed = time.perf_counter() - start
        print(
            f"{domain}: {args.n} latents in {elapsed:.1f} s ({args.n / elapsed:.0f}/s)"
        )
        for key in ("data", "params", "posterior_mean", "posterior_width"):
            arrays[f"{domain}_{key}"] = b[key]
    arrays["param_names"] = np.array(b.param_names)
    np.savez_compressed(OUT / "cryoem_default.npz", **arrays)
    print(f"wrote {OUT / 'cryoem_default.npz'}")


if __name__ == "__main__":
    main()
