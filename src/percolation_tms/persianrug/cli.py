"""Command ``persian-rug`` (see ``docs/persianrug.md``)."""

from __future__ import annotations

from percolation_tms import settings
from percolation_tms.filenames import PERSIANRUG_FILES
from percolation_tms.persianrug.config import PersianRugConfig


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "persian-rug", help="large-n toy models: trained models, the Persian rug, the "
                            "Gaussian limit",
        description="Over a grid of n, m/n, p and seeds: train models y = ReLU(W_out W_in x + "
                    "b) (kind trained), build and fit the Hadamard rug (rug) and minimise the "
                    "Gaussian-limit loss (theory); score every model on the same fresh "
                    "samples.  Writes a tidy results table, the theory curves, the weights "
                    "and the config.")
    settings.add_arguments(parser, PersianRugConfig)
    settings.add_outputs(parser, PERSIANRUG_FILES)
    parser.set_defaults(func=_persian_rug)


def _persian_rug(args) -> int:
    from percolation_tms import _progress
    from percolation_tms.persianrug.sweep import run_sweep, save_sweep

    # Validate everything before any work: a bad setting or a missing path writes nothing.
    config = settings.from_arguments(PersianRugConfig, args)
    paths = settings.resolve_outputs(args, PERSIANRUG_FILES)
    sweep = run_sweep(config)
    save_sweep(sweep, paths)
    _progress.log(f"wrote {len(sweep.table)} rows to {paths['results']}")
    return 0
