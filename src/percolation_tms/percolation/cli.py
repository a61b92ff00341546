"""``generate-graph`` (stage 1: clusters, trees, hierarchy).  Its options are the graph fields
of :class:`~percolation_tms.dataset.config.DatasetConfig`."""

from __future__ import annotations

from percolation_tms import settings
from percolation_tms.dataset.config import DatasetConfig


def register(subparsers) -> None:
    p = subparsers.add_parser("generate-graph", help="stage 1: clusters, trees, hierarchy")
    settings.add_arguments(p, DatasetConfig, only=DatasetConfig.GRAPH_FIELDS)
    p.add_argument("--out", required=True, metavar="GRAPH.npz")
    p.set_defaults(func=_generate_graph)


def _generate_graph(args) -> None:
    from percolation_tms import _progress
    from percolation_tms.percolation import generate_graph, save_graph

    options = settings.given_or_default(DatasetConfig, args, DatasetConfig.GRAPH_FIELDS)
    with _progress.stage(f"graph: {args.mode}, {args.size:,} points"):
        graph = generate_graph(**options)
    save_graph(args.out, graph)
    _progress.log(f"{graph.n_clusters:,} clusters, {graph.n_latents:,} latents -> {args.out}")
