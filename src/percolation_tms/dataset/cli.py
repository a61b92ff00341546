"""Dataset commands: ``generate`` and ``filter`` for users, and the one-stage-per-command
pipeline the workflow runs (``generate-graph``, ``embed``, ``label``, ``export``)."""

from __future__ import annotations

import argparse

_MODES = ("one_cluster", "distribution", "custom")
_DTYPES = ("float64", "float32")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "generate", help="generate a percolation dataset (the files of spec section 7)",
        description="Generate a dataset: graph, embedding, labels and ground-truth features, "
                    "written as <stem>.npz, <stem>_gt_features.npz, <stem>_gt_metadata.npz and "
                    "<stem>_graph.npz with <stem> = percolation_dataset_size<N>_dim<D>_seed<S>.",
        epilog="example: percolation-tms generate --mode distribution --size 100000 --dim 100 "
               "--seed 0 --outdir data/")
    add_graph_arguments(p)
    p.add_argument("--dim", type=int, required=True, help="embedding dimension d >= 1")
    add_seed_arguments(p, embed=True, value=True)
    _export_arguments(p, dtype=True)
    p.add_argument("--ignore-memory-check", action="store_true",
                   help="start even if the estimated peak memory exceeds what is available")
    p.set_defaults(func=_generate)

    p = subparsers.add_parser(
        "filter", help="keep the points of clusters within a size range",
        description="Write a derived dataset with the points of clusters of size in "
                    "[--min-size, --max-size]; rows stay aligned, empty feature columns are "
                    "dropped; file names get a suffix such as _minsize10_maxsize1000.")
    p.add_argument("--dataset", required=True, metavar="FILE",
                   help="the dataset's main file <stem>.npz (the other files sit beside it)")
    p.add_argument("--min-size", type=int, help="smallest cluster size kept")
    p.add_argument("--max-size", type=int, help="largest cluster size kept")
    p.add_argument("--outdir", help="where to write (default: beside the input)")
    p.add_argument("--compress", action="store_true", help="zip-compress the .npz files")
    p.set_defaults(func=_filter)

    p = subparsers.add_parser("generate-graph", help="stage 1: clusters, trees, hierarchy")
    add_graph_arguments(p)
    p.add_argument("--out", required=True, metavar="GRAPH.npz")
    p.set_defaults(func=_generate_graph)

    p = subparsers.add_parser("embed", help="stage 2: embed a graph's points in R^d")
    p.add_argument("--graph", required=True, metavar="GRAPH.npz")
    p.add_argument("--dim", type=int, required=True, help="embedding dimension d >= 1")
    add_seed_arguments(p, embed=True)
    p.add_argument("--dtype", choices=_DTYPES, default="float64")
    p.add_argument("--out", required=True, metavar="X.npy")
    p.set_defaults(func=_embed)

    p = subparsers.add_parser("label", help="stage 3: latent values and labels y")
    p.add_argument("--graph", required=True, metavar="GRAPH.npz")
    add_seed_arguments(p, value=True)
    p.add_argument("--out", required=True, metavar="VALUES.npz")
    p.set_defaults(func=_label)

    p = subparsers.add_parser(
        "export", help="stage 4: features + the dataset files",
        description="Write the dataset files (spec section 7 + graph) from the stage outputs "
                    "(--graph, --embedding, --values) or from the shards of a dataset "
                    "(--manifest, after plan-shards and generate-shard).")
    p.add_argument("--graph", metavar="GRAPH.npz")
    p.add_argument("--embedding", metavar="X.npy")
    p.add_argument("--values", metavar="VALUES.npz")
    p.add_argument("--manifest", metavar="manifest.json",
                   help="a sharded dataset's manifest (instead of the three stage outputs)")
    _export_arguments(p, dtype=False)
    p.set_defaults(func=_export)


def add_graph_arguments(p: argparse.ArgumentParser) -> None:
    """--mode, --create-prob, --size, --seed, --graph-seed (shared with plan-shards)."""
    p.add_argument("--mode", required=True, choices=_MODES,
                   help="one_cluster (p = 0), distribution (p = 1/3) or custom (--create-prob)")
    p.add_argument("--create-prob", type=float,
                   help="new-cluster probability p in [0, 1]; custom mode only")
    p.add_argument("--size", type=int, required=True, help="number of points N >= 1")
    p.add_argument("--seed", type=int, required=True,
                   help="dataset seed S: graph S, embed S+10000, value S+20000")
    p.add_argument("--graph-seed", type=int, help="override the graph seed")


