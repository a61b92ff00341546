"""``percolation-tms plot NAME --inputs FILE... --out FIG.png``: draw one figure from cached results.

A figure only reads files the stages wrote; drawing it again never regenerates data or retrains.
The PNG goes to ``--out`` and a PDF of the same figure beside it (same stem).
"""

from __future__ import annotations

import argparse
import importlib

from percolation_tms import _progress

# A figure: (module with plot_<name>(data, out_path), "module:function" reading --inputs into
# data, what --inputs takes).  Modules are imported only when one of their figures is drawn.
_PERCOLATION = ("percolation_tms.figures.percolation",
                "percolation_tms.figures.inputs:read_percolation_stats",
                ("describe's arrays.npz of every seed of one setting (mode, size, dim) and "
                 "summary.csv files holding their rows (each seed's, or the aggregated one), in "
                 "any order"))
_TOY = ("percolation_tms.figures.toymodels", "percolation_tms.figures.inputs:read_toy_models",
        ("measurements.npz, weights.npz and metrics.csv of every train-toy run (model kinds "
         "and seed groups; the runs of one model kind are merged)"))
_PHASE = ("percolation_tms.figures.toymodels", "percolation_tms.figures.inputs:read_phase_diagram",
          "the phase_diagram.npz written by phase-diagram")
_TOY_ON_PERCOLATION = (*_TOY[:2], ("measurements.npz, weights.npz and metrics.csv of train-toy "
                                   "runs with --percolation-features"))
_SAE = ("percolation_tms.figures.sae", "percolation_tms.figures.sae:read_sae_runs",
        ("train-sae's metrics.csv, recovery_by_depth.csv and recovery_by_frequency.csv of one "
         "or more sweeps (one folder each, e.g. per dataset seed)"))
_SAE_SYNTHETIC = (*_SAE[:2], "sae-synthetic's metrics.csv, recovery.csv and config.json")

FIGURES = {
    "cluster_sizes": _PERCOLATION,
    "degrees": _PERCOLATION,
    "hierarchy": _PERCOLATION,
    "embedding": _PERCOLATION,
    "feature_frequency": _PERCOLATION,
    "baselines": _PERCOLATION,
    "tms_wtw": _TOY,
    "tms_weights": _TOY,
    "tms_represented": _TOY,
    "tms_feature_dimensionality": _TOY,
    "tms_loss": _TOY,
    "tms_phase_diagram": _PHASE,
    "percolation_superposition": _TOY_ON_PERCOLATION,
    "sae_recovery_depth": _SAE,
    "sae_recovery_frequency": _SAE,
    "sae_tradeoff": _SAE,
    "sae_mmcs": _SAE_SYNTHETIC,
}


def _resolve(reference: str):
    module, name = reference.split(":")
    return getattr(importlib.import_module(module), name)


def register(subparsers) -> None:
    by_input: dict[str, list[str]] = {}
    for name, (_, _, what) in FIGURES.items():
        by_input.setdefault(what, []).append(name)
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
    module, reader, _ = FIGURES[args.name]
    with _progress.stage(f"reading {len(args.inputs)} input file(s) for {args.name}"):
        data = _resolve(reader)(args.inputs)
    with _progress.stage(f"drawing {args.name}"):
        _resolve(f"{module}:plot_{args.name}")(data, args.out)
    _progress.log(f"wrote {args.out} and its PDF")
