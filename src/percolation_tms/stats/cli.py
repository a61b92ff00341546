"""``describe`` (statistics of one dataset) and ``aggregate`` (over seeds)."""

from __future__ import annotations

from percolation_tms import settings
from percolation_tms.stats.config import DescribeConfig


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "describe", help="statistics of one dataset (spec section 8) and arrays for figures",
        description="Cluster-size exponent, degree KL to 1 + Poisson(1), label and coordinate "
                    "moments, isotropy, mean / ridge / k-NN baselines, plus the arrays the "
                    "figures plot. Needs the dataset's graph file beside it.")
    p.add_argument("--dataset", required=True, metavar="FILE", help="<stem>.npz")
    p.add_argument("--out-summary", required=True, metavar="CSV")
    p.add_argument("--out-arrays", required=True, metavar="NPZ")
    settings.add_arguments(p, DescribeConfig)
    p.set_defaults(func=_describe)

    p = subparsers.add_parser("aggregate", help="tidy table of dataset statistics over seeds")
    p.add_argument("--summaries", nargs="+", required=True, metavar="CSV")
    p.add_argument("--out", required=True, metavar="CSV", help="all rows")
    p.add_argument("--out-by-setting", required=True, metavar="CSV",
                   help="mean and std over seeds per (mode, size, dim)")
    p.set_defaults(func=_aggregate)


def _describe(args) -> None:
    from percolation_tms.stats.describe import write_description

    config = settings.from_arguments(DescribeConfig, args)
    write_description(args.dataset, args.out_summary, args.out_arrays,
                      knn_min_cluster=config.knn_min_cluster, knn_k=config.knn_k)


def _aggregate(args) -> None:
    from percolation_tms import io
    from percolation_tms.stats.describe import aggregate

    rows, by_setting = aggregate(args.summaries)
    io.write_csv(args.out, rows)
    io.write_csv(args.out_by_setting, by_setting)
