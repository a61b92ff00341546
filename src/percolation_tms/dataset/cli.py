"""Dataset commands: ``generate`` and ``filter`` for users, and ``export``, the last stage of
the workflow's pipeline (``generate-graph``, ``embed``, ``label``: their stages' own commands),
which also writes a sharded dataset's files (``merge-shards`` is its other name)."""

from __future__ import annotations

from percolation_tms import settings
from percolation_tms.dataset.config import DatasetConfig


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "generate", help="generate a percolation dataset (the files of spec section 7)",
        description="Generate a dataset: graph, embedding, labels and ground-truth features, "
                    "written as <stem>.npz, <stem>_gt_features.npz, <stem>_gt_metadata.npz and "
                    "<stem>_graph.npz with <stem> = percolation_dataset_size<N>_dim<D>_seed<S>.",
        epilog="example: percolation-tms generate --mode distribution --size 100000 --dim 100 "
               "--seed 0 --outdir data/")
    settings.add_arguments(p, DatasetConfig)
    _output_arguments(p)
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

    p = subparsers.add_parser(
        "export", aliases=["merge-shards"], help="stage 4: features + the dataset files",
        description="Write the dataset files (spec section 7 + graph) from the stage outputs "
                    "(--graph, --embedding, --values) or from the shards of a dataset "
                    "(--manifest, after plan-shards and generate-shard; the command's other "
                    "name, merge-shards, is kept for that use).")
    p.add_argument("--graph", metavar="GRAPH.npz")
    p.add_argument("--embedding", metavar="X.npy")
    p.add_argument("--values", metavar="VALUES.npz")
    p.add_argument("--manifest", metavar="manifest.json",
                   help="a sharded dataset's manifest (instead of the three stage outputs)")
    p.add_argument("--shard-dir", help="with --manifest: folder of the shard files (default: "
                                       "the manifest's)")
    settings.add_arguments(p, DatasetConfig, only=DatasetConfig.FEATURE_FIELDS)
    _output_arguments(p)
    p.set_defaults(func=_export)

    p = subparsers.add_parser(
        "map-nested", help="map a nested dataset onto a larger one from the same seeds",
        description="For two datasets generated with --nested from the same seeds and mode "
                    "(sizes N <= N'), write map.npz: the node of the larger dataset of every "
                    "point and latent of the smaller, and for every point of the larger the "
                    "point of the smaller it refines (docs/file-formats.md).",
        epilog="example: percolation-tms map-nested --small a/percolation_dataset_size1000_dim"
               "100_seed0.npz --large b/percolation_dataset_size10000_dim100_seed0.npz "
               "--out map.npz")
    p.add_argument("--small", required=True, metavar="FILE",
                   help="the smaller dataset: its main file <stem>.npz or its _graph.npz")
    p.add_argument("--large", required=True, metavar="FILE", help="the larger dataset")
    p.add_argument("--out", required=True, metavar="MAP.npz")
    p.set_defaults(func=_map_nested)


def _output_arguments(p) -> None:
    p.add_argument("--compress", action="store_true",
                   help="zip-compress the .npz files (slower; loads the same way)")
    p.add_argument("--outdir", required=True, help="output folder")


def _map_nested(args) -> None:
    from percolation_tms import _progress
    from percolation_tms.dataset import map_nested_files

    mapping = map_nested_files(args.small, args.large, args.out)
    _progress.log(f"{int(mapping.persists.sum()):,} of {mapping.small_size:,} points persist, "
                  f"{int((~mapping.persists).sum()):,} are refined -> {args.out}")


def _generate(args) -> None:
    from percolation_tms import _progress
    from percolation_tms.dataset import generate_dataset, memory, save_dataset

    config = settings.from_arguments(DatasetConfig, args)
    # Refuse before any work rather than die midway; then again once the graph is built, from
    # its actual tree depths (the feature matrix's size varies with the seed).
    check = not args.ignore_memory_check
    if check:
        memory.check_fits(config.mode, config.size, config.dim, config.dtype, "generate")
    dataset = generate_dataset(config, memory_check=check)
    paths = save_dataset(dataset, args.outdir, args.compress)
    _progress.log(f"wrote {paths.main}")


def _filter(args) -> None:
    from percolation_tms import _progress
    from percolation_tms.dataset import filter_dataset

    paths = filter_dataset(args.dataset, args.min_size, args.max_size, args.outdir,
                           args.compress)
    _progress.log(f"wrote {paths.main}")


def _export(args) -> None:
    from percolation_tms import _progress
    from percolation_tms.dataset import export_dataset

    features = settings.given_or_default(DatasetConfig, args, DatasetConfig.FEATURE_FIELDS)
    stage_outputs = (args.graph, args.embedding, args.values)
    if args.manifest is not None:
        if any(stage_outputs):
            raise ValueError("give either --manifest or --graph/--embedding/--values, not both")
        from percolation_tms.shards import export_shards

        export_shards(args.manifest, args.outdir, features["n_features"], features["binary"],
                      args.compress, args.shard_dir)
        return
    if args.shard_dir is not None:
        raise ValueError("--shard-dir goes with --manifest")
    if not all(stage_outputs):
        raise ValueError("export needs --graph, --embedding and --values (or --manifest)")
    paths = export_dataset(args.graph, args.embedding, args.values, args.outdir,
                           features["n_features"], features["binary"], args.compress)
    _progress.log(f"wrote {paths.main}")
