"""Commands ``train-sae`` (a sweep on a dataset, scored against its ground-truth hierarchy),
``sae-synthetic`` (a sweep on data with a known flat or hierarchical dictionary) and
``score-sae`` (score an SAE trained elsewhere, e.g. a SAELens folder).  Options are built
from the config dataclasses (``percolation_tms.settings``); every output file has its own
option (``--out DIR`` fills in the default names).  Files: ``docs/file-formats.md``."""

from __future__ import annotations

from dataclasses import dataclass

from percolation_tms import _progress, settings
from percolation_tms.filenames import SAE_DICTIONARY, SAE_SCORE_FILES, SAE_SWEEP_FILES
from percolation_tms.settings import setting

SWEPT = ("dict_ratio", "l1", "k", "l0_coefficient")  # SAEConfig fields a sweep varies


@dataclass(frozen=True)
class ScoringConfig:
    """Which ground-truth features of a dataset are scored."""

    min_feature_points: int = setting(1, "score only features covering at least this many "
                                         "points")
    max_features: int | None = setting(None, "score at most this many features (after "
                                             "--min-feature-points; none: all)")
    feature_order: str = setting("first", "which features --max-features keeps: the first "
                                          "columns (coarse latents of the largest clusters) "
                                          "or those covering most points",
                                 choices=("first", "frequent"))


def _training_options(parser, epochs_help: str | None = None) -> None:
    from percolation_tms.sae.config import SAEConfig, SweepConfig

    g = parser.add_argument_group("sparse autoencoders (one per dictionary size x l1, k or "
                                  "l0-coefficient)")
    settings.add_arguments(g, SweepConfig)
    settings.add_arguments(g, SAEConfig, help_overrides=(
        {"epochs": epochs_help} if epochs_help else None))


def register(subparsers) -> None:
    from percolation_tms.sae.config import HierarchyConfig, SyntheticConfig

    p = subparsers.add_parser(
        "train-sae", help="train sparse autoencoders on a dataset and score them against its "
                          "ground-truth features")
    p.add_argument("--dataset", required=True, metavar="DIR/<stem>.npz",
                   help="main file of a dataset; its _gt_features.npz and _graph.npz are read "
                        "from beside it")
    _training_options(p)
    settings.add_arguments(p.add_argument_group("scoring"), ScoringConfig)
    settings.add_outputs(p, SAE_SWEEP_FILES)
    p.set_defaults(func=_train_sae)

    p = subparsers.add_parser(
        "sae-synthetic", help="sparse autoencoders on data with a known (flat or "
                              "hierarchical) dictionary: MMCS, MCC, latent F1, absorption")
    settings.add_arguments(p.add_argument_group("synthetic data"), SyntheticConfig)
    settings.add_arguments(
        p.add_argument_group("hierarchical data (--structure hierarchical)"), HierarchyConfig,
        exclude=("n_samples", "dim", "n_features", "data_seed"))
    _training_options(p, epochs_help="passes over the points (default: 20)")
    settings.add_outputs(p, {**SAE_SWEEP_FILES, "dictionary": SAE_DICTIONARY})
    p.set_defaults(func=_sae_synthetic)

    p = subparsers.add_parser(
        "score-sae", help="score an SAE trained elsewhere (a SAELens folder, or one point of "
                          "a weights.npz) against a dataset's ground-truth features")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--saelens", metavar="DIR",
                        help="a SAELens folder (cfg.json + sae_weights.safetensors)")
    source.add_argument("--weights", metavar="FILE", help="a weights.npz of train-sae")
    p.add_argument("--point", type=int, default=0, help="sweep point of --weights (default 0)")
    p.add_argument("--dataset", required=True, metavar="DIR/<stem>.npz",
                   help="main file of a dataset (its _gt_features.npz and _graph.npz beside)")
    settings.add_arguments(p.add_argument_group("scoring"), ScoringConfig)
    settings.add_outputs(p, SAE_SCORE_FILES)
    p.set_defaults(func=_score_sae)


