"""Sweeps: one SAE per setting, each encoded and scored, collected in tidy tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from percolation_tms import _progress
from percolation_tms.sae.config import SAEConfig
from percolation_tms.sae.score import (
    FeatureSet,
    mean_max_cosine_similarity,
    score_features,
    summarize,
)
from percolation_tms.sae.train import TrainResult, encode, train_sae

# The columns naming a sweep point, first in every table.
POINT_COLUMNS = ("point", "kind", "dict_ratio", "n_latents", "l1", "k")


@dataclass(frozen=True)
class SweepResult:
    """configs and results (P,) in sweep order, and the tables written to disk:

    metrics       one row per sweep point (columns in ``docs/file-formats.md``);
    recovery      one row per (sweep point, scored feature), or None without features;
    by_depth, by_frequency   one row per (sweep point, group), or None without features.
    """

    configs: list[SAEConfig]
    results: list[TrainResult]
    metrics: pd.DataFrame
    recovery: pd.DataFrame | None
    by_depth: pd.DataFrame | None
    by_frequency: pd.DataFrame | None


def run_sweep(X: np.ndarray, configs: list[SAEConfig], features: FeatureSet | None = None,
              dictionary: np.ndarray | None = None) -> SweepResult:
    """Train every config on the points X (n, d), encode X, and score the activations against
    ``features`` (ground-truth point sets) and the decoder against ``dictionary`` (n_true, d)
    known directions, when given."""
    if not configs:
        raise ValueError("the sweep needs at least one configuration")
    results, metric_rows, recovery, by_depth, by_frequency = [], [], [], [], []
    for point, config in enumerate(configs):
        label = _label(config)
        with _progress.stage(f"sweep point {point + 1}/{len(configs)} ({label})"):
            result = train_sae(X, config, log_prefix=f"[{point + 1}/{len(configs)}] ")
            encoding = encode(result.sae, X)
        results.append(result)
        sae = result.sae
        active_latents = np.unique(encoding.activations.indices).size
        ident = {"point": point, "kind": config.kind, "dict_ratio": config.dict_ratio,
                 "n_latents": sae.n_latents, "l1": config.l1, "k": config.k}
        row = dict(ident, seed=config.seed, epochs=config.epochs, batch_size=config.batch_size,
                   lr=config.lr, standardize=config.standardize,
                   final_loss=float(result.epoch_loss[-1]),
                   mse=float(encoding.sq_err.mean()), fvu=encoding.fvu,
                   mean_l0=encoding.mean_l0, dead_fraction=1.0 - active_latents / sae.n_latents)
        per_feature = {}
        if features is not None:
            match = score_features(encoding.activations, features)
            pearson = match.pearson[np.isfinite(match.pearson)]
            row.update(n_scored_features=int(features.column.size),
                       mean_pearson=float(pearson.mean()) if pearson.size else float("nan"),
                       mean_f1=float(match.f1.mean()), mean_f1_max=float(match.f1_max.mean()))
            per_feature = {"feature": features.column, "depth": features.depth,
                           "n_points": features.n_points, "best_latent": match.best_latent,
                           "pearson": match.pearson, "f1": match.f1,
                           "f1_latent": match.f1_latent, "f1_max": match.f1_max}
            by_depth.append(_with_point(summarize(match, features, "depth"), ident))
            by_frequency.append(_with_point(summarize(match, features, "frequency"), ident))
        if dictionary is not None:
            cosine = mean_max_cosine_similarity(dictionary, sae.W_dec)
            row["mmcs"] = cosine.mmcs
            if features is not None and features.column.size == cosine.cosine.size:
                # Known-dictionary data: feature i is direction i, so show both scores per row.
                per_feature.update(best_atom=cosine.best_atom[features.column],
                                   max_cosine=cosine.cosine[features.column])
        if per_feature:
            recovery.append(_with_point(pd.DataFrame(per_feature), ident))
        metric_rows.append(row)
        _progress.log(f"sweep point {point + 1}: fvu {row['fvu']:.3f}, L0 {row['mean_l0']:.1f}"
                      + (f", mean pearson {row['mean_pearson']:.3f}" if features else "")
                      + (f", mmcs {row['mmcs']:.3f}" if dictionary is not None else ""))
    return SweepResult(list(configs), results, pd.DataFrame(metric_rows), _concat(recovery),
                       _concat(by_depth), _concat(by_frequency))


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame | None:
    return pd.concat(frames, ignore_index=True) if frames else None


def _label(config: SAEConfig) -> str:
    sparsity = f"l1 {config.l1:g}" if config.kind == "relu" else f"k {config.k}"
    return f"{config.kind}, dict_ratio {config.dict_ratio:g}, {sparsity}"


def _with_point(frame: pd.DataFrame, ident: dict) -> pd.DataFrame:
    """``frame`` with the sweep point's identifying columns in front."""
    front = pd.DataFrame({key: [value] * len(frame) for key, value in ident.items()})
    return pd.concat([front, frame.reset_index(drop=True)], axis=1)
