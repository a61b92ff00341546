"""``plan-shards`` and ``generate-shard``: one dataset as K jobs (then ``export --manifest``,
also called ``merge-shards``, writes the standard files)."""

from __future__ import annotations

from percolation_tms import settings
from percolation_tms.dataset.config import DatasetConfig


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plan-shards", help="plan a dataset's clusters once and cut them into K shards",
        description="Assign points to clusters (the cheap sequential part) and write plan.npz "
                    "and manifest.json into --outdir; then run generate-shard for every shard "
                    "(any order, any machine) and export --manifest (or merge-shards) to write "
                    "the standard files.",
        epilog="example: percolation-tms plan-shards --mode distribution --size 100000000 "
               "--dim 100 --seed 0 --dtype float32 --shards 20 --outdir big/")
    # the features are chosen when the shards are merged (export --n-features/--binary)
    settings.add_arguments(p, DatasetConfig, exclude=DatasetConfig.FEATURE_FIELDS)
    p.add_argument("--shards", type=int, required=True, help="number of shards K >= 1")
    p.add_argument("--outdir", required=True)
    p.set_defaults(func=_plan)

    p = subparsers.add_parser("generate-shard", help="build one shard of a planned dataset")
    p.add_argument("--manifest", required=True, metavar="manifest.json")
    p.add_argument("--shard", type=int, required=True, help="shard index, 0 <= k < K")
    p.add_argument("--outdir", help="where to write the shard (default: beside the manifest)")
    p.set_defaults(func=_build)


def _plan(args) -> None:
    from percolation_tms import _progress
    from percolation_tms.shards import plan_shards, write_plan

    with _progress.stage(f"planning {args.size:,} points in {args.shards} shards"):
        config = settings.from_arguments(DatasetConfig, args)
        manifest, plan = plan_shards(config.mode, config.size, config.dim, config.seed,
                                     args.shards, config.create_prob, config.graph_seed,
                                     config.embed_seed, config.value_seed, config.dtype,
                                     config.nested)
    path = write_plan(args.outdir, manifest, plan)
    _progress.log(f"{manifest.n_clusters:,} clusters -> {path}")


def _build(args) -> None:
    from percolation_tms.shards import build_shard

    build_shard(args.manifest, args.shard, args.outdir)
