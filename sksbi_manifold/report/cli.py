"""``sksbi-manifold`` command line.

    sksbi-manifold report [LATENTS] [--params P] [--reference R
                          [--reference-params RP]] [--key K] --out DIR
                          [--scheduler tcp://HOST:8786]
    sksbi-manifold --version

Bad input (files and options) ends with one clear line on stderr and exit
status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path
from typing import NoReturn

from .. import __version__
from ..exceptions import InputError
from .workflow import ReportConfig, run_report


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def _positive(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text!r}")
    return value


def _n_jobs(text: str) -> int:
    value = _integer(text)
    if value == 0:
        raise argparse.ArgumentTypeError(
            "must be a non-zero integer (-1: all CPUs, -2: all but one, ...), got '0'"
        )
    return value


def _seed(text: str) -> int:
    value = _integer(text)
    if not 0 <= value < 2**32 - 1:
        raise argparse.ArgumentTypeError(
            f"must be an integer in [0, 2**32 - 2], got {text!r}"
        )
    return value


# Sizes of the workflow (ReportConfig fields; the paper's by default). Each
# caps the rows of one stage; a size above the data uses all rows.
_SIZES = {
    "n_subsample": "target rows counted for outlier removal and density flattening",
    "n_coverage_fit": "KDE rows per set of the coverage analysis",
    "n_coverage_test": "held-out rows per set of the coverage analysis",
    "n_reference": "reference rows the parameters are carried from",
    "n_dimension": "rows per set of the doubling and correlation estimators",
    "n_relax": "embedded rows relaxed (the others follow by Nadaraya-Watson)",
    "n_plot": "points per embedding scatter",
    "n_tslasso": "embedded rows of the TSLasso gradients and tangent spaces",
}


# The input files of ``report`` (option, help); LATENTS is positional.
_INPUTS = {
    "--params": "parameters of LATENTS (.csv with header or .npz)",
    "--reference": "reference latents (e.g. simulated) for coverage and "
    "parameter transfer",
    "--reference-params": "parameters of the reference latents",
}


def _add_inputs(rep: argparse.ArgumentParser) -> None:
    """LATENTS, its parameters, the reference set and the .npz key."""
    rep.add_argument(
        "latents",
        nargs="?",
        type=Path,
        help=".npy/.npz/.csv/.pt file of latent vectors (n x D)",
    )
    for option, text in _INPUTS.items():
        rep.add_argument(option, type=Path, help=text)
    rep.add_argument(
        "--key",
        help="name of the array to read from .npz (or .pt dict) LATENTS and "
        "--reference files that hold several",
    )
    rep.add_argument(
        "--out",
        type=Path,
        default=Path("report_out"),
        help="output directory (default: report_out)",
    )


def _add_sizes(rep: argparse.ArgumentParser) -> None:
    """The sizes of the workflow (ReportConfig fields)."""
    rep.add_argument(
        "--max-samples",
        type=_positive,
        default=None,
        help="rows drawn by density flattening, at most --flatten-fraction of "
        "the inliers; the embedding uses them less the 5%% weakest-connected "
        f"(default: {ReportConfig.max_samples})",
    )
    for name, text in _SIZES.items():
        rep.add_argument(
            "--" + name.replace("_", "-"),
            type=_positive,
            default=None,
            help=f"{text} (default: {getattr(ReportConfig, name)})",
        )
    rep.add_argument(
        "--flatten-fraction",
        type=_fraction,
        default=None,
        help="largest share of the inliers drawn by density flattening "
        f"(default: {ReportConfig.flatten_fraction}, as the paper)",
    )
    rep.add_argument(
        "--n-default",
        type=_positive,
        default=None,
        help="rows per set of the embedded default data",
    )


def _add_execution(rep: argparse.ArgumentParser) -> None:
    """Workers, seed, Dask cluster and verbosity."""
    rep.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=2,
        help="parallel workers, as joblib: -1 for all CPUs (default: 2)",
    )
    rep.add_argument("--random-state", type=_seed, default=0)
    rep.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="run the parallel blocks on the Dask cluster of this scheduler "
        "(e.g. tcp://host:8786; needs the 'dask' extra; see the user guide's "
        "'Many machines' page); use with --n-jobs -1",
    )
    rep.add_argument("--quiet", action="store_true", help="no progress output")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sksbi-manifold",
        description="Manifold analysis of simulation-based-inference latents.",
    )
    parser.add_argument(
        "--version", action="version", version=f"sksbi-manifold {__version__}"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser(
        "report",
        help="run the paper's workflow and write an HTML report",
        description=(
            "Run intrinsic dimension, density flattening, coverage, Diffusion "
            "Maps + IES + Riemannian relaxation, Nadaraya-Watson transfer and "
            "TSLasso on LATENTS and write DIR/index.html, PNG figures and "
            "results.json. Without LATENTS the embedded default data is "
            "used: latents of simulated adenylate kinase particles from the "
            "shipped NPE encoder (load_cryoem_latents): an experimental set "
            "with a physical model mismatch and a simulated reference with "
            "parameters."
        ),
    )
    _add_inputs(rep)
    _add_sizes(rep)
    _add_execution(rep)
    return parser


@contextlib.contextmanager
def _cluster(address: str | None):
    """joblib's Dask backend on the scheduler at ``address`` (None: local)."""
    if address is None:
        yield
        return
    try:
        import joblib
        from distributed import Client
    except ImportError:
        raise InputError(
            "--scheduler needs dask.distributed: pip install 'sksbi-manifold[dask]'"
        ) from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"cannot reach the Dask scheduler {address}: {text}") from None
    with client, joblib.parallel_config(backend="dask"):
        yield


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sksbi-manifold`` console script."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # a usage error (2), --help or --version (0)
        return exc.code if isinstance(exc.code, int) else 0
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
        key=args.key,
        out=args.out,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        **{
            k: v
            for k, v in (
                ("max_samples", args.max_samples),
                ("n_default", args.n_default),
                ("flatten_fraction", args.flatten_fraction),
                *((name, getattr(args, name)) for name in _SIZES),
            )
            if v is not None
        },
    )
    try:
        with _cluster(args.scheduler):
            index = run_report(config)
    except InputError as exc:
        print(f"sksbi-manifold: error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"report written to {index}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
