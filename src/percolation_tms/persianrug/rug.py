"""The Persian rug (specification section 4): W = H_S^T H_S / m from m random rows S of the
Sylvester Hadamard matrix, output ReLU(a (W x + b)) with two fitted scalars.

W x = (1/m) H P_S H x is applied by two fast Walsh-Hadamard transforms, never an n x n matrix.
W_ij = c(i XOR j) with c = H 1_S / m, so every row is a permutation of c: the statistics of W
follow from c alone.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from percolation_tms import _rng
from percolation_tms.persianrug import _kernels, theory
from percolation_tms.persianrug import config as cfg
from percolation_tms.persianrug.data import (
    PURPOSE_EVAL,
    PURPOSE_FIT,
    PURPOSE_RUG_ADAM,
    SparseBatch,
    sample_batch,
)

EVAL_CHUNK = 512  # samples per chunk of the rug's evaluation (32 MB of float64 at n = 8192)
FIT_GRID = 4001  # points of the coarse grid in c = b + mu
PROFILE_BINS = 2**16  # bins of u in the fit sample's profile (resolution 1/65536 of its range)
GOLDEN_STEPS = 80  # refinement of the best grid point (bracket shrinks by 0.618 each step)
# Public Adam fit (section 4): lr 0.3 / sqrt(n), batch 512, epochs of 10,000 samples, at most
# 100 epochs, stopping rule with window 100.
ADAM_LR_SCALE = 0.3
ADAM_BATCH = 512
ADAM_EPOCH_SAMPLES = 10_000
ADAM_MAX_EPOCHS = 100
ADAM_WINDOW = 100


class RugFit(NamedTuple):
    """A fitted Persian rug and its clean evaluation.

    rows : int64 (m,) -- the Hadamard rows S (sorted); includes_row0 : whether 0 is in S.
    a, b : output y = ReLU(a (W x + b)); c = b + mu (the only combination the loss sees).
    loss, loss_se : clean loss on ``eval_samples`` fresh samples; fit_loss : on the fit
    sample.  draw : which of ``draw_fit_losses`` (one per row draw) was kept.
    loss_last_batch : the public Adam fit's last batch loss (NaN for the exact fit).
    mu, sigma : mean and s.d. of every interference term (section 4).
    """

    n: int
    m: int
    p: float
    seed: int
    rows: np.ndarray
    includes_row0: bool
    a: float
    b: float
    c: float
    loss: float
    loss_se: float
    fit_loss: float
    loss_last_batch: float
    draw: int
    draw_fit_losses: np.ndarray
    eval_samples: int
    fit_samples: int
    mu: float
    sigma: float
    method: str


def fwht(x: np.ndarray) -> np.ndarray:
    """Unnormalised Walsh-Hadamard transform H x of a 1-d or 2-d (rows) array (a copy).

    x : float (n,) or (B, n), n a power of two.
    """
    out = np.array(x, dtype=np.float64 if x.dtype.kind != "f" else x.dtype, order="C")
    n = out.shape[-1]
    if not cfg.is_power_of_two(n):
        raise ValueError(f"the Walsh-Hadamard transform needs a power-of-two length, got {n}")
    if out.ndim == 1:
        _kernels.fwht_inplace(out)
    else:
        _kernels.fwht_rows(out.reshape(-1, n))
    return out


def hadamard(n: int) -> np.ndarray:
    """The Sylvester Hadamard matrix (n, n) float64, h_ij = (-1)^popcount(i & j) (tests)."""
    i = np.arange(n)
    bits = np.bitwise_and.outer(i, i)
    parity = np.zeros_like(bits)
    while bits.any():
        parity ^= bits & 1
        bits >>= 1
    return 1.0 - 2.0 * parity


def draw_rug_rows(n: int, m: int, seed: int = 0, draw: int = 0,
                  exclude_row0: bool = False) -> np.ndarray:
    """int64 (m,): m distinct Hadamard rows, uniformly from all n (or from 1..n-1), sorted.

    Stream (seed, DOMAIN_PERSIANRUG_MODEL, 1, draw).
    """
    cfg.check_cell(n, m, 0.5, rug=True)
    if exclude_row0:
        if m > n - 1:
            raise ValueError(f"m must be at most n - 1 = {n - 1} without row 0, got {m}")
        return _kernels.draw_rows(seed, _rng.DOMAIN_PERSIANRUG_MODEL, draw, n - 1, m) + 1
    return _kernels.draw_rows(seed, _rng.DOMAIN_PERSIANRUG_MODEL, draw, n, m)


def rug_kernel(n: int, rows: np.ndarray) -> np.ndarray:
    """float64 (n,): c(k) = (1/m) sum_{s in S} (-1)^popcount(s & k), so W_ij = c(i ^ j)."""
    indicator = np.zeros(n, dtype=np.float64)
    indicator[np.asarray(rows)] = 1.0
    return fwht(indicator) / len(rows)


def rug_matrix(n: int, rows: np.ndarray, block: int | None = None) -> np.ndarray:
    """float64 (k, k): the top-left block (k = ``block``, default n) of W = H_S^T H_S / m,
    from c(i ^ j) (no matrix product)."""
    k = n if block is None else min(block, n)
    c = rug_kernel(n, rows)
    i = np.arange(k)
    return c[np.bitwise_xor.outer(i, i)]


def rug_apply(batch: SparseBatch, rows: np.ndarray, dtype=np.float64) -> np.ndarray:
    """(B, n) of W x for every sample of a padded batch, by two transforms per sample."""
    n = batch.n
    keep = np.zeros(n, dtype=dtype)
    keep[np.asarray(rows)] = 1
    out = np.empty((batch.indices.shape[0], n), dtype=dtype)
    values = batch.values.astype(dtype, copy=False)
    _kernels.rug_apply(batch.indices, values, batch.counts, keep, dtype(1.0 / len(rows)), out)
    return out


def interference_moments(n: int, m: int, p: float, includes_row0: bool) -> tuple[float, float]:
    """(mu, sigma) of every nu_i = sum_{j != i} W_ij x_j of the rug: the off-diagonal row sum
    is n/m - 1 with row 0 in S, -1 without; sum_{j != i} W_ij^2 = n/m - 1."""
    row_sum = n / m - 1 if includes_row0 else -1.0
    return 0.5 * p * row_sum, math.sqrt(theory.variance(p) * (n / m - 1))


# ------------------------------------------------------------------------------ exact fit
class _Profile:
    """Loss of ReLU(a (u + b)) on a fixed sample, minimised over a >= 0 in closed form.

    The loss is quadratic in a: X2 - 2 a S1(b) + a^2 S2(b), with S1 = sum over entries with
    u + b > 0 of (u + b) x and S2 = sum of (u + b)^2; the best a is S1 / S2 and the profile is
    X2 - S1^2 / S2.  The entries are binned by u (``PROFILE_BINS`` bins over their range, one
    pass, no sort); at every bin edge b = -edge the profile is exact, from suffix sums over
    bins.  Offsets beyond the range (every output on: the linear regime) are exact too.
    """

    def __init__(self, u: np.ndarray, batch: SparseBatch):
        lo, hi = float(u.min()), float(u.max())
        width = max(hi - lo, 1e-12) / PROFILE_BINS
        sums = np.zeros((PROFILE_BINS, 5), dtype=np.float64)
        _kernels.bin_entries(u, batch.indices, batch.values, batch.counts, lo, width, sums)
        self.edges = lo + width * np.arange(PROFILE_BINS + 1)
        self.edges[-1] = np.nextafter(hi, np.inf)
        self.suffix = np.zeros((PROFILE_BINS + 1, 5), dtype=np.float64)
        self.suffix[:-1] = np.cumsum(sums[::-1], axis=0)[::-1]
        mask = np.arange(batch.indices.shape[1])[None, :] < batch.counts[:, None]
        x = batch.values[mask].astype(np.float64)
        self.x2 = float(np.dot(x, x))
        self.entries = u.size
        self.lo = lo

    def _at(self, b, k):
        s = self.suffix[k]
        s2 = s[..., 2] + 2 * b * s[..., 1] + b * b * s[..., 0]
        s1 = s[..., 4] + b * s[..., 3]
        ok = (s1 > 0) & (s2 > 0)
        a = np.where(ok, s1 / np.where(ok, s2, 1.0), 0.0)
        return (self.x2 - np.where(ok, s1 * a, 0.0)) / self.entries, a

    def edge_offsets(self) -> np.ndarray:
        """Every b = -edge at which the profile is exact inside the data's range."""
        return -self.edges

    def __call__(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(loss, best a) at offsets b: bins whose lower edge exceeds -b count as on (exact at
        b = -edge and for every b > -min u)."""
        b = np.asarray(b, dtype=np.float64)
        k = np.searchsorted(self.edges, -b, side="left")
        k = np.clip(k, 0, PROFILE_BINS)
        return self._at(b, k)


def _fit_exact(profile: _Profile, n, m, p, mu, sigma) -> tuple[float, float, float]:
    """(a, b, fit loss).  Candidates in c = b + mu: every bin edge of the sample's range, a
    grid over section 5's bracket [-1 - 4 sigma, 1 + 10 sigma + 3 c_lin] (which reaches the
    linear regime beyond the range) and the section 4 starts (c = -0.3, 0, 1 + 3 sigma,
    1 + 10 sigma, c_lin and the Gaussian optimum c*); then golden-section refinement of the
    best candidate within its neighbours."""
    c_lin = 0.5 * p * (n / m - 1)
    gauss = theory.gaussian_limit(n, m, p)
    starts = np.array([-0.3, 0.0, 1 + 3 * sigma, 1 + 10 * sigma, c_lin, float(gauss.c)])
    grid = np.unique(np.concatenate([
        np.linspace(-1 - 4 * sigma, 1 + 10 * sigma + 3 * c_lin, FIT_GRID), starts,
        profile.edge_offsets() + mu]))
    losses, _ = profile(grid - mu)
    best = int(np.argmin(losses))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
    golden = (math.sqrt(5) - 1) / 2
    x1, x2 = hi - golden * (hi - lo), lo + golden * (hi - lo)
    f1, f2 = float(profile(x1 - mu)[0]), float(profile(x2 - mu)[0])
    for _ in range(GOLDEN_STEPS):
        if f1 <= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - golden * (hi - lo)
            f1 = float(profile(x1 - mu)[0])
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + golden * (hi - lo)
            f2 = float(profile(x2 - mu)[0])
    candidates = np.array([grid[best], x1, x2])
    losses, a = profile(candidates - mu)
    k = int(np.argmin(losses))
    return float(a[k]), float(candidates[k] - mu), float(losses[k])


# ------------------------------------------------------------------------------ Adam fit
def _fit_adam(rows, n, p, seed, draw) -> tuple[float, float, float]:
    """The public code's fit: Adam on (a, b) from (1, 0), fresh batches; (a, b, last batch
    loss)."""
    lr = ADAM_LR_SCALE / math.sqrt(n)
    beta1, beta2, eps = cfg.BETA1, cfg.BETA2, cfg.EPS
    params = np.array([1.0, 0.0])
    m1 = np.zeros(2)
    m2 = np.zeros(2)
    full, last = divmod(ADAM_EPOCH_SAMPLES, ADAM_BATCH)
    sizes = [ADAM_BATCH] * full + ([last] if last else [])
    history: list[float] = []
    step = 0
    batch = None
    for epoch in range(ADAM_MAX_EPOCHS):
        if epoch and len(history) > 2 * ADAM_WINDOW:
            before = np.mean(history[-2 * ADAM_WINDOW:-ADAM_WINDOW])
            after = np.mean(history[-ADAM_WINDOW:])
            if math.log10(before) - math.log10(after) <= 0:
                break
        for size in sizes:
            batch = sample_batch(seed, PURPOSE_RUG_ADAM, draw * 2**20 + step, 0, size, n, p,
                                 np.float64, out=batch)
            u = rug_apply(batch, rows)
            loss, ga, gb = _kernels.rug_adam_gradient(u, batch.indices, batch.values,
                                                      batch.counts, params[0], params[1], size)
            history.append(loss)
            step += 1
            grad = np.array([ga, gb])
            _kernels.adam_update(params, grad, m1, m2, lr, beta1, beta2, eps, step)
    return float(params[0]), float(params[1]), history[-1]


# ------------------------------------------------------------------------------ evaluation
def evaluate_rug(rows: np.ndarray, n: int, p: float, a: float, b: float, *,
                 samples: int = cfg.EVAL_SAMPLES, eval_seed: int = cfg.EVAL_SEED
                 ) -> tuple[float, float]:
    """(clean loss, standard error) of the rug ReLU(a (W x + b)) on fresh samples (the same
    samples as every model at this (n, p))."""
    losses = []
    batch = None
    row_loss = np.empty(EVAL_CHUNK, dtype=np.float64)
    for first in range(0, samples, EVAL_CHUNK):
        size = min(EVAL_CHUNK, samples - first)
        batch = sample_batch(eval_seed, PURPOSE_EVAL, 0, first, size, n, p, np.float32,
                             out=batch)
        # float32 transforms: twice the SIMD width; the loss sums stay float64.
        u = rug_apply(batch, rows, np.float32)
        _kernels.rug_row_loss(u, batch.indices, batch.values, batch.counts, a, b,
                              row_loss[:size])
        losses.append(row_loss[:size] / n)
    per_sample = np.concatenate(losses)
    se = float(per_sample.std(ddof=1) / math.sqrt(samples)) if samples > 1 else float("nan")
    return float(per_sample.mean()), se


def fit_samples_for(n: int, fit_entries: int = cfg.FIT_ENTRIES) -> int:
    """Samples of the fit sample: fit_entries / n, at least 1000."""
    return max(cfg.MIN_FIT_SAMPLES, -(-fit_entries // n))


def fit_persian_rug(n: int, m: int, p: float, *, seed: int = 0,
                    samples: int = cfg.EVAL_SAMPLES, draws: int = cfg.RUG_DRAWS,
                    method: str = "exact", fit_entries: int = cfg.FIT_ENTRIES,
                    eval_seed: int = cfg.EVAL_SEED, exclude_row0: bool = False) -> RugFit:
    """Build the Persian rug at (n, m, p), fit (a, b) and score it on fresh samples.

    Parameters
    ----------
    n, m, p : n a power of two, 1 <= m <= n, p in (0, 1].
    seed : seed of the row draws (stream (seed, DOMAIN_PERSIANRUG_MODEL, 1, draw)).
    samples : fresh samples of the clean evaluation (stream (eval_seed, EVAL)).
    draws : row draws; the one with the lowest fit loss (``"exact"``) or last batch loss
        (``"adam"``, as the public code) is kept.
    method : ``"exact"``: (a, b) minimise the loss on one fixed sample of ``fit_entries / n``
        (at least 1000) samples, stream (eval_seed, FIT), exactly in a and by a grid plus
        golden section in b from the section 4 starts; ``"adam"``: the public code's Adam fit.
    exclude_row0 : draw S from rows 1..n-1 only.

    Returns
    -------
    RugFit
    """
    cfg.check_cell(n, m, p, rug=True)
    for name, value in (("samples", samples), ("draws", draws), ("fit_entries", fit_entries)):
        if not cfg.is_int(value) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if method not in cfg.RUG_FITS:
        raise ValueError(f"method must be one of {cfg.RUG_FITS}, got {method!r}")
    fit_samples = fit_samples_for(n, fit_entries)
    fit_batch = None
    if method == "exact":
        fit_batch = sample_batch(eval_seed, PURPOSE_FIT, 0, 0, fit_samples, n, p, np.float32)
    results = []
    for draw in range(draws):
        rows = draw_rug_rows(n, m, seed, draw, exclude_row0)
        includes_row0 = bool(rows[0] == 0)
        mu, sigma = interference_moments(n, m, p, includes_row0)
        if method == "exact":
            profile = _Profile(rug_apply(fit_batch, rows, np.float32), fit_batch)
            a, b, score = _fit_exact(profile, n, m, p, mu, sigma)
            last = float("nan")
        else:
            a, b, last = _fit_adam(rows, n, p, seed, draw)
            score = last
        results.append((score, draw, rows, includes_row0, a, b, mu, sigma, last))
    scores = np.array([r[0] for r in results])
    score, draw, rows, includes_row0, a, b, mu, sigma, last = results[int(np.argmin(scores))]
    loss, se = evaluate_rug(rows, n, p, a, b, samples=samples, eval_seed=eval_seed)
    return RugFit(n=n, m=m, p=float(p), seed=seed, rows=rows, includes_row0=includes_row0,
                  a=a, b=b, c=b + mu, loss=loss, loss_se=se,
                  fit_loss=score if method == "exact" else float("nan"),
                  loss_last_batch=last, draw=draw, draw_fit_losses=scores,
                  eval_samples=samples, fit_samples=fit_samples if method == "exact" else 0,
                  mu=mu, sigma=sigma, method=method)