def _configs(args, epochs_default: int | None = None):
    from percolation_tms.sae.config import SAEConfig, SweepConfig, sweep_configs

    sweep = settings.from_arguments(SweepConfig, args)
    kind = getattr(args, "kind", "relu")
    if kind == "relu" and not sweep.l1:
        raise ValueError("kind relu sweeps the L1 coefficient: give --l1 (e.g. --l1 1,2,4)")
    if kind in ("topk", "batchtopk", "matryoshka") and not sweep.k:
        raise ValueError(f"kind {kind} sweeps k: give --k (e.g. --k 8,16,32)")
    if kind == "jumprelu" and not sweep.l0_coefficient:
        raise ValueError("kind jumprelu sweeps its L0 penalty: give --l0-coefficient (e.g. "
                         "--l0-coefficient 0.1,0.3)")
    overrides = {"dict_ratio": sweep.dict_ratios[0] if sweep.dict_ratios else 1.0}
    if kind == "relu":
        overrides["l1"] = sweep.l1[0]
    elif kind == "jumprelu":
        overrides["l0_coefficient"] = sweep.l0_coefficient[0]
    else:
        overrides["k"] = sweep.k[0]
    if epochs_default is not None and not hasattr(args, "epochs"):
        overrides["epochs"] = epochs_default
    values = {name: getattr(args, name) for name in vars(args) if name not in SWEPT}
    base = settings.from_arguments(SAEConfig, _Namespace(values), **overrides)
    for name in ("l1", "k", "l0_coefficient"):
        if name != {"relu": "l1", "jumprelu": "l0_coefficient"}.get(kind, "k") and \
                getattr(sweep, name):
            what = "k values" if name == "k" else f"{name} values"
            owner = {"l1": "relu", "k": "topk", "l0_coefficient": "jumprelu"}[name]
            raise ValueError(f"{what} apply to kind '{owner}'; kind '{kind}' does not use "
                             "them")
    return sweep_configs(base, list(sweep.dict_ratios), sweep.l1, sweep.k,
                         sweep.l0_coefficient)


class _Namespace:
    def __init__(self, values):
        self.__dict__.update(values)


def _hierarchy_parents(features, parent_column):
    """feature_parent (L,): position of each scored feature's parent among the scored
    features, -1 when it has none or its parent is not scored."""
    import numpy as np

    position = np.full(parent_column.size, -1, dtype=np.int64)
    position[features.column] = np.arange(features.column.size)
    parent = parent_column[features.column]
    return np.where(parent >= 0, position[np.maximum(parent, 0)], -1).astype(np.int64)


def _dataset_features(dataset_path, scoring: ScoringConfig):
    """(data, features, feature_parent) of a percolation dataset."""
    import numpy as np

    from percolation_tms.dataset import load_dataset
    from percolation_tms.sae.score import select_features

    with _progress.stage(f"reading {dataset_path}"):
        data = load_dataset(dataset_path, need_graph=True)
    n, n_columns = data.features.shape
    depth = data.graph.depth[n:]
    if depth.shape[0] < n_columns:
        raise ValueError(f"the feature file has {n_columns} columns but the graph only "
                         f"{depth.shape[0]} latents")
    features = select_features(data.features, depth[:n_columns], scoring.min_feature_points,
                               scoring.max_features, scoring.feature_order)
    parent_node = data.graph.latent_parent[n:n + n_columns]
    parent_column = np.where(parent_node >= n, parent_node - n, -1).astype(np.int64)
    _progress.log(f"{n:,} points, d = {data.X.shape[1]}; scoring {features.column.size:,} of "
                  f"{n_columns:,} ground-truth features")
    return data, features, _hierarchy_parents(features, parent_column)


def _train_sae(args) -> None:
    from percolation_tms.sae import outputs
    from percolation_tms.sae.sweep import run_sweep

    configs = _configs(args)  # validate every setting before reading anything
    scoring = settings.from_arguments(ScoringConfig, args)
    paths = settings.resolve_outputs(args, SAE_SWEEP_FILES)
    data, features, feature_parent = _dataset_features(args.dataset, scoring)
    sweep = run_sweep(data.X, configs, features, feature_parent=feature_parent)
    info = {"data": {"dataset": str(args.dataset)}, "scoring": settings.to_dict(scoring)}
    for path in outputs.write_sweep(paths, sweep, info):
        _progress.log(f"wrote {path}")


