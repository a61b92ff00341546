"""Tables and arrays of the basin commands (``docs/file-formats.md``, "Basins"), and the
experiments' summaries (spec section 7): cutoff slopes, k-gon frequencies.

Every row carries what it describes: the instance (index, model kind, sparsity, seed, sizes,
features represented, polygon) and the settings behind the number.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from percolation_tms import _progress
from percolation_tms.basins.config import BasinConfig, LLCConfig
from percolation_tms.basins.toy import (
    ToyCost,
    ToyInstance,
    load_instance,
    run_size,
    toy_basin_volume,
    toy_llc,
    unflatten,
)
from percolation_tms.settings import to_dict

# Polygon of an m = 2 solution: k represented features whose directions are within this
# fraction of 2 pi / k of evenly spaced.
REGULAR_TOLERANCE = 0.25


def classify_polygon(W: np.ndarray, represented: np.ndarray) -> tuple[int, bool]:
    """(k, regular) of the m = 2 weights W (2, n): k represented features, regular when the
    angles between consecutive represented directions are all 2 pi / k within 25 %."""
    k = int(represented.sum())
    if W.shape[0] != 2 or k < 2:
        return k, False
    angles = np.sort(np.arctan2(W[1, represented], W[0, represented]))
    gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * np.pi]))
    ideal = 2 * np.pi / k
    return k, bool(np.all(np.abs(gaps - ideal) <= REGULAR_TOLERANCE * ideal))


def instance_columns(inst: ToyInstance) -> dict:
    """The columns that say which instance a row describes, and what it has learnt."""
    from percolation_tms.toymodels import measure_weights

    W, b, W_dec = unflatten(inst.model, inst.anchor, inst.n_features, inst.n_hidden)
    meas = measure_weights(W[None], b[None], None if W_dec is None else W_dec[None])
    represented = meas.represented[0]
    k, regular = classify_polygon(W, represented)
    return {"instance": inst.instance, "model": inst.model, "sparsity": inst.sparsity,
            "seed": inst.seed, "importance_setting": inst.importance_setting,
            "n_features": inst.n_features, "n_hidden": inst.n_hidden,
            "n_params": inst.n_params, "features_represented": int(represented.sum()),
            "dims_per_feature": float(meas.dims_per_feature[0]), "polygon_k": k,
            "polygon_regular": regular}


def _instances(run, chosen: tuple[int, ...]) -> list[int]:
    count = run_size(run)
    for index in chosen:
        if not 0 <= index < count:
            raise ValueError(f"instance index {index} out of range: the run has {count} "
                             f"instances (0 .. {count - 1})")
    return list(chosen) if chosen else list(range(count))


def _slope(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 2 or not np.all(np.isfinite(y)):
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def basin_volumes(run, config: BasinConfig, progress: bool = True
                  ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(volumes table, slopes table, ray arrays) of the chosen instances of a run."""
    chosen = _instances(run, config.instances)
    for index in chosen:  # every anchor checked before any work
        load_instance(run, index)
    rows, slopes = [], []
    arrays = {key: [] for key in ("instance", "cutoff_rel", "radius", "capped", "nonmonotone",
                                  "log_prob", "log_volume")}
    for number, index in enumerate(chosen):
        inst = load_instance(run, index)
        cost = ToyCost(inst, config.cost, config.eval_samples)
        basins = toy_basin_volume(run, index, config, cost=cost)
        common = instance_columns(inst)
        for basin in basins:
            g, u = basin.gaussian, basin.uniform
            rows.append({
                **common, "cost": config.cost, "cutoff_rel": basin.cutoff_rel,
                "cutoff": basin.cutoff, "anchor_loss": basin.anchor_loss,
                "eval_samples": basin.eval_samples, "sigma": basin.sigma,
                "preconditioner": config.preconditioner, "n_directions": config.n_directions,
                "direction_seed": config.seed,
                "log_prob": g.log_mean_exp, "log_prob_low": g.interval[0],
                "log_prob_high": g.interval[1], "log_prob_mean_log": g.mean_log,
                "log_prob_std_log": g.std_log, "log_prob_max_log": g.max_log,
                "log_prob_ess": g.ess, "log_prob_soft_lower_bound": g.soft_lower_bound,
                "log_prior_at_anchor": g.log_prior_at_anchor,
                "log_volume": u.log_mean_exp, "log_volume_low": u.interval[0],
                "log_volume_high": u.interval[1], "log_volume_mean_log": u.mean_log,
                "log_volume_std_log": u.std_log, "log_volume_ess": u.ess,
                "log_density_ratio": basin.log_density_ratio, "plateau": g.plateau,
                "near_plateau": g.near_plateau, "capped_fraction": g.capped_fraction,
                "nonmonotone_fraction": g.nonmonotone_fraction,
                "cost_evaluations": basin.rays.n_evaluations})
            arrays["instance"].append(index)
            arrays["cutoff_rel"].append(basin.cutoff_rel)
            arrays["radius"].append(basin.rays.radius)
            arrays["capped"].append(basin.rays.capped)
            arrays["nonmonotone"].append(basin.rays.nonmonotone)
            arrays["log_prob"].append(g.estimates)
            arrays["log_volume"].append(u.estimates)
        log_eps = [math.log(b.cutoff) for b in basins]
        slopes.append({**common, "cost": config.cost, "n_cutoffs": len(basins),
                       "cutoff_rel_min": min(config.cutoff_rel),
                       "cutoff_rel_max": max(config.cutoff_rel), "half_dim": inst.n_params / 2,
                       "slope_log_prob": _slope(log_eps, [b.gaussian.log_mean_exp
                                                          for b in basins]),
                       "slope_log_volume": _slope(log_eps, [b.uniform.log_mean_exp
                                                            for b in basins]),
                       "slope_log_volume_mean_log": _slope(log_eps, [b.uniform.mean_log
                                                                     for b in basins])})
        if progress:
            b = basins[0]
            _progress.log(f"instance {index} ({number + 1}/{len(chosen)}): {inst.model}, S = "
                          f"{inst.sparsity:g}, seed {inst.seed}: ln P = "
                          f"{b.gaussian.log_mean_exp:.2f} [{b.gaussian.interval[0]:.2f}, "
                          f"{b.gaussian.interval[1]:.2f}], ln Vol = {b.uniform.log_mean_exp:.2f}"
                          f", ESS {b.gaussian.ess:.1f}, capped {b.gaussian.capped_fraction:.3f}"
                          f" ({len(basins)} cutoff(s))")
    packed = {key: np.asarray(value) for key, value in arrays.items()}
    packed["config"] = np.asarray(json.dumps(to_dict(config)))
    return pd.DataFrame(rows), pd.DataFrame(slopes), packed


