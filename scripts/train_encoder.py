"""Train the shipped cryo-EM summary network by neural posterior estimation.

    python scripts/train_encoder.py [--images 819200] [--seed 0] [--out DIR]

CPU only, fixed seed. Each round simulates fresh particles of the 20 AdK
conformations of the simulated domain (``simulate_particles`` on
``load_adk("dims", 20, rmsd_range=SIMULATED_RMSD)``), then takes one pass of
AdamW over them, maximising log q(theta | S(I)). The first quarter of the
images use the upper half of the log-SNR prior (an easier start, as the
encoder first has to find the particle); the rest the full prior. A held-out
set (fixed seed) is scored after every few rounds: Spearman correlation of the
posterior mean with the true theta and the mean posterior width, in bins of
log10 SNR. Writes ``sksbi_manifold/datasets/data/cryoem_encoder.pt`` (weights,
theta scaling, training record) and ``cryoem_encoder.json`` (the record).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from sksbi_manifold.datasets import load_adk, simulate_particles
from sksbi_manifold.datasets._cryoem import SIMULATED_RMSD
from sksbi_manifold.datasets._encoder import (
    build_encoder,
    mixture_log_prob,
    mixture_moments,
    standardize_images,
)

OUT = Path(__file__).resolve().parents[1] / "sksbi_manifold" / "datasets" / "data"
ROUND = 8192  # images simulated per round
BATCH = 128
SNR_BINS = [-3.0, -2.5, -2.0, -1.5, -1.0]  # log10 SNR


def simulate(coords, theta, n, seed, easy=None, n_jobs=2):
    """Images, theta and log10 SNR; ``easy``: lowest log10 SNR of the easy prior."""
    prior = {"log_snr": (easy * np.log(10), np.log(1e-1))} if easy is not None else {}
    sim = simulate_particles(
        coords, n, theta=theta, random_state=seed, n_jobs=n_jobs, **prior
    )
    x = torch.from_numpy(standardize_images(sim.images)[:, None])
    return x, sim.params[:, 0], sim.params[:, 1] / np.log(10)


def evaluate(model, x, theta, log10_snr, mu, scale) -> dict:
    model.eval()
    with torch.inference_mode():
        means, widths = [], []
        for start in range(0, x.shape[0], 1024):
            _, logits, m, log_sd = model(x[start : start + 1024])
            mean, sd = mixture_moments(logits, m, log_sd)
            means.append(mean.numpy() * scale + mu)
            widths.append(sd.numpy() * scale)
    model.train()
    mean, width = np.concatenate(means), np.concatenate(widths)
    bins = []
    for lo, hi in itertools.pairwise(SNR_BINS):
        rows = (log10_snr >= lo) & (log10_snr < hi)
        bins.append(
            {
                "log10_snr": [lo, hi],
                "spearman": float(spearmanr(mean[rows], theta[rows]).statistic),
                "mean_width": float(width[rows].mean()),
            }
        )
    high = log10_snr > -1.5
    return {
        "spearman_log10snr_gt_-1.5": float(
            spearmanr(mean[high], theta[high]).statistic
        ),
        "bins": bins,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=819_200)  # 100 rounds
    parser.add_argument("--width", type=int, default=24)
    parser.add_argument("--blocks", type=int, default=1)
    parser.add_argument("--stem", type=int, default=0, help="blocks at 32 x 32")
    parser.add_argument(
        "--align", action="store_true", help="moment-align particles first"
    )
    parser.add_argument("--head", choices=["pool", "flatten"], default="pool")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--easy-fraction", type=float, default=0.25)
    parser.add_argument("--easy-log10-snr", type=float, default=-2.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-every", type=int, default=10, help="rounds")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the weights")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    seeds = np.random.SeedSequence(args.seed)  # one simulator seed per round
    adk = load_adk("dims", 20, rmsd_range=SIMULATED_RMSD)
    mu, scale = float(adk.rmsd.mean()), float(adk.rmsd.std())
    x_val, th_val, snr_val = simulate(
        adk.coords, adk.rmsd, 6000, seed=12345, n_jobs=args.threads
    )

    model = build_encoder(args.width, args.blocks, args.head, args.stem, args.align)
    n_rounds = -(-args.images // ROUND)
    steps = n_rounds * (ROUND // args.batch)
    opt = torch.optim.AdamW(
        model.parameters(), lr=args.lr, weight_decay=args.weight_decay
    )
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=steps, pct_start=0.05
    )
    start, history = time.perf_counter(), []
    for r, seed in enumerate(seeds.generate_state(n_rounds)):
        easy = args.easy_log10_snr if r < n_rounds * args.easy_fraction else None
        x, theta, _ = simulate(
            adk.coords, adk.rmsd, ROUND, seed, easy=easy, n_jobs=args.threads
        )
        target = torch.from_numpy(((theta - mu) / scale).astype(np.float32))
        order = torch.randperm(ROUND)
        losses = []
        for b in range(0, ROUND - args.batch + 1, args.batch):
            idx = order[b : b + args.batch]
            _, logits, m, log_sd = model(x[idx])
            loss = -mixture_log_prob(logits, m, log_sd, target[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        if r % args.eval_every == args.eval_every - 1 or r == n_rounds - 1:
            score = evaluate(model, x_val, th_val, snr_val, mu, scale)
            elapsed = time.perf_counter() - start
            history.append(
                {
                    "images": (r + 1) * ROUND,
                    "seconds": round(elapsed, 1),
                    "loss": float(np.mean(losses)),
                    **score,
                }
            )
            print(
                f"round {r + 1}/{n_rounds} {elapsed / 60:.1f} min loss "
                f"{np.mean(losses):.3f} spearman(>-1.5) "
                f"{score['spearman_log10snr_gt_-1.5']:.3f} bins "
                + " ".join(
                    f"{b['spearman']:.2f}/{b['mean_width']:.2f}" for b in score["bins"]
                ),
                flush=True,
            )
    record = {
        "images": n_rounds * ROUND,
        "seconds": round(time.perf_counter() - start, 1),
        "width": args.width,
        "blocks": args.blocks,
        "head": args.head,
        "stem": args.stem,
        "align": args.align,
        "seed": args.seed,
        "lr": args.lr,
        "batch": args.batch,
        "weight_decay": args.weight_decay,
        "easy_fraction": args.easy_fraction,
        "easy_log10_snr": args.easy_log10_snr,
        "torch": torch.__version__,
        "final": history[-1],
        "history": history,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "model": model.state_dict(),
            "width": args.width,
            "blocks": args.blocks,
            "head": args.head,
            "stem": args.stem,
            "align": args.align,
            "theta_mean": mu,
            "theta_scale": scale,
            "record": json.dumps(record),
        },
        args.out / "cryoem_encoder.pt",
    )
    (args.out / "cryoem_encoder.json").write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
