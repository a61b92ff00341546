"""Large-scale statistics of a model y = ReLU(W x + b) (specification section 8).

Per row i: d_i = W_ii, b_i, mu_i = (p/2) sum_{j != i} W_ij, sigma_i^2 = v sum_{j != i} W_ij^2;
their means and unbiased variances over rows; a KS test of the Gaussianity of nu_0 =
sum_{j != 0} W_0j x_j; and the Lyapunov ratio sum |W_ij|^3 / sum W_ij^2 (j != i) per row.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats as scipy_stats

from percolation_tms.persianrug import config as cfg
from percolation_tms.persianrug.data import PURPOSE_KS, sample_batch
from percolation_tms.persianrug.theory import variance

STATISTICS = ("diag_mean", "diag_var", "bias_mean", "bias_var", "interference_mean_mean",
              "interference_mean_var", "interference_var_mean", "interference_var_var",
              "ks_pvalue", "lyapunov_min", "lyapunov_mean", "lyapunov_max")


class WeightStatistics(NamedTuple):
    """The section 8 statistics (floats), in the order of ``STATISTICS``."""

    diag_mean: float
    diag_var: float
    bias_mean: float
    bias_var: float
    interference_mean_mean: float
    interference_mean_var: float
    interference_var_mean: float
    interference_var_var: float
    ks_pvalue: float
    lyapunov_min: float
    lyapunov_mean: float
    lyapunov_max: float


def _var(x: np.ndarray) -> float:
    return float(np.var(x, ddof=1)) if x.size > 1 else 0.0


def interference_samples(row: np.ndarray, p: float, *, samples: int = cfg.KS_SAMPLES,
                         eval_seed: int = cfg.EVAL_SEED, skip: int = 0) -> np.ndarray:
    """float64 (samples,): nu = sum_{j != skip} row_j x_j over fresh samples (stream
    (eval_seed, KS))."""
    n = row.shape[0]
    weights = np.asarray(row, dtype=np.float64).copy()
    weights[skip] = 0.0
    batch = sample_batch(eval_seed, PURPOSE_KS, 0, 0, samples, n, p, np.float64)
    mask = np.arange(batch.indices.shape[1])[None, :] < batch.counts[:, None]
    return np.where(mask, weights[batch.indices] * batch.values, 0.0).sum(axis=1)


def ks_pvalue(samples: np.ndarray) -> float:
    """KS test of samples standardised by their own mean and s.d. against N(0, 1)."""
    sd = samples.std(ddof=1)
    if not np.isfinite(sd) or sd == 0:
        return float("nan")
    return float(scipy_stats.kstest((samples - samples.mean()) / sd, "norm").pvalue)


def _assemble(diag, bias, off_sum, off_sq, off_cube, p, ks) -> WeightStatistics:
    v = variance(p)
    mu = 0.5 * p * off_sum
    s2 = v * off_sq
    with np.errstate(invalid="ignore", divide="ignore"):
        lyapunov = off_cube / off_sq
    return WeightStatistics(
        float(diag.mean()), _var(diag), float(bias.mean()), _var(bias), float(mu.mean()),
        _var(mu), float(s2.mean()), _var(s2), ks, *_nan_summary(lyapunov))


def _nan_summary(values: np.ndarray) -> tuple[float, float, float]:
    """(min, mean, max) over the rows where the ratio is defined (a row without off-diagonal
    weight has none); NaN if no row has one."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    return float(values.min()), float(values.mean()), float(values.max())


def weight_statistics(W: np.ndarray, b: np.ndarray, p: float, *,
                      ks_samples: int = cfg.KS_SAMPLES, eval_seed: int = cfg.EVAL_SEED
                      ) -> WeightStatistics:
    """Statistics of W (n, n) and b (n,) at feature probability p (float64 sums)."""
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    diag = np.diagonal(W).copy()
    absolute = np.abs(W)
    off_sum = W.sum(axis=1) - diag
    off_sq = np.einsum("ij,ij->i", W, W) - diag * diag
    off_cube = np.einsum("ij,ij,ij->i", absolute, absolute, absolute) - np.abs(diag) ** 3
    nu = interference_samples(W[0], p, samples=ks_samples, eval_seed=eval_seed)
    return _assemble(diag, b, off_sum, off_sq, off_cube, p, ks_pvalue(nu))


def rug_statistics(kernel: np.ndarray, a: float, b: float, p: float, *,
                   ks_samples: int = cfg.KS_SAMPLES, eval_seed: int = cfg.EVAL_SEED
                   ) -> WeightStatistics:
    """Statistics of the rug's effective map y = ReLU(a W x + a b), W_ij = kernel[i ^ j]:
    every row is a permutation of the kernel, so the spreads over rows vanish."""
    n = kernel.shape[0]
    k = a * np.asarray(kernel, dtype=np.float64)
    diag = np.full(n, k[0])
    off_sum = np.full(n, k.sum() - k[0])
    off_sq = np.full(n, np.dot(k, k) - k[0] ** 2)
    off_cube = np.full(n, np.sum(np.abs(k) ** 3) - abs(k[0]) ** 3)
    nu = interference_samples(k, p, samples=ks_samples, eval_seed=eval_seed)
    return _assemble(diag, np.full(n, a * b), off_sum, off_sq, off_cube, p, ks_pvalue(nu))