def llc_estimates(run, config: LLCConfig, progress: bool = True) -> tuple[pd.DataFrame, dict]:
    """(LLC table, per-chain arrays) of the chosen instances of a run."""
    chosen = _instances(run, config.instances)
    for index in chosen:
        load_instance(run, index)
    rows = []
    arrays = {"instance": [], "llc_per_chain": [], "loss_traces": [], "init_loss": []}
    for number, index in enumerate(chosen):
        inst = load_instance(run, index)
        cost = ToyCost(inst, config.cost, config.eval_samples)
        result = toy_llc(run, index, config, cost=cost)
        est = result.estimate
        rows.append({**instance_columns(inst), "cost": config.cost,
                     "eval_samples": cost.n_samples, "nbeta": est.nbeta,
                     "localization": est.localization, "step_size": est.step_size,
                     "n_chains": config.n_chains, "n_burnin": est.n_burnin,
                     "n_draws": est.n_draws, "draw_every": est.draw_every, "seed_sgld": est.seed,
                     "init_loss": est.init_loss, "llc_mean": est.llc_mean,
                     "llc_std": est.llc_std,
                     "llc_sem": est.llc_std / math.sqrt(config.n_chains),
                     "llc_quadratic": result.quadratic_expectation,
                     "llc_quadratic_posterior": result.exact_posterior_quadratic,
                     "max_curvature": result.max_curvature,
                     # stable for epsilon (n beta h_max + gamma) < 4 (spec 5.3)
                     "stability": est.step_size * (est.nbeta * result.max_curvature
                                                   + est.localization),
                     "half_dim": inst.n_params / 2,
                     "negative_chains": int(est.negative.sum()), "nonfinite": est.nonfinite,
                     "rising": est.rising})
        arrays["instance"].append(index)
        arrays["llc_per_chain"].append(est.llc_per_chain)
        arrays["loss_traces"].append(est.loss_traces)
        arrays["init_loss"].append(est.init_loss)
        if progress:
            _progress.log(f"instance {index} ({number + 1}/{len(chosen)}): {inst.model}, S = "
                          f"{inst.sparsity:g}, seed {inst.seed}: LLC {est.llc_mean:.3f} +- "
                          f"{est.llc_std:.3f} (D/2 = {inst.n_params / 2:g})"
                          f"{', still rising' if est.rising else ''}")
    packed = {key: np.asarray(value) for key, value in arrays.items()}
    packed["config"] = np.asarray(json.dumps(to_dict(config)))
    return pd.DataFrame(rows), packed


