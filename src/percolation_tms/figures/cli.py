"""``percolation-tms plot NAME --inputs FILE... --out FIG.png``: draw one figure from cached results.

A figure only reads files the stages wrote; drawing it again never regenerates data or retrains.
The PNG goes to ``--out`` and a PDF of the same figure beside it (same stem).  The figures and
what each reads come from the registry (``percolation_tms.figures.registry``).
"""

from __future__ import annotations

import argparse

from percolation_tms import _progress
from percolation_tms.figures.registry import FIGURES


def register(subparsers) -> None:
    by_input: dict[str, list[str]] = {}
    for figure in FIGURES.values():
        by_input.setdefault(figure.reads, []).append(figure.name)
    listing = "\n".join(f"  {', '.join(names)}:\n    {what}" for what, names in by_input.items())
    parser = subparsers.add_parser(
        "plot", help="draw one paper figure (PNG + PDF) from cached results",
        description="Draw one figure from files the stages wrote; writes --out (PNG) and the "
                    "same figure as PDF beside it.",
        epilog=f"figures and what --inputs takes:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=list(FIGURES), metavar="NAME",
                        help="the figure (listed below)")
    parser.add_argument("--inputs", nargs="+", required=True, metavar="FILE",
                        help="the files the figure reads (listed below per figure)")
    parser.add_argument("--out", required=True, metavar="FIG.png",
                        help="output PNG; the PDF is written beside it")
    parser.set_defaults(func=_plot)


def _plot(args) -> None:
    figure = FIGURES[args.name]
    with _progress.stage(f"reading {len(args.inputs)} input file(s) for {args.name}"):
        data = figure.read_function()(args.inputs)
    with _progress.stage(f"drawing {args.name}"):
        figure.plot_function()(data, args.out)
    _progress.log(f"wrote {args.out} and its PDF")
