"""Commands ``basin-volume``, ``llc`` and ``basin-kgon`` (see ``docs/basins.md``)."""

from __future__ import annotations

from percolation_tms import filenames, settings
from percolation_tms.basins.config import BasinConfig, LLCConfig


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "basin-volume", help="prior probability (volume) of the basins of trained toy models",
        description="For each instance of a train-toy run: random rays from the trained "
                    "weights to the cutoff of the cost, and from them ln P under the "
                    "Gaussian prior, ln Vol (uniform prior) and ln rho (spec 1.6), with "
                    "bootstrap interval, ESS, capped and non-monotone fractions; with several "
                    "--cutoff-rel, the slope of ln P against ln eps.")
    p.add_argument("--run", required=True, metavar="DIR", help="a train-toy output folder")
    settings.add_arguments(p, BasinConfig)
    settings.add_outputs(p, filenames.BASIN_VOLUME_FILES)
    p.set_defaults(func=_basin_volume)

    p = subparsers.add_parser(
        "llc", help="local learning coefficient of trained toy models by SGLD",
        description="For each instance of a train-toy run: full-batch SGLD chains from the "
                    "trained weights on the cost over the evaluation set, and the LLC "
                    "n beta (E[L] - L(w*)) with its spread over chains.")
    p.add_argument("--run", required=True, metavar="DIR", help="a train-toy output folder")
    settings.add_arguments(p, LLCConfig)
    settings.add_outputs(p, filenames.BASIN_LLC_FILES)
    p.set_defaults(func=_llc)

    p = subparsers.add_parser(
        "basin-kgon", help="competing k-gons: frequency against volume and LLC",
        description="Group the instances of a basin-volume table by their polygon (features "
                    "represented) and give each polygon's frequency, mean ln P, ln Vol and "
                    "LLC, against the most frequent polygon.")
    p.add_argument("--volumes", required=True, metavar="CSV", help="basin-volume's table")
    p.add_argument("--llc", required=True, metavar="CSV", help="llc's table of the same run")
    settings.add_outputs(p, filenames.BASIN_KGON_FILES)
    p.set_defaults(func=_basin_kgon)


def _basin_volume(args) -> int:
    from percolation_tms import _progress, io
    from percolation_tms.basins.results import basin_volumes

    config = settings.from_arguments(BasinConfig, args)
    paths = settings.resolve_outputs(args, filenames.BASIN_VOLUME_FILES)
    volumes, slopes, rays = basin_volumes(args.run, config)
    io.write_csv(paths["volumes"], volumes)
    io.write_csv(paths["slopes"], slopes)
    io.save_arrays(paths["rays"], **rays)
    _progress.log(f"wrote {paths['volumes']}, {paths['slopes']} and {paths['rays']}")
    return 0


def _llc(args) -> int:
    from percolation_tms import _progress, io
    from percolation_tms.basins.results import llc_estimates

    config = settings.from_arguments(LLCConfig, args)
    paths = settings.resolve_outputs(args, filenames.BASIN_LLC_FILES)
    table, arrays = llc_estimates(args.run, config)
    io.write_csv(paths["llc"], table)
    io.save_arrays(paths["traces"], **arrays)
    _progress.log(f"wrote {paths['llc']} and {paths['traces']}")
    return 0


def _basin_kgon(args) -> int:
    import pandas as pd

    from percolation_tms import _progress, io
    from percolation_tms.basins.results import kgon_table

    paths = settings.resolve_outputs(args, filenames.BASIN_KGON_FILES)
    try:
        volumes, llc = pd.read_csv(args.volumes), pd.read_csv(args.llc)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"cannot read the tables ({exc})") from exc
    table = kgon_table(volumes, llc)
    io.write_csv(paths["kgon"], table)
    for row in table.itertuples():
        _progress.log(f"S = {row.sparsity:g}: {row.polygon_k}-gon {row.count} times, ln P "
                      f"{row.log_prob_mean:.2f}, LLC {row.llc_mean:.3f}")
    _progress.log(f"wrote {paths['kgon']}")
    return 0
