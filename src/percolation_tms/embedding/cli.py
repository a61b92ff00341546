"""``embed`` (stage 2): place a graph's points in R^d by the branching random walk."""

from __future__ import annotations

from percolation_tms.embedding.embed import DTYPES
from percolation_tms.percolation.cli import add_seed_arguments


def register(subparsers) -> None:
    p = subparsers.add_parser("embed", help="stage 2: embed a graph's points in R^d")
    p.add_argument("--graph", required=True, metavar="GRAPH.npz")
    p.add_argument("--dim", type=int, required=True, help="embedding dimension d >= 1")
    add_seed_arguments(p, embed=True)
    p.add_argument("--dtype", choices=tuple(DTYPES), default="float64")
    p.add_argument("--out", required=True, metavar="X.npy")
    p.set_defaults(func=_embed)


def _embed(args) -> None:
    import numpy as np

    from percolation_tms import _progress, io
    from percolation_tms.embedding import embed
    from percolation_tms.percolation import load_graph

    graph = load_graph(args.graph)
    with _progress.stage(f"embedding {graph.n_points:,} points in d = {args.dim}"):
        X = embed(graph, args.dim, args.embed_seed, args.dtype)
    with io.atomic_open(args.out) as handle:
        np.save(handle, X)
