"""Light data preparation for the figures: binning, the exponent fit, means over seeds.

Everything here turns arrays the stages wrote into what a plot draws; nothing here computes a
result a stage upstream should have written.  Functions take and return plain arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


# ---------------------------------------------------------------------------- distributions
def log_bin_edges(max_value: int, bins_per_decade: int = 5) -> np.ndarray:
    """Integer bin edges for positive integers 1..max_value, about evenly spaced in log.

    Bin k holds the integers edges[k] <= s < edges[k + 1]; small sizes get one bin each
    (log spacing narrower than 1 collapses to consecutive integers), so no bin is empty by
    construction.  Returns an int64 array of shape (B + 1,), edges[0] = 1, edges[-1] > max_value.
    """
    max_value = max(int(max_value), 1)
    n_points = int(np.ceil(np.log10(max_value + 1) * bins_per_decade)) + 1
    raw = np.logspace(0.0, np.log10(max_value + 1), n_points)
    edges = np.unique(np.round(raw).astype(np.int64))
    edges[0] = 1
    if edges[-1] <= max_value:
        edges = np.append(edges, max_value + 1)
    return edges


@dataclass(frozen=True)
class LogBinned:
    """A distribution of positive integers in log bins.

    edges (B + 1,) int64; counts (B,) int64 (values per bin); center (B,) float (geometric centre
    of the integers a bin covers); probability (B,) float (mean probability of one integer value
    in the bin: counts / (integers in the bin * total), comparable with a pmf such as s^-tau).
    """

    edges: np.ndarray
    counts: np.ndarray
    center: np.ndarray
    probability: np.ndarray


def log_binned_distribution(values: np.ndarray, edges: np.ndarray) -> LogBinned:
    """Histogram positive integers ``values`` (any shape) in the integer bins ``edges``."""
    values = np.asarray(values).ravel()
    edges = np.asarray(edges, dtype=np.int64)
    if values.size and (values.min() < edges[0] or values.max() >= edges[-1]):
        raise ValueError(f"values span [{values.min()}, {values.max()}], outside the bins "
                         f"[{edges[0]}, {edges[-1]})")
    counts = np.histogram(values, bins=edges)[0].astype(np.int64)
    widths = np.diff(edges)
    center = np.sqrt(edges[:-1] * (edges[1:] - 1.0))
    total = max(values.size, 1)
    return LogBinned(edges, counts, center, counts / (widths * total))


def power_law_reference(s: np.ndarray, exponent: float, s_min: float,
                        tail_fraction: float) -> np.ndarray:
    """The pmf C s^-exponent of a tail holding ``tail_fraction`` of all values above s_min.

    C = tail_fraction * (exponent - 1) * s_min^(exponent - 1): the continuous normalisation, so
    the reference line sits on the data's tail instead of floating at an arbitrary height.
    """
    s = np.asarray(s, dtype=np.float64)
    return tail_fraction * (exponent - 1.0) / s_min * (s / s_min) ** (-exponent)


def pooled_histogram(values: Sequence[np.ndarray], counts: Sequence[np.ndarray]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Sum histograms given as (values, counts) pairs over seeds: (all values sorted, counts)."""
    all_values = np.unique(np.concatenate([np.asarray(v) for v in values]))
    total = np.zeros(all_values.size, dtype=np.int64)
    for v, c in zip(values, counts):
        np.add.at(total, np.searchsorted(all_values, v), np.asarray(c, dtype=np.int64))
    return all_values, total


def log_spaced_indices(n: int, per_decade: int = 60) -> np.ndarray:
    """Indices 0..n-1 whose ranks (index + 1) are evenly spaced in log, first and last kept.

    A rank-frequency curve of 10^5 features drawn point by point makes a heavy PDF without
    showing more; this thins it to what a log axis can resolve.
    """
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    n_points = int(np.ceil(np.log10(n) * per_decade)) + 1
    ranks = np.unique(np.round(np.logspace(0.0, np.log10(n), max(n_points, 2))).astype(np.int64))
    return np.clip(ranks, 1, n) - 1


