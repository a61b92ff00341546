"""A sweep over (n, m/n, p, seed): trained models, rugs and the Gaussian limit, as tidy tables.

``run_sweep(config)`` returns a :class:`Sweep`; ``save_sweep`` writes its four files (the
results table, the theory curves, the weights and the config).  One row of ``table`` per
(kind, n, m, p, seed); theory rows do not depend on a seed (seed -1).
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np
import pandas as pd

from percolation_tms import _progress, io, settings
from percolation_tms.persianrug import config as cfg
from percolation_tms.persianrug import rug as rug_module
from percolation_tms.persianrug import stats, theory
from percolation_tms.persianrug.train import train_large

COLUMNS = ("kind", "model_id", "n", "m", "ratio", "ratio_target", "p", "seed", "loss",
           "loss_se", "loss_last_batch", "eval_samples", "steps", "a", "b", "c",
           "includes_row0", "rug_draw", "fit_loss", "gaussian_limit", "linear_optimum",
           "linear_public", "high_sparsity", "elementwise_floor") + stats.STATISTICS
CURVE_POINTS = 61  # points of each theory curve


class Sweep(NamedTuple):
    """table : one row per model (``COLUMNS``); curves : the theory on fine grids (columns
    curve, p, ratio, gaussian_limit, linear_optimum, high_sparsity); arrays : weights by
    ``<model_id>.<name>``; config : the sweep's settings."""

    table: pd.DataFrame
    curves: pd.DataFrame
    arrays: dict
    config: cfg.PersianRugConfig


def _theory_columns(n, m, p) -> dict:
    return {"gaussian_limit": float(theory.gaussian_limit_loss(n, m, p)),
            "linear_optimum": float(theory.linear_optimum_loss(n, m, p)),
            "linear_public": float(theory.public_linear_loss(n, m, p)),
            "high_sparsity": float(theory.high_sparsity_loss(n, m, p)),
            "elementwise_floor": float(theory.elementwise_floor(n, m, p))}


def _empty_row() -> dict:
    row = {name: np.nan for name in COLUMNS}
    row.update(includes_row0="", model_id="", steps=0, rug_draw=-1)
    return row


def run_sweep(config: cfg.PersianRugConfig) -> Sweep:
    """Train, fit and evaluate every model of the sweep (progress on stderr)."""
    rows: list[dict] = []
    arrays: dict[str, np.ndarray] = {}
    if "trained" in config.kinds:
        cells = config.cells("trained")
        for k, (n, m, target, p) in enumerate(cells):
            for seed in config.seeds:
                model_id = f"trained_{len(rows):04d}"
                with _progress.stage(f"trained {k + 1}/{len(cells)}: n = {n}, m = {m}, "
                                     f"p = {p:g}, seed {seed}"):
                    model = train_large(
                        n, m, p, seed=seed, steps=config.steps, batch_size=config.batch_size,
                        schedule=config.schedule, lr_scale=config.lr_scale,
                        beta1=config.beta1, beta2=config.beta2, eps=config.eps,
                        dtype=config.dtype, eval_samples=config.eval_samples,
                        eval_seed=config.eval_seed)
                W = model.W_out.astype(np.float64) @ model.W_in.astype(np.float64)
                st = stats.weight_statistics(W, model.b, p, ks_samples=config.ks_samples,
                                             eval_seed=config.eval_seed)
                row = _empty_row()
                row.update(kind="trained", model_id=model_id, n=n, m=m, ratio=m / n,
                           ratio_target=target, p=p, seed=seed, loss=model.loss,
                           loss_se=model.loss_se, loss_last_batch=model.loss_last_batch,
                           eval_samples=model.eval_samples, steps=model.steps,
                           **_theory_columns(n, m, p), **st._asdict())
                rows.append(row)
                arrays[f"{model_id}.W_in"] = model.W_in
                arrays[f"{model_id}.W_out"] = model.W_out
                arrays[f"{model_id}.b"] = model.b
                arrays[f"{model_id}.history"] = model.history
                _progress.log(f"  loss {model.loss:.4e} (rug limit "
                              f"{row['gaussian_limit']:.4e}, linear "
                              f"{row['linear_optimum']:.4e})")
    if "rug" in config.kinds:
        cells = config.cells("rug")
        for k, (n, m, target, p) in enumerate(cells):
            for seed in config.seeds:
                model_id = f"rug_{len(rows):04d}"
                with _progress.stage(f"rug {k + 1}/{len(cells)}: n = {n}, m = {m}, "
                                     f"p = {p:g}, seed {seed}"):
                    fit = rug_module.fit_persian_rug(
                        n, m, p, seed=seed, samples=config.eval_samples,
                        draws=config.rug_draws, method=config.rug_fit,
                        fit_entries=config.fit_entries, eval_seed=config.eval_seed)
                kernel = rug_module.rug_kernel(n, fit.rows)
                st = stats.rug_statistics(kernel, fit.a, fit.b, p,
                                          ks_samples=config.ks_samples,
                                          eval_seed=config.eval_seed)
                row = _empty_row()
                row.update(kind="rug", model_id=model_id, n=n, m=m, ratio=m / n,
                           ratio_target=target, p=p, seed=seed, loss=fit.loss,
                           loss_se=fit.loss_se, loss_last_batch=fit.loss_last_batch,
                           eval_samples=fit.eval_samples, a=fit.a, b=fit.b, c=fit.c,
                           includes_row0=fit.includes_row0, rug_draw=fit.draw,
                           fit_loss=fit.fit_loss, **_theory_columns(n, m, p), **st._asdict())
                rows.append(row)
                arrays[f"{model_id}.rows"] = fit.rows
                arrays[f"{model_id}.a"] = np.float64(fit.a)
                arrays[f"{model_id}.b"] = np.float64(fit.b)
                _progress.log(f"  loss {fit.loss:.4e} (Gaussian limit "
                              f"{row['gaussian_limit']:.4e})")
    if "theory" in config.kinds:
        for n, m, target, p in config.cells("theory"):
            limit = theory.gaussian_limit(n, m, p)
            row = _empty_row()
            row.update(kind="theory", n=n, m=m, ratio=m / n, ratio_target=target, p=p, seed=-1,
                       loss=limit.loss, a=limit.a, c=limit.c, **_theory_columns(n, m, p))
            rows.append(row)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return Sweep(table=table, curves=theory_curves(config), arrays=arrays, config=config)


