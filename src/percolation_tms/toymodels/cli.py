"""Commands ``train-toy`` and ``phase-diagram`` (see ``docs/toymodels.md``).

Every option comes from a field of ``ToyConfig`` or ``PhaseDiagramConfig`` (defaults, types,
help and checks live there); every output file has its own option (``--weights FILE`` ...) or
takes its default name under ``--out DIR``.
"""

from __future__ import annotations

import argparse

from percolation_tms import filenames, settings
from percolation_tms.toymodels.config import PhaseDiagramConfig, ToyConfig

PHASE_DIAGRAM_FILES = {"phase_diagram": filenames.TOY_PHASE_DIAGRAM}


def register(subparsers) -> None:
    train = subparsers.add_parser(
        "train-toy", help="train toy models of superposition over a list of sparsities",
        description="Train one toy model per (sparsity, importance setting, model seed) and "
                    "write weights.npz, measurements.npz, metrics.csv and config.json.")
    settings.add_arguments(train, ToyConfig)
    # The option's old name, kept for scripts written before it was --n-features.
    train.add_argument("--k", dest="k_deprecated", type=int, default=None,
                       help=argparse.SUPPRESS)
    settings.add_outputs(train, filenames.TOY_RUN_FILES)
    train.set_defaults(func=_train_toy)

    phase = subparsers.add_parser(
        "phase-diagram", help="analytic phase diagram of 2 features in 1 dimension",
        description="Closed-form losses of the candidate solutions on a grid of (importance "
                    "ratio, sparsity), their argmin, and small models trained at a few grid "
                    "points; writes phase_diagram.npz.")
    settings.add_arguments(phase, PhaseDiagramConfig)
    settings.add_outputs(phase, PHASE_DIAGRAM_FILES)
    phase.set_defaults(func=_phase_diagram)


def toy_config_from_arguments(args: argparse.Namespace) -> ToyConfig:
    """The ``ToyConfig`` of parsed ``train-toy`` arguments (``--k`` read as ``--n-features``)."""
    overrides = {}
    if args.k_deprecated is not None:
        if getattr(args, "percolation_features", None) is None:
            raise ValueError("--k applies only with --percolation-features (it is the old "
                             "name of --n-features)")
        if getattr(args, "n_features", args.k_deprecated) != args.k_deprecated:
            raise ValueError(f"--n-features {args.n_features} differs from --k "
                             f"{args.k_deprecated} (the option's old name); give one")
        overrides["n_features"] = args.k_deprecated
    return settings.from_arguments(ToyConfig, args, **overrides)


def _train_toy(args) -> int:
    from percolation_tms import _progress
    from percolation_tms.toymodels.results import save_run
    from percolation_tms.toymodels.train import train_toy

    config = toy_config_from_arguments(args)
    paths = settings.resolve_outputs(args, filenames.TOY_RUN_FILES)
    run = train_toy(config)
    measurements = save_run(run, paths)
    grid = run.instances
    for inst in range(len(grid.model_seed)):
        _progress.log(f"instance {inst}: sparsity {grid.sparsity[inst]:.4g}, model seed "
                      f"{grid.model_seed[inst]}, importance {grid.importance_label[inst]}: "
                      f"held-out loss {run.result.eval_loss[inst]:.3e}, "
                      f"{int(measurements.represented[inst].sum())} of {config.n_features} "
                      f"features represented")
    _progress.log(f"wrote run {config.run_id}: " + ", ".join(str(p) for p in paths.values()))
    return 0


def _phase_diagram(args) -> int:
    from percolation_tms import _progress
    from percolation_tms.toymodels.phase import CANDIDATE_NAMES, phase_diagram

    config = settings.from_arguments(PhaseDiagramConfig, args)
    path = settings.resolve_outputs(args, PHASE_DIAGRAM_FILES)["phase_diagram"]
    diagram = phase_diagram(config)
    diagram.save(path)
    for r, s, got, want in zip(diagram.trained_importance_ratio, diagram.trained_sparsity,
                               diagram.trained_phase, diagram.predicted_phase):
        _progress.log(f"r = {r:g}, S = {s:g}: predicted {CANDIDATE_NAMES[want]}, trained "
                      f"{CANDIDATE_NAMES[got] if got >= 0 else 'unclassified'}")
    _progress.log(f"wrote {path}")
    return 0
