"""``sksbi-manifold`` command line.

    sksbi-manifold report [LATENTS] [--params P] [--reference R
                          [--reference-params RP]] --out DIR

Bad input ends with one clear line on stderr and exit status 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .workflow import InputError, ReportConfig, run_report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sksbi-manifold",
        description="Manifold analysis of simulation-based-inference latents.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser(
        "report",
        help="run the paper's workflow and write an HTML report",
        description=(
            "Run intrinsic dimension, density flattening, coverage, Diffusion "
            "Maps + IES + Riemannian relaxation, Nadaraya-Watson transfer and "
            "TSLasso on LATENTS and write DIR/index.html, PNG figures and "
            "results.json. Without LATENTS the embedded default data "
            "(make_cryo_latents: experimental latents, simulated reference "
            "with parameters) is used."
        ),
    )
    rep.add_argument(
        "latents",
        nargs="?",
        type=Path,
        help=".npy/.npz/.csv/.pt file of latent vectors (n x D)",
    )
    rep.add_argument(
        "--params", type=Path, help="parameters of LATENTS (.csv with header or .npz)"
    )
    rep.add_argument(
        "--reference",
        type=Path,
        help="reference latents (e.g. simulated) for coverage and parameter transfer",
    )
    rep.add_argument(
        "--reference-params", type=Path, help="parameters of the reference latents"
    )
    rep.add_argument(
        "--out",
        type=Path,
        default=Path("report_out"),
        help="output directory (default: report_out)",
    )
    rep.add_argument(
        "--max-samples",
        type=int,
        default=None,
        help="rows used for the geometry stages after density "
        "flattening (default: 3000)",
    )
    rep.add_argument(
        "--n-default",
        type=int,
        default=None,
        help="rows per set of the embedded default data",
    )
    rep.add_argument("--n-jobs", type=int, default=2)
    rep.add_argument("--random-state", type=int, default=0)
    rep.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sksbi-manifold`` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    config = ReportConfig(
        latents=args.latents,
        params=args.params,
        reference=args.reference,
        reference_params=args.reference_params,
        out=args.out,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        **{
            k: v
            for k, v in (
                ("max_samples", args.max_samples),
                ("n_default", args.n_default),
            )
            if v is not None
        },
    )
    try:
        index = run_report(config)
    except InputError as exc:
        print(f"sksbi-manifold: error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"report written to {index}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