def _sae_synthetic(args) -> None:
    import numpy as np

    from percolation_tms import io
    from percolation_tms.sae import outputs
    from percolation_tms.sae.config import HierarchyConfig, SyntheticConfig
    from percolation_tms.sae.hierarchy import make_hierarchical_data
    from percolation_tms.sae.score import select_features
    from percolation_tms.sae.sweep import KnownTruth, run_sweep
    from percolation_tms.sae.synthetic import make_known_dictionary_data

    configs = _configs(args, epochs_default=20)
    data_config = settings.from_arguments(SyntheticConfig, args)
    sizes = data_config.resolved()
    files = {**SAE_SWEEP_FILES, "dictionary": SAE_DICTIONARY}
    paths = settings.resolve_outputs(args, files)
    info_data = {"structure": data_config.structure, **sizes,
                 "data_seed": data_config.data_seed}
    if data_config.structure == "flat":
        info_data.update(mean_active=data_config.mean_active, decay=data_config.decay)
        with _progress.stage(f"sampling {sizes['n_samples']:,} points from "
                             f"{sizes['n_features']} directions in d = {sizes['dim']}"):
            data = make_known_dictionary_data(sizes["n_samples"], sizes["dim"],
                                              sizes["n_features"], data_config.mean_active,
                                              data_config.decay, data_config.data_seed)
        n_features = sizes["n_features"]
        parent = np.full(n_features, -1, dtype=np.int64)
        depth = np.full(n_features, -1, dtype=np.int64)
        hierarchy_arrays = {}
    else:
        hierarchy = settings.from_arguments(
            HierarchyConfig, args, data_seed=data_config.data_seed, **sizes)
        info_data["hierarchy"] = settings.to_dict(hierarchy)
        with _progress.stage(f"sampling {sizes['n_samples']:,} points from a hierarchical "
                             f"dictionary of {sizes['n_features']} directions"):
            data = make_hierarchical_data(hierarchy)
        parent, depth = data.parent, data.depth
        hierarchy_arrays = {"parent": data.parent, "depth": data.depth,
                            "exclusive": data.exclusive, "conditional": data.conditional}
    features = select_features(data.coefficients, depth)
    truth = KnownTruth(data.dictionary, data.coefficients, parent, depth)
    feature_parent = (_hierarchy_parents(features, parent)
                      if data_config.structure == "hierarchical" else None)
    sweep = run_sweep(data.X, configs, features, feature_parent=feature_parent, truth=truth)
    written = outputs.write_sweep(paths, sweep, {"data": {"synthetic": info_data}})
    io.save_arrays(paths["dictionary"], dictionary=data.dictionary,
                   probability=data.probability, **hierarchy_arrays)
    for path in written + [paths["dictionary"]]:
        _progress.log(f"wrote {path}")


def _score_sae(args) -> None:
    from percolation_tms.sae import outputs
    from percolation_tms.sae.saelens import read_saelens
    from percolation_tms.sae.sweep import score_sae

    scoring = settings.from_arguments(ScoringConfig, args)
    paths = settings.resolve_outputs(args, SAE_SCORE_FILES)
    if args.saelens is not None:
        sae = read_saelens(args.saelens)
        source = {"saelens": str(args.saelens)}
    else:
        saes = outputs.load_weights(args.weights)
        if not 0 <= args.point < len(saes):
            raise ValueError(f"--point {args.point} is not a sweep point of {args.weights} "
                             f"({len(saes)} points)")
        sae = saes[args.point]
        source = {"weights": str(args.weights), "point": args.point}
    data, features, feature_parent = _dataset_features(args.dataset, scoring)
    if data.X.shape[1] != sae.dim:
        raise ValueError(f"the SAE reads {sae.dim} inputs but the dataset has d = "
                         f"{data.X.shape[1]}")
    ident = {"source": next(iter(source.values())), "kind": sae.kind,
             "n_latents": sae.n_latents, "k": sae.top_k}
    scored = score_sae(sae, data.X, ident, None, features, feature_parent=feature_parent)
    import pandas as pd

    written = outputs.write_tables(paths, {
        "metrics": pd.DataFrame([scored.metrics]), "recovery": scored.recovery,
        "recovery_by_depth": scored.by_depth, "recovery_by_frequency": scored.by_frequency,
        "absorption": scored.absorption, "absorption_by_depth": scored.absorption_by_depth})
    for path in written:
        _progress.log(f"wrote {path}")
