"""Commands ``train-sae`` (a sweep on a dataset, scored against its ground-truth hierarchy) and
``sae-synthetic`` (a sweep on data with a known dictionary, scored by mean max cosine
similarity).  Their files are listed in ``docs/file-formats.md``."""

from __future__ import annotations

import argparse

from percolation_tms import _progress


def _float_list(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def _add_training_options(p: argparse.ArgumentParser, default_ratios: str,
                          default_epochs: int) -> None:
    g = p.add_argument_group("sparse autoencoders (one per dictionary size x l1 or k)")
    g.add_argument("--kind", choices=("relu", "topk"), default="relu",
                   help="relu: ReLU + L1 penalty (sweep --l1); topk: k largest kept (sweep --k)")
    g.add_argument("--l1", type=_float_list, metavar="L1[,L1...]",
                   help="L1 coefficients (kind relu)")
    g.add_argument("--k", type=_int_list, metavar="K[,K...]",
                   help="active latents per point (kind topk)")
    g.add_argument("--dict-ratios", type=_float_list, default=_float_list(default_ratios),
                   metavar="R[,R...]",
                   help=f"dictionary sizes as multiples of d (default {default_ratios})")
    g.add_argument("--epochs", type=int, default=default_epochs,
                   help=f"passes over the points (default {default_epochs})")
    g.add_argument("--batch-size", type=int, default=256, help="points per step (default 256)")
    g.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    g.add_argument("--seed", type=int, default=0,
                   help="initial dictionary and batch order (default 0)")
    g.add_argument("--no-standardize", action="store_true",
                   help="train on raw X (default: centre, and scale to mean |x|^2 = d)")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train-sae", help="train sparse autoencoders on a dataset and score them against its "
                          "ground-truth features")
    p.add_argument("--dataset", required=True, metavar="DIR/<stem>.npz",
                   help="main file of a dataset; its _gt_features.npz and _graph.npz are read "
                        "from beside it")
    _add_training_options(p, default_ratios="8", default_epochs=5)
    g = p.add_argument_group("scoring")
    g.add_argument("--min-feature-points", type=int, default=1,
                   help="score only features covering at least this many points (default 1)")
    g.add_argument("--max-features", type=int,
                   help="score at most this many features (after --min-feature-points)")
    g.add_argument("--feature-order", choices=("first", "frequent"), default="first",
                   help="which features --max-features keeps: the first columns (coarse "
                        "latents of the largest clusters) or those covering most points")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=_train_sae)

    p = subparsers.add_parser(
        "sae-synthetic", help="sparse autoencoders on data with a known dictionary: mean max "
                              "cosine similarity against dictionary size")
    g = p.add_argument_group("synthetic data (sparse non-negative sums of random unit vectors)")
    g.add_argument("--n-samples", type=int, default=50_000, help="points (default 50000)")
    g.add_argument("--dim", type=int, default=64, help="dimension d (default 64)")
    g.add_argument("--n-features", type=int, default=128,
                   help="true dictionary directions (default 128)")
    g.add_argument("--mean-active", type=float, default=4.0,
                   help="mean active directions per point (default 4)")
    g.add_argument("--decay", type=float, default=0.0,
                   help="direction f is active with probability ~ (f + 1)^-decay (default 0)")
    g.add_argument("--data-seed", type=int, default=0, help="seed of the data (default 0)")
    _add_training_options(p, default_ratios="0.5,1,2,4,8", default_epochs=20)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=_sae_synthetic)


def _configs(args):
    from percolation_tms.sae.config import SAEConfig, sweep_configs

    if args.kind == "relu" and not args.l1:
        raise ValueError("kind relu sweeps the L1 coefficient: give --l1 (e.g. --l1 1,2,4)")
    if args.kind == "topk" and not args.k:
        raise ValueError("kind topk sweeps k: give --k (e.g. --k 8,16,32)")
    base = SAEConfig(kind=args.kind, k=args.k[0] if args.kind == "topk" else 0,
                     epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                     seed=args.seed, standardize=not args.no_standardize)
    return sweep_configs(base, args.dict_ratios, args.l1, args.k)


def _train_sae(args) -> None:
    from percolation_tms.dataset import load_dataset
    from percolation_tms.sae import outputs
    from percolation_tms.sae.score import select_features
    from percolation_tms.sae.sweep import run_sweep

    configs = _configs(args)  # validate every setting before reading anything
    with _progress.stage(f"reading {args.dataset}"):
        data = load_dataset(args.dataset, need_graph=True)
    n, n_columns = data.features.shape
    depth = data.graph.depth[n:]
    if depth.shape[0] < n_columns:
        raise ValueError(f"the feature file has {n_columns} columns but the graph only "
                         f"{depth.shape[0]} latents")
    features = select_features(data.features, depth[:n_columns], args.min_feature_points,
                               args.max_features, args.feature_order)
    _progress.log(f"{n:,} points, d = {data.X.shape[1]}; scoring {features.column.size:,} of "
                  f"{n_columns:,} ground-truth features")
    sweep = run_sweep(data.X, configs, features)
    info = {"data": {"dataset": str(args.dataset)},
            "scoring": {"min_feature_points": args.min_feature_points,
                        "max_features": args.max_features,
                        "feature_order": args.feature_order}}
    for path in outputs.write_sweep(args.out, sweep, info):
        _progress.log(f"wrote {path}")


def _sae_synthetic(args) -> None:
    from pathlib import Path

    from percolation_tms import filenames, io
    from percolation_tms.sae import outputs
    from percolation_tms.sae.score import select_features
    from percolation_tms.sae.sweep import run_sweep
    from percolation_tms.sae.synthetic import make_known_dictionary_data

    configs = _configs(args)
    with _progress.stage(f"sampling {args.n_samples:,} points from {args.n_features} "
                         f"directions in d = {args.dim}"):
        data = make_known_dictionary_data(args.n_samples, args.dim, args.n_features,
                                          args.mean_active, args.decay, args.data_seed)
    sweep = run_sweep(data.X, configs, select_features(data.coefficients),
                      dictionary=data.dictionary)
    info = {"data": {"synthetic": {"n_samples": args.n_samples, "dim": args.dim,
                                   "n_features": args.n_features,
                                   "mean_active": args.mean_active, "decay": args.decay,
                                   "data_seed": args.data_seed}}}
    written = outputs.write_sweep(args.out, sweep, info)
    dictionary_path = Path(args.out) / filenames.SAE_DICTIONARY
    io.save_arrays(dictionary_path, dictionary=data.dictionary, probability=data.probability)
    for path in written + [dictionary_path]:
        _progress.log(f"wrote {path}")
