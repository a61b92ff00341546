"""Commands ``train-toy`` and ``phase-diagram`` (see ``docs/toymodels.md``)."""

from __future__ import annotations

import argparse

from percolation_tms.toymodels.config import MODELS, SECTION4_SPARSITIES


def _float_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")
    return values


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def _importance_list(text: str) -> tuple:
    settings = []
    for token in text.split(","):
        if token == "log100":
            settings.append(token)
            continue
        try:
            settings.append(float(token))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"importance settings are ratios r (I_i = r**i) or 'log100', got {token!r}")
    return tuple(settings)


def register(subparsers) -> None:
    train = subparsers.add_parser(
        "train-toy", help="train toy models of superposition over a list of sparsities",
        description="Train one toy model per (sparsity, importance setting, seed) and write "
                    "weights.npz, measurements.npz, metrics.csv and config.json.")
    train.add_argument("--model", choices=MODELS, default="tied")
    train.add_argument("--n-features", type=int, default=None,
                       help="n (default 20; with --percolation-features it is --k)")
    train.add_argument("--n-hidden", type=int, default=5, help="m (default 5)")
    train.add_argument("--sparsities", type=_float_list, default=None,
                       help="comma-separated sparsities in [0, 1) (default "
                            + ",".join(str(s) for s in SECTION4_SPARSITIES) + ")")
    train.add_argument("--feature-probability", type=_float_list, default=None,
                       help="n comma-separated presence probabilities, one per feature "
                            "(replaces --sparsities)")
    train.add_argument("--importance", type=_importance_list, default=None,
                       help="comma-separated importance settings: ratios r (I_i = r**i) or "
                            "'log100' (I_i = 100**(-i/(n-1))); default 0.7, or 1 with "
                            "--percolation-features")
    train.add_argument("--steps", type=int, default=10_000)
    train.add_argument("--batch-size", type=int, default=1024)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--weight-decay", type=float, default=0.01)
    train.add_argument("--seeds", type=_int_list, default=(0,),
                       help="comma-separated model seeds (default 0)")
    train.add_argument("--eval-batch-size", type=int, default=100_000)
    train.add_argument("--history-every", type=int, default=100)
    train.add_argument("--percolation-features", metavar="FILE", default=None,
                       help="a dataset's <stem>_gt_features.npz: train on its points' "
                            "ground-truth features")
    train.add_argument("--k", type=int, default=None,
                       help="number of feature columns taken from FILE")
    train.add_argument("--feature-selection", choices=("first", "frequent"), default="first",
                       help="the first k columns or the k most frequent")
    train.add_argument("--feature-values", choices=("binary", "values", "abs"),
                       default="binary", help="1 where present, the stored z_j, or |z_j|")
    train.add_argument("--out", required=True, metavar="DIR")
    train.set_defaults(func=_train_toy)

    phase = subparsers.add_parser(
        "phase-diagram", help="analytic phase diagram of 2 features in 1 dimension",
        description="Closed-form losses of the candidate solutions on a grid of (importance "
                    "ratio, sparsity), their argmin, and small models trained at a few grid "
                    "points; writes phase_diagram.npz.")
    phase.add_argument("--grid-size", type=int, default=41)
    phase.add_argument("--steps", type=int, default=10_000)
    phase.add_argument("--batch-size", type=int, default=1024)
    phase.add_argument("--seeds", type=_int_list, default=(0, 1, 2, 3),
                       help="model seeds tried at every trained point; the lowest held-out "
                            "loss is kept (default 0,1,2,3)")
    phase.add_argument("--out", required=True, metavar="DIR")
    phase.set_defaults(func=_phase_diagram)


def _config_from_args(args):
    from percolation_tms.toymodels.config import ToyConfig

    if args.percolation_features is not None:
        if args.k is None:
            raise ValueError("--percolation-features needs --k, the number of feature columns")
        if args.n_features is not None and args.n_features != args.k:
            raise ValueError(f"--n-features {args.n_features} differs from --k {args.k}; "
                             f"with --percolation-features give --k only")
        if args.sparsities is not None or args.feature_probability is not None:
            raise ValueError("--sparsities and --feature-probability do not apply with "
                             "--percolation-features (sparsity is a property of the data)")
        return ToyConfig(
            model=args.model, n_features=args.k, n_hidden=args.n_hidden, sparsities=(),
            importance=args.importance or (1.0,), seeds=args.seeds, steps=args.steps,
            batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
            eval_batch_size=args.eval_batch_size, history_every=args.history_every,
            percolation_features=args.percolation_features,
            feature_selection=args.feature_selection, feature_values=args.feature_values)
    if args.k is not None:
        raise ValueError("--k applies only with --percolation-features")
    n_features = 20 if args.n_features is None else args.n_features
    if args.feature_probability is not None:
        if args.sparsities is not None:
            raise ValueError("give either --sparsities or --feature-probability, not both")
        sparsities = ()
    else:
        sparsities = SECTION4_SPARSITIES if args.sparsities is None else args.sparsities
    return ToyConfig(
        model=args.model, n_features=n_features, n_hidden=args.n_hidden, sparsities=sparsities,
        feature_probability=args.feature_probability, importance=args.importance or (0.7,),
        seeds=args.seeds, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, eval_batch_size=args.eval_batch_size,
        history_every=args.history_every)


def _train_toy(args) -> int:
    from percolation_tms import _progress
    from percolation_tms.toymodels.results import save_run
    from percolation_tms.toymodels.train import train_toy

    config = _config_from_args(args)
    run = train_toy(config)
    measurements = save_run(args.out, run)
    for inst in range(len(run.instances.seed)):
        _progress.log(f"instance {inst}: sparsity {run.instances.sparsity[inst]:.4g}, seed "
                      f"{run.instances.seed[inst]}, importance "
                      f"{run.instances.importance_label[inst]}: held-out loss "
                      f"{run.result.eval_loss[inst]:.3e}, "
                      f"{int(measurements.represented[inst].sum())} of {config.n_features} "
                      f"features represented")
    _progress.log(f"wrote {args.out}")
    return 0


def _phase_diagram(args) -> int:
    from pathlib import Path

    from percolation_tms import _progress
    from percolation_tms.filenames import TOY_PHASE_DIAGRAM as PHASE_DIAGRAM_FILE
    from percolation_tms.toymodels.phase import CANDIDATE_NAMES, phase_diagram

    for name in ("grid_size", "steps", "batch_size"):
        if getattr(args, name) < (2 if name == "grid_size" else 1):
            raise ValueError(f"--{name.replace('_', '-')} is too small: {getattr(args, name)}")
    diagram = phase_diagram(args.grid_size, steps=args.steps, batch_size=args.batch_size,
                            seeds=args.seeds)
    diagram.save(Path(args.out) / PHASE_DIAGRAM_FILE)
    for r, s, got, want in zip(diagram.trained_importance_ratio, diagram.trained_sparsity,
                               diagram.trained_phase, diagram.predicted_phase):
        _progress.log(f"r = {r:g}, S = {s:g}: predicted {CANDIDATE_NAMES[want]}, trained "
                      f"{CANDIDATE_NAMES[got] if got >= 0 else 'unclassified'}")
    _progress.log(f"wrote {Path(args.out) / PHASE_DIAGRAM_FILE}")
    return 0
