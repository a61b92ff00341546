"""``percolation-tms`` (and ``python -m percolation_tms``): one command per stage.

Each stage has a ``cli`` module with ``register(subparsers)``, which adds its command(s) and sets
``func`` on them.  Handlers import their heavy modules lazily so ``--help`` stays fast.
Errors in arguments or input files (``ValueError``, including ``io.InputFileError``) print a
message naming the argument and exit with status 2; no partial output is left behind because
every file is written atomically.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from percolation_tms import __version__, _progress

# Stage modules that contribute commands, in the order they appear in --help.
COMMAND_MODULES = (
    "percolation_tms.dataset.cli",
    "percolation_tms.percolation.cli",
    "percolation_tms.embedding.cli",
    "percolation_tms.labels.cli",
    "percolation_tms.stats.cli",
    "percolation_tms.shards.cli",
    "percolation_tms.toymodels.cli",
    "percolation_tms.sae.cli",
    "percolation_tms.figures.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="percolation-tms",
        description="Percolation-cluster datasets, toy models of superposition and sparse "
                    "autoencoders.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help=_QUIET_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    # -q also after the command (`percolation-tms generate -q ...`). SUPPRESS: a command given
    # without it leaves the value set before the command (or False) in place.
    for command in {id(p): p for p in subparsers.choices.values()}.values():
        command.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                             help=_QUIET_HELP)
    return parser


_QUIET_HELP = "no progress on stderr"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _progress.set_quiet(args.quiet)
    try:
        result = args.func(args)
    except ValueError as exc:  # bad argument values and bad input files
        print(f"percolation-tms {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return int(result or 0)