def frequency_rank(frequency: np.ndarray) -> np.ndarray:
    """Rank of every feature by frequency: 1 = most frequent, ties in order of the features."""
    frequency = np.asarray(frequency)
    rank = np.empty(frequency.size, dtype=np.int64)
    rank[np.argsort(-frequency, kind="stable")] = np.arange(1, frequency.size + 1)
    return rank


# ---------------------------------------------------------------------------- seeds
def mean_and_spread(values: np.ndarray, log: bool = False
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and mean -/+ one standard deviation over seeds (axis 0), ignoring NaN.

    values : array of shape (K seeds, ...).  With ``log`` the statistics are taken of log10 of
    the (positive) values and mapped back: geometric mean, multiplicative spread.  Columns with
    no finite value give NaN.  Returns (center, lower, upper), each of shape values.shape[1:].
    """
    values = np.asarray(values, dtype=np.float64)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(values > 0, np.log10(values), np.nan)
    finite = np.isfinite(values)
    count = finite.sum(axis=0)
    total = np.where(finite, values, 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        center = np.where(count > 0, total / count, np.nan)
        squares = np.where(finite, (values - center) ** 2, 0.0).sum(axis=0)
        std = np.where(count > 0, np.sqrt(squares / count), np.nan)
    lower, upper = center - std, center + std
    if log:
        return 10.0 ** center, 10.0 ** lower, 10.0 ** upper
    return center, lower, upper


def align_curves(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """Stack per-seed curves (x_k, y_k) into (x, Y of shape (K, P)) if every x_k is the same.

    Returns None when the seeds' x values differ: then there is no common grid to average on,
    and a figure shows the seeds side by side instead.
    """
    first = np.asarray(xs[0])
    if any(np.asarray(x).shape != first.shape or not np.allclose(x, first) for x in xs[1:]):
        return None
    return first, np.vstack([np.asarray(y, dtype=np.float64) for y in ys])


@dataclass(frozen=True)
class SparsityTable:
    """Per-instance values arranged by (seed, sparsity).

    sparsity (S,) sorted ascending; seeds (K,) sorted; values (K, S, ...) with NaN where a seed
    has no instance at a sparsity.
    """

    sparsity: np.ndarray
    seeds: np.ndarray
    values: np.ndarray


def table_by_sparsity(sparsity: np.ndarray, seed: np.ndarray, values: np.ndarray
                      ) -> SparsityTable:
    """Arrange per-instance ``values`` (I, ...) by the instances' seed and sparsity (I,)."""
    sparsity, seed = np.asarray(sparsity, dtype=np.float64), np.asarray(seed)
    values = np.asarray(values, dtype=np.float64)
    levels, seeds = np.unique(sparsity), np.unique(seed)
    table = np.full((seeds.size, levels.size) + values.shape[1:], np.nan)
    filled = np.zeros((seeds.size, levels.size), dtype=bool)
    rows, cols = np.searchsorted(seeds, seed), np.searchsorted(levels, sparsity)
    for instance, (row, col) in enumerate(zip(rows, cols)):
        if filled[row, col]:
            raise ValueError(f"two instances have seed {seed[instance]} and sparsity "
                             f"{sparsity[instance]}")
        filled[row, col] = True
        table[row, col] = values[instance]
    return SparsityTable(levels, seeds, table)


def inverse_density(sparsity: np.ndarray) -> np.ndarray:
    """1 / (1 - S): the x axis of the toy-model figures (1 dense, 1000 at S = 0.999)."""
    return 1.0 / (1.0 - np.asarray(sparsity, dtype=np.float64))


def seed_offsets(n_seeds: int, half_width: float) -> np.ndarray:
    """Evenly spread offsets in [-half_width, half_width] that set seeds' markers side by side."""
    if n_seeds <= 1:
        return np.zeros(max(n_seeds, 0))
    return np.linspace(-half_width, half_width, n_seeds)
