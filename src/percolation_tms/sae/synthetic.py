"""Data with a known dictionary: sparse non-negative combinations of random unit vectors.

The setup of the seed's sparse-coding experiments (Sharkey, Braun & Millidge 2022): n_features
ground-truth directions in d dimensions (more directions than dimensions: superposition); every
sample switches each feature on independently, feature f with probability p_f, and gives the
active ones coefficients uniform in (0, 1].  p_f = c (f + 1)^-decay, with c chosen so that a
sample has ``mean_active`` active features on average: decay 0 gives equally frequent features,
decay > 0 a power law of frequencies, like the percolation features'.

Randomness: direction f is stream (seed, DOMAIN_SAE_SYNTHETIC, 0, f), sample i is stream
(seed, DOMAIN_SAE_SYNTHETIC, 1, i); the numbers do not depend on threads, and more samples
extend fewer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from percolation_tms._rng import DOMAIN_SAE_SYNTHETIC
from percolation_tms.sae import _kernels
from percolation_tms.sae.config import SyntheticConfig  # noqa: F401 (re-exported)


@dataclass(frozen=True)
class KnownDictionaryData:
    """X (n, d) the samples; dictionary (n_features, d) unit rows, the true directions;
    coefficients CSR (n, n_features) (stored entries: the active features, values in (0, 1]);
    probability (n_features,) each feature's activation probability."""

    X: np.ndarray
    dictionary: np.ndarray
    coefficients: sparse.csr_matrix
    probability: np.ndarray


def feature_probabilities(n_features: int, mean_active: float, decay: float) -> np.ndarray:
    """p_f = c (f + 1)^-decay summing to mean_active; ValueError if any would exceed 1."""
    weights = np.arange(1, n_features + 1, dtype=np.float64) ** -float(decay)
    probability = mean_active * weights / weights.sum()
    if probability[0] > 1.0:
        raise ValueError(f"mean_active={mean_active} with decay={decay} would give the most "
                         f"frequent of {n_features} features probability {probability[0]:.3g} "
                         "> 1; lower mean_active or decay")
    return probability


def make_known_dictionary_data(n_samples: int, dim: int, n_features: int, mean_active: float,
                               decay: float = 0.0, seed: int = 0) -> KnownDictionaryData:
    """Sample the synthetic data set described in the module docstring."""
    for name, value in (("n_samples", n_samples), ("dim", dim), ("n_features", n_features)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not np.isfinite(mean_active) or mean_active <= 0:
        raise ValueError(f"mean_active must be > 0, got {mean_active!r}")
    if not np.isfinite(decay) or decay < 0:
        raise ValueError(f"decay must be >= 0, got {decay!r}")
    probability = feature_probabilities(n_features, mean_active, decay)
    dictionary = np.empty((n_features, dim))
    _kernels.unit_gaussian_rows(seed, DOMAIN_SAE_SYNTHETIC, 0, dictionary)
    counts = np.empty(n_samples, dtype=np.int64)
    _kernels.synthetic_counts(seed, DOMAIN_SAE_SYNTHETIC, probability, counts)
    indptr = np.zeros(n_samples + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(indptr[-1], dtype=np.int64)
    data = np.empty(indptr[-1])
    X = np.empty((n_samples, dim))
    _kernels.synthetic_fill(seed, DOMAIN_SAE_SYNTHETIC, probability, dictionary, indptr,
                            indices, data, X)
    coefficients = sparse.csr_matrix((data, indices, indptr), shape=(n_samples, n_features))
    return KnownDictionaryData(X, dictionary, coefficients, probability)
