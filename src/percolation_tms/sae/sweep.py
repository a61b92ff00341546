"""Sweeps: one SAE per setting, each encoded and scored, collected in tidy tables."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from percolation_tms import _progress
from percolation_tms.sae.config import SAEConfig
from percolation_tms.sae.metrics import (
    absorption_activation,
    absorption_by_depth,
    absorption_ground_truth,
    latent_detection,
    match_dictionary,
)
from percolation_tms.sae.score import (
    FeatureSet,
    mean_max_cosine_similarity,
    score_features,
    summarize,
)
from percolation_tms.sae.train import SAETrainResult, encode, train_sae

# The columns naming a sweep point, first in every table.
POINT_COLUMNS = ("point", "kind", "dict_ratio", "n_latents", "l1", "k", "l0_coefficient")
# Scoring logs its steps when points x latents reach this (about ten seconds of encoding).
LOG_SCORING_SIZE = 10**9


@dataclass(frozen=True)
class SweepResult:
    """configs and results (P,) in sweep order, and the tables written to disk:

    metrics       one row per sweep point (columns in ``docs/file-formats.md``);
    recovery      one row per (sweep point, scored feature), or None without features;
    by_depth, by_frequency   one row per (sweep point, group), or None without features;
    absorption    one row per (sweep point, parent-child pair), or None without a hierarchy;
    absorption_by_depth   one row per (sweep point, parent depth, child size band), or None.
    """

    configs: list[SAEConfig]
    results: list[SAETrainResult]
    metrics: pd.DataFrame
    recovery: pd.DataFrame | None
    by_depth: pd.DataFrame | None
    by_frequency: pd.DataFrame | None
    absorption: pd.DataFrame | None = None
    absorption_by_depth: pd.DataFrame | None = None


@dataclass(frozen=True)
class KnownTruth:
    """The ground truth of known-dictionary data: dictionary (F, d) unit rows, coefficients
    sparse (n, F), parent and depth int64 (F,) (-1: none; all -1 for flat data)."""

    dictionary: np.ndarray
    coefficients: object
    parent: np.ndarray
    depth: np.ndarray


def run_sweep(X: np.ndarray, configs: list[SAEConfig], features: FeatureSet | None = None,
              dictionary: np.ndarray | None = None, feature_parent: np.ndarray | None = None,
              truth: KnownTruth | None = None) -> SweepResult:
    """Train every config on the points X (n, d), encode X, and score.

    Parameters
    ----------
    X : (n, d) points.
    configs : the sweep's SAEs.
    features : ground-truth point sets (activation-space recovery), optional.
    dictionary : (n_true, d) known directions (MMCS), optional (``truth.dictionary`` when
        ``truth`` is given).
    feature_parent : int64 (L,) position in ``features`` of each feature's parent (-1: none
        scored): activation-space absorption.
    truth : known-dictionary ground truth: MCC, latent F1, ground-truth absorption.
    """
    if truth is not None and dictionary is None:
        dictionary = truth.dictionary
    if not configs:
        raise ValueError("the sweep needs at least one configuration")
    results, metric_rows, recovery, by_depth, by_frequency = [], [], [], [], []
    absorption, absorption_depth = [], []
    for point, config in enumerate(configs):
        label = _label(config)
        with _progress.stage(f"sweep point {point + 1}/{len(configs)} ({label})"):
            result = train_sae(X, config, log_prefix=f"[{point + 1}/{len(configs)}] ")
        results.append(result)
        sae = result.sae
        ident = {"point": point, "kind": config.kind, "dict_ratio": config.dict_ratio,
                 "n_latents": sae.n_latents, "l1": config.l1, "k": config.k,
                 "l0_coefficient": config.l0_coefficient}
        settings_row = {"seed": config.seed, "epochs": config.epochs,
                            "batch_size": config.batch_size, "lr": config.lr,
                            "standardize": config.standardize,
                            "final_loss": float(result.epoch_loss[-1])}
        scored = score_sae(sae, X, ident, settings_row, features, dictionary, feature_parent,
                           truth)
        row = scored.metrics
        for store, table in ((recovery, scored.recovery), (by_depth, scored.by_depth),
                             (by_frequency, scored.by_frequency),
                             (absorption, scored.absorption),
                             (absorption_depth, scored.absorption_by_depth)):
            if table is not None:
                store.append(table)
        metric_rows.append(row)
        _progress.log(f"sweep point {point + 1}: fvu {row['fvu']:.3f}, L0 {row['mean_l0']:.1f}"
                      + (f", mean pearson {row['mean_pearson']:.3f}" if features else "")
                      + (f", mmcs {row['mmcs']:.3f}" if dictionary is not None else ""))
    return SweepResult(list(configs), results, pd.DataFrame(metric_rows), _concat(recovery),
                       _concat(by_depth), _concat(by_frequency), _concat(absorption),
                       _concat(absorption_depth))


@dataclass(frozen=True)
class ScoredSAE:
    """The scores of one SAE: ``metrics`` one row (a dict); the tables of one sweep point
    (None when not computed)."""

    metrics: dict
    recovery: pd.DataFrame | None
    by_depth: pd.DataFrame | None
    by_frequency: pd.DataFrame | None
    absorption: pd.DataFrame | None
    absorption_by_depth: pd.DataFrame | None


def score_sae(sae, X: np.ndarray, ident: dict, settings_row: dict | None = None,
              features: FeatureSet | None = None, dictionary: np.ndarray | None = None,
              feature_parent: np.ndarray | None = None, truth: KnownTruth | None = None
              ) -> ScoredSAE:
    """Encode X with ``sae`` and score it (the scoring of :func:`run_sweep`, also used by
    ``score-sae`` for SAEs trained elsewhere).  ``ident`` leads every row; ``settings_row``
    follows it in the metrics."""
    settings_row = settings_row or {}
    if truth is not None and dictionary is None:
        dictionary = truth.dictionary
    large = X.shape[0] * sae.n_latents >= LOG_SCORING_SIZE

    def step(name):
        return _progress.stage(name) if large else contextlib.nullcontext()

    with step(f"encoding {X.shape[0]:,} points with {sae.n_latents:,} latents"):
        encoding = encode(sae, X)
    tables = {}
    active_latents = np.unique(encoding.activations.indices).size
    row = dict(ident, **settings_row, mse=float(encoding.sq_err.mean()), fvu=encoding.fvu,
               mean_l0=encoding.mean_l0, dead_fraction=1.0 - active_latents / sae.n_latents,
               explained_variance=1.0 - encoding.fvu)
    per_feature = {}
    if features is not None:
        with step(f"recovery of {features.column.size:,} features"):
            match = score_features(encoding.activations, features)
        pearson = match.pearson[np.isfinite(match.pearson)]
        row.update(n_scored_features=int(features.column.size),
                   mean_pearson=float(pearson.mean()) if pearson.size else float("nan"),
                   mean_f1=float(match.f1.mean()), mean_f1_max=float(match.f1_max.mean()))
        per_feature = {"feature": features.column, "depth": features.depth,
                       "n_points": features.n_points, "best_latent": match.best_latent,
                       "pearson": match.pearson, "f1": match.f1,
                       "f1_latent": match.f1_latent, "f1_max": match.f1_max}
        tables["by_depth"] = _with_point(summarize(match, features, "depth"), ident)
        tables["by_frequency"] = _with_point(summarize(match, features, "frequency"),
                                             ident)
        if feature_parent is not None:
            with step("absorption in activation space"):
                pairs = absorption_activation(encoding.activations, features, feature_parent,
                                              match.best_latent)
            row["mean_absorption"] = (float(pairs["absorption"].mean()) if len(pairs)
                                      else float("nan"))
            depth_table = absorption_by_depth(pairs)
            if truth is not None:
                with step("ground-truth absorption"):
                    pairs, depth_table = _with_ground_truth(
                        pairs, depth_table, row, X, sae, encoding, truth, features, match)
            tables["absorption"] = _with_point(pairs, ident)
            tables["absorption_by_depth"] = _with_point(depth_table, ident)
    if dictionary is not None:
        cosine = mean_max_cosine_similarity(dictionary, sae.W_dec)
        row["mmcs"] = cosine.mmcs
        if truth is not None:
            with step("MCC (one-to-one matching) and latent F1"):
                matched = match_dictionary(truth.dictionary, sae.W_dec)
                detection = latent_detection(encoding.activations, truth.coefficients,
                                             matched.matched_feature)
            precision, recall, f1 = detection.mean
            row.update(mcc=matched.mcc, uniqueness=matched.uniqueness,
                       latent_precision=precision, latent_recall=recall, latent_f1=f1)
        if features is not None and features.column.size == cosine.cosine.size:
            # Known-dictionary data: feature i is direction i, so show both scores per row.
            per_feature.update(best_atom=cosine.best_atom[features.column],
                               max_cosine=cosine.cosine[features.column])
    if per_feature:
        tables["recovery"] = _with_point(pd.DataFrame(per_feature), ident)
    return ScoredSAE(row, tables.get("recovery"), tables.get("by_depth"),
                     tables.get("by_frequency"), tables.get("absorption"),
                     tables.get("absorption_by_depth"))


def _with_ground_truth(pairs, depth_table, row, X, sae, encoding, truth, features, match):
    """Add the ground-truth absorption (3.5) to the pair and depth tables and the metrics."""
    main = np.full(truth.parent.size, -1, dtype=np.int64)
    main[features.column] = match.best_latent
    x = sae.standardized(X)
    gt = absorption_ground_truth(x, sae.params.b_dec, encoding.activations, sae.params.atoms,
                                 truth.dictionary, truth.coefficients, truth.parent,
                                 truth.depth, np.where(main >= 0, main, 0))
    per_pair = gt[gt["child"] >= 0].rename(columns={
        "n_rows": "gt_rows", "mean_fraction": "gt_fraction", "full_rate": "gt_full_rate"})
    pairs = pairs.merge(per_pair[["parent", "child", "gt_rows", "gt_fraction",
                                  "gt_full_rate"]], on=["parent", "child"], how="left")
    per_parent = gt[gt["child"] < 0]
    row["absorption_fraction"] = float(per_parent["mean_fraction"].mean())
    row["full_absorption"] = float(per_parent["full_rate"].mean())
    by_depth = per_parent.groupby("parent_depth").agg(
        gt_parent_fraction=("mean_fraction", "mean"),
        gt_parent_full=("full_rate", "mean")).reset_index()
    by_depth["size_band"] = "all"
    depth_table = depth_table.merge(by_depth, on=["parent_depth", "size_band"], how="left")
    return pairs, depth_table


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame | None:
    return pd.concat(frames, ignore_index=True) if frames else None


def _label(config: SAEConfig) -> str:
    return f"{config.kind}, dict_ratio {config.dict_ratio:g}, {config.sparsity_label()}"


def _with_point(frame: pd.DataFrame, ident: dict) -> pd.DataFrame:
    """``frame`` with the sweep point's identifying columns in front."""
    front = pd.DataFrame({key: [value] * len(frame) for key, value in ident.items()})
    return pd.concat([front, frame.reset_index(drop=True)], axis=1)
