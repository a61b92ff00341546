"""Samples of a known hierarchical dictionary (``sae.hierarchy``): a child feature can fire only
when its parent does, and an exclusive parent keeps one of its firing children.

Sample i is stream (seed, DOMAIN_SAE_HIERARCHY, 1, i).  Features are visited in breadth-first
order (a parent before its children; the children of a parent are consecutive): a feature
whose parent is off draws nothing; otherwise one uniform u (on when u < q_f) and, when on, one
normal g for its magnitude max(0, mu_f + sigma_f g) (x parent magnitude / mu_parent with
``child_scale``); after the last child of an exclusive parent, if several children are on, one
uniform picks the winner and the others go off (with their subtrees, which come later).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from percolation_tms._rng import next_below, next_double, next_normal, stream_state


@njit(cache=True)
def _sample(seed, domain, i, q, mu, sigma, parent, first_child, n_children, exclusive,
            child_scale, magnitude):
    """Fill magnitude (F,) of sample i (0 = off); return the number of features on."""
    n_features = q.shape[0]
    state = stream_state(seed, domain, 1, i)
    count = 0
    for f in range(n_features):
        magnitude[f] = 0.0
    for f in range(n_features):
        par = parent[f]
        if par < 0 or magnitude[par] > 0.0:
            u, state = next_double(state)
            if u < q[f]:
                g, state = next_normal(state)
                value = mu[f] + sigma[f] * g
                if child_scale and par >= 0:
                    value *= magnitude[par] / mu[par]
                if value > 0.0:
                    magnitude[f] = value
                    count += 1
        if par >= 0 and exclusive[par] and f == first_child[par] + n_children[par] - 1:
            lo = first_child[par]
            on = 0
            for c in range(lo, f + 1):
                if magnitude[c] > 0.0:
                    on += 1
            if on > 1:
                pick, state = next_below(state, on)
                seen = 0
                for c in range(lo, f + 1):
                    if magnitude[c] > 0.0:
                        if seen != pick:
                            magnitude[c] = 0.0
                            count -= 1
                        seen += 1
    return count


@njit(parallel=True, cache=True)
def hierarchy_counts(seed, domain, q, mu, sigma, parent, first_child, n_children, exclusive,
                     child_scale, counts):
    """Features on in every sample (the first pass of :func:`hierarchy_fill`)."""
    n = counts.shape[0]
    block = 256
    for b in prange((n + block - 1) // block):
        magnitude = np.empty(q.shape[0])
        for i in range(b * block, min(n, (b + 1) * block)):
            counts[i] = _sample(seed, domain, i, q, mu, sigma, parent, first_child,
                                n_children, exclusive, child_scale, magnitude)


@njit(parallel=True, cache=True)
def hierarchy_fill(seed, domain, q, mu, sigma, parent, first_child, n_children, exclusive,
                   child_scale, dictionary, indptr, indices, data, x):
    """CSR coefficients (indices, data at indptr) and x[i] = sum_f magnitude_f dictionary[f]."""
    n = x.shape[0]
    d = dictionary.shape[1]
    block = 256
    for b in prange((n + block - 1) // block):
        magnitude = np.empty(q.shape[0])
        for i in range(b * block, min(n, (b + 1) * block)):
            _sample(seed, domain, i, q, mu, sigma, parent, first_child, n_children,
                    exclusive, child_scale, magnitude)
            pos = indptr[i]
            for c in range(d):
                x[i, c] = 0.0
            for f in range(q.shape[0]):
                value = magnitude[f]
                if value > 0.0:
                    indices[pos] = f
                    data[pos] = value
                    pos += 1
                    for c in range(d):
                        x[i, c] += value * dictionary[f, c]