def theory_curves(config: cfg.PersianRugConfig) -> pd.DataFrame:
    """The Gaussian limit, the linear optimum and the high-sparsity law on fine grids: against
    m/n at every p of the config (``curve = "vs_ratio"``) and against p at every ratio
    (``"vs_p"``).  The limit depends on n, m only through n/m (n = 2^20 here)."""
    big = 2**20
    ratios = np.unique(np.concatenate([np.geomspace(min(config.ratios) / 4, 1.0, CURVE_POINTS),
                                       np.asarray(config.ratios, dtype=np.float64)]))
    ps = np.unique(np.concatenate([np.geomspace(min(config.probabilities) / 4, 1.0,
                                                CURVE_POINTS),
                                   np.asarray(config.probabilities, dtype=np.float64)]))
    parts = []
    for curve, r_grid, p_grid in (
            ("vs_ratio", *np.meshgrid(ratios, np.asarray(config.probabilities))),
            ("vs_p", *np.meshgrid(np.asarray(config.ratios), ps))):
        r_flat, p_flat = r_grid.ravel(), p_grid.ravel()
        m = np.maximum(1, np.round(r_flat * big))
        parts.append(pd.DataFrame({
            "curve": curve, "p": p_flat, "ratio": r_flat,
            "gaussian_limit": np.asarray(theory.gaussian_limit_loss(big, m, p_flat)),
            "linear_optimum": np.asarray(theory.linear_optimum_loss(big, m, p_flat)),
            "high_sparsity": np.asarray(theory.high_sparsity_loss(big, m, p_flat))}))
    return pd.concat(parts, ignore_index=True)


def save_sweep(sweep: Sweep, paths: dict[str, os.PathLike]) -> None:
    """Write ``paths["results"]`` (CSV), ``["curves"]`` (CSV), ``["weights"]`` (.npz) and
    ``["config"]`` (JSON), each atomically."""
    io.write_csv(paths["results"], sweep.table)
    io.write_csv(paths["curves"], sweep.curves)
    io.save_arrays(paths["weights"], **sweep.arrays)
    io.write_json(paths["config"], {"stage": "persianrug",
                                    "config": settings.to_dict(sweep.config)})