def add_seed_arguments(p, embed=False, value=False) -> None:
    if embed:
        p.add_argument("--embed-seed", type=int, help="override the embed seed")
    if value:
        p.add_argument("--value-seed", type=int, help="override the value seed")


def _export_arguments(p, dtype: bool) -> None:
    if dtype:
        p.add_argument("--dtype", choices=_DTYPES, default="float64",
                       help="dtype of X (float32 halves memory and disk)")
    p.add_argument("--n-features", type=int,
                   help="keep the first K feature columns (1 <= K <= number of latents)")
    p.add_argument("--binary", action="store_true",
                   help="store 1 instead of the latent values z in the feature matrix")
    p.add_argument("--compress", action="store_true",
                   help="zip-compress the .npz files (slower; loads the same way)")
    p.add_argument("--outdir", required=True, help="output folder")


def _generate(args) -> None:
    from percolation_tms import _progress
    from percolation_tms.dataset import generate, memory, save_dataset

    # Refuse before any work rather than die midway; then again once the graph is built, from
    # its actual tree depths (the feature matrix's size varies with the seed).
    check = not args.ignore_memory_check
    if check:
        memory.check_fits(args.mode, args.size, args.dim, args.dtype, "generate")
    dataset = generate(args.mode, args.size, args.dim, args.seed, args.create_prob,
                       args.graph_seed, args.embed_seed, args.value_seed, args.dtype,
                       args.n_features, args.binary, memory_check=check)
    paths = save_dataset(dataset, args.outdir, args.compress)
    _progress.log(f"wrote {paths.main}")


def _filter(args) -> None:
    from percolation_tms import _progress
    from percolation_tms.dataset import filter_dataset

    paths = filter_dataset(args.dataset, args.min_size, args.max_size, args.outdir,
                           args.compress)
    _progress.log(f"wrote {paths.main}")


def _generate_graph(args) -> None:
    from percolation_tms import _progress
    from percolation_tms.percolation import generate_graph, save_graph

    with _progress.stage(f"graph: {args.mode}, {args.size:,} points"):
        graph = generate_graph(args.mode, args.size, args.seed, args.create_prob,
                               args.graph_seed)
    save_graph(args.out, graph)
    _progress.log(f"{graph.n_clusters:,} clusters, {graph.n_latents:,} latents -> {args.out}")


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


def _label(args) -> None:
    from percolation_tms import _progress
    from percolation_tms.labels import draw_labels, save_values
    from percolation_tms.percolation import load_graph

    graph = load_graph(args.graph)
    with _progress.stage(f"labels of {graph.n_points:,} points"):
        values = draw_labels(graph, args.value_seed)
    save_values(args.out, values)


def _export(args) -> None:
    import numpy as np

    from percolation_tms import _progress, io
    from percolation_tms.dataset import write_dataset_files
    from percolation_tms.features import ground_truth_features, point_metadata
    from percolation_tms.labels import load_values
    from percolation_tms.percolation import load_graph

    stage_outputs = (args.graph, args.embedding, args.values)
    if args.manifest is not None:
        if any(stage_outputs):
            raise ValueError("give either --manifest or --graph/--embedding/--values, not both")
        from percolation_tms.shards import export_shards

        export_shards(args.manifest, args.outdir, args.n_features, args.binary, args.compress)
        return
    if not all(stage_outputs):
        raise ValueError("export needs --graph, --embedding and --values (or --manifest)")
    graph = load_graph(args.graph)
    values = load_values(args.values, graph)
    try:
        X = np.load(args.embedding, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise io.InputFileError(f"embedding {args.embedding!r} is not a readable .npy file "
                                f"({exc})") from exc
    if X.ndim != 2 or X.shape[0] != graph.n_points:
        raise io.InputFileError(f"embedding {args.embedding!r} has shape {X.shape}; the graph "
                                f"has {graph.n_points} points")
    with _progress.stage("features"):
        features = ground_truth_features(graph, values.latent_value, args.n_features,
                                         args.binary)
    paths = io.DatasetPaths(args.outdir, graph.size, X.shape[1], graph.seed)
    write_dataset_files(paths, X, values.y, features, point_metadata(graph), graph,
                        args.compress)