KGON_COLUMNS = ("model", "sparsity", "n_features", "polygon_k", "count", "frequency",
                "log_frequency_ratio", "log_prob_mean", "log_prob_sem", "log_prob_diff",
                "log_volume_mean", "log_volume_sem", "llc_mean", "llc_sem", "llc_diff",
                "regular_fraction")


def kgon_table(volumes: pd.DataFrame, llc: pd.DataFrame) -> pd.DataFrame:
    """Competing k-gons (spec 7.2): per (model, sparsity) and polygon k, the count and
    frequency of the instances that ended as a k-gon, their mean ln P, ln Vol and LLC; the
    differences are against the most frequent k of the same sparsity."""
    need = {"instance", "polygon_k", "log_prob", "log_volume", "sparsity", "model"}
    if not need <= set(volumes.columns):
        raise ValueError(f"volumes table lacks columns {sorted(need - set(volumes.columns))}")
    if not {"instance", "llc_mean"} <= set(llc.columns):
        raise ValueError("llc table lacks the instance and llc_mean columns")
    if volumes["cutoff_rel"].nunique() > 1:
        raise ValueError("the volumes table holds several cutoffs: give one cutoff")
    merged = volumes.merge(llc[["instance", "llc_mean"]], on="instance", how="left")
    frames = []
    for (model, sparsity), group in merged.groupby(["model", "sparsity"], sort=True):
        total = len(group)
        stats = []
        for k, part in group.groupby("polygon_k", sort=True):
            n = len(part)

            def sem(column, part=part, n=n):
                return float(part[column].std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
            stats.append({"model": model, "sparsity": sparsity,
                          "n_features": int(part["n_features"].iloc[0]), "polygon_k": int(k),
                          "count": n, "frequency": n / total,
                          "log_prob_mean": float(part["log_prob"].mean()),
                          "log_prob_sem": sem("log_prob"),
                          "log_volume_mean": float(part["log_volume"].mean()),
                          "log_volume_sem": sem("log_volume"),
                          "llc_mean": float(part["llc_mean"].mean()), "llc_sem": sem("llc_mean"),
                          "regular_fraction": float(part["polygon_regular"].mean())})
        table = pd.DataFrame(stats)
        top = table.loc[table["count"].idxmax()]
        table["log_frequency_ratio"] = np.log(table["frequency"] / top["frequency"])
        table["log_prob_diff"] = table["log_prob_mean"] - top["log_prob_mean"]
        table["llc_diff"] = table["llc_mean"] - top["llc_mean"]
        frames.append(table)
    return pd.concat(frames, ignore_index=True)[list(KGON_COLUMNS)]
