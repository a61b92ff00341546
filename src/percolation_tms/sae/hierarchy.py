"""Data with a known hierarchical dictionary (SPEC-sae-hierarchy section 2, after SAELens 6.54
``synthetic/hierarchy``): F unit directions in R^d; a forest of ``n_roots`` trees, each node
with ``branching`` children down to ``tree_depth``, numbered breadth-first (roots first, so
they get the highest rates); the remaining features stand alone (depth -1).

* Rates p_i = p_min + (p_max - p_min) (r^-s - F^-s) / (1 - F^-s), r = i + 1.
* Compensation: a child's conditional rate q_i = min(1, p_i / p_parent), times (1 + the
  siblings' p sum / p_parent) under an exclusive parent, so its marginal rate approaches p_i.
* Magnitudes: max(0, mu_i + sigma_i N(0, 1)), mu linear from ``mu_first`` (feature 0) to
  ``mu_last``, sigma_i = |0.5 + 0.5 N(0, 1)| (a folded normal, stream (seed,
  DOMAIN_SAE_HIERARCHY_SIGMA, 0, 0)); a child's magnitude times parent / mu_parent with
  ``child_scale``.
* x = sum_i magnitude_i g_i.  Directions: stream (seed, DOMAIN_SAE_HIERARCHY, 0, f) per
  feature; samples: see ``_kernels.hierarchy``.

Not implemented from SynthSAEBench: the low-rank correlation of firings and the bias vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from percolation_tms._rng import DOMAIN_SAE_HIERARCHY, DOMAIN_SAE_HIERARCHY_SIGMA, normals
from percolation_tms.sae._kernels import unit_gaussian_rows
from percolation_tms.sae._kernels.hierarchy import hierarchy_counts, hierarchy_fill
from percolation_tms.sae.config import HierarchyConfig

SYNTHSAEBENCH_16K = HierarchyConfig(n_samples=1_000_000, dim=768, n_features=16_384,
                                    n_roots=128, branching=4, tree_depth=3)


@dataclass(frozen=True)
class HierarchicalData:
    """Samples of a known hierarchical dictionary.

    X (n, d); dictionary (F, d) unit rows; coefficients CSR (n, F) the magnitudes of the
    features on; probability (F,) nominal rates p_i; conditional (F,) q_i; parent (F,) int64
    (-1: none); depth (F,) int64 (-1: standalone); exclusive (F,) bool (a parent keeping one
    child); config the settings."""

    X: np.ndarray
    dictionary: np.ndarray
    coefficients: sparse.csr_matrix
    probability: np.ndarray
    conditional: np.ndarray
    parent: np.ndarray
    depth: np.ndarray
    exclusive: np.ndarray
    config: HierarchyConfig


def forest(config: HierarchyConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(parent, depth, first_child, n_children), int64 (F,) each, breadth-first numbering."""
    F = config.n_features
    parent = np.full(F, -1, dtype=np.int64)
    depth = np.full(F, -1, dtype=np.int64)
    first_child = np.full(F, -1, dtype=np.int64)
    n_children = np.zeros(F, dtype=np.int64)
    level = list(range(config.n_roots))
    depth[level] = 0
    next_index = config.n_roots
    for d in range(1, config.tree_depth + 1):
        children = []
        for p in level:
            first_child[p] = next_index
            n_children[p] = config.branching
            for _ in range(config.branching):
                parent[next_index] = p
                depth[next_index] = d
                children.append(next_index)
                next_index += 1
        level = children
    return parent, depth, first_child, n_children


def make_hierarchical_data(config: HierarchyConfig) -> HierarchicalData:
    """Sample the data set described in the module docstring."""
    F = config.n_features
    parent, depth, first_child, n_children = forest(config)
    r = np.arange(1, F + 1, dtype=np.float64)
    s = config.rate_exponent
    probability = config.p_min + (config.p_max - config.p_min) * (
        (r ** -s - F ** -s) / (1.0 - F ** -s) if F > 1 else np.ones(1))
    q = probability.copy()
    if config.compensation:
        for f in range(F):
            p = parent[f]
            if p >= 0:
                factor = 1.0 / probability[p]
                if config.exclusive:
                    lo = first_child[p]
                    siblings = probability[lo:lo + n_children[p]].sum() - probability[f]
                    factor *= 1.0 + siblings / probability[p]
                q[f] = min(1.0, probability[f] * factor)
    exclusive = (n_children > 0) & config.exclusive
    mu = np.linspace(config.mu_first, config.mu_last, F)
    sigma = np.abs(0.5 + 0.5 * normals(config.data_seed, DOMAIN_SAE_HIERARCHY_SIGMA, 0, 0, F))
    dictionary = np.empty((F, config.dim))
    unit_gaussian_rows(config.data_seed, DOMAIN_SAE_HIERARCHY, 0, dictionary)
    args = (config.data_seed, DOMAIN_SAE_HIERARCHY, q, mu, sigma, parent, first_child,
            n_children, exclusive, config.child_scale)
    counts = np.empty(config.n_samples, dtype=np.int64)
    hierarchy_counts(*args, counts)
    indptr = np.zeros(config.n_samples + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(indptr[-1], dtype=np.int64)
    data = np.empty(indptr[-1])
    X = np.empty((config.n_samples, config.dim))
    hierarchy_fill(*args, dictionary, indptr, indices, data, X)
    coefficients = sparse.csr_matrix((data, indices, indptr), shape=(config.n_samples, F))
    return HierarchicalData(X, dictionary, coefficients, probability, q, parent, depth,
                            exclusive, config)
