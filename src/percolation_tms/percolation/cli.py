"""``generate-graph`` (stage 1: clusters, trees, hierarchy) and the graph and seed options that
every command building a dataset shares (``generate``, ``plan-shards``, ``embed``, ``label``)."""

from __future__ import annotations

import argparse

from percolation_tms.percolation.graph import MODES
from percolation_tms.seeds import EMBED_SEED_OFFSET, VALUE_SEED_OFFSET


def add_graph_arguments(p: argparse.ArgumentParser) -> None:
    """--mode, --create-prob, --size, --seed, --graph-seed."""
    p.add_argument("--mode", required=True, choices=MODES,
                   help="one_cluster (p = 0), distribution (p = 1/3) or custom (--create-prob)")
    p.add_argument("--create-prob", type=float,
                   help="new-cluster probability p in [0, 1]; custom mode only")
    p.add_argument("--size", type=int, required=True, help="number of points N >= 1")
    p.add_argument("--seed", type=int, required=True,
                   help=f"dataset seed S: graph S, embed S+{EMBED_SEED_OFFSET}, "
                        f"value S+{VALUE_SEED_OFFSET}")
    p.add_argument("--graph-seed", type=int, help="override the graph seed")
    p.add_argument("--nested", action="store_true",
                   help="size-consistent construction (docs/nested.md): datasets of sizes "
                        "N < N' from the same seeds refine one another (map-nested maps them)")


def add_seed_arguments(p: argparse.ArgumentParser, embed: bool = False,
                       value: bool = False) -> None:
    """--embed-seed and/or --value-seed (defaults derived from the dataset seed)."""
    if embed:
        p.add_argument("--embed-seed", type=int,
                       help=f"override the embed seed (default S+{EMBED_SEED_OFFSET})")
    if value:
        p.add_argument("--value-seed", type=int,
                       help=f"override the value seed (default S+{VALUE_SEED_OFFSET})")


def register(subparsers) -> None:
    p = subparsers.add_parser("generate-graph", help="stage 1: clusters, trees, hierarchy")
    add_graph_arguments(p)
    p.add_argument("--out", required=True, metavar="GRAPH.npz")
    p.set_defaults(func=_generate_graph)


def _generate_graph(args) -> None:
    from percolation_tms import _progress
    from percolation_tms.percolation import generate_graph, save_graph

    with _progress.stage(f"graph: {args.mode}, {args.size:,} points"):
        graph = generate_graph(args.mode, args.size, args.seed, args.create_prob,
                               args.graph_seed, args.nested)
    save_graph(args.out, graph)
    _progress.log(f"{graph.n_clusters:,} clusters, {graph.n_latents:,} latents -> {args.out}")
