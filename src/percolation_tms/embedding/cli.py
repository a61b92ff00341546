"""``embed`` (stage 2): place a graph's points in R^d by the branching random walk."""

from __future__ import annotations

from percolation_tms import settings
from percolation_tms.dataset.config import DatasetConfig


def register(subparsers) -> None:
    p = subparsers.add_parser("embed", help="stage 2: embed a graph's points in R^d")
    p.add_argument("--graph", required=True, metavar="GRAPH.npz")
    settings.add_arguments(p, DatasetConfig, only=DatasetConfig.EMBED_FIELDS)
    p.add_argument("--out", required=True, metavar="X.npy")
    p.set_defaults(func=_embed)


def _embed(args) -> None:
    import numpy as np

    from percolation_tms import _progress, io
    from percolation_tms.embedding import embed
    from percolation_tms.percolation import load_graph

    options = settings.given_or_default(DatasetConfig, args, DatasetConfig.EMBED_FIELDS)
    graph = load_graph(args.graph)
    with _progress.stage(f"embedding {graph.n_points:,} points in d = {args.dim}"):
        X = embed(graph, **options)
    with io.atomic_open(args.out) as handle:
        np.save(handle, X)
