"""Random order and random data of the SAE stage: minibatch shuffles, random unit rows, and the
flat known-dictionary samples (the hierarchical ones live in ``hierarchy``).  Every draw comes
from a keyed stream of ``percolation_tms._rng``; each kernel names its stream."""

from __future__ import annotations

from numba import njit, prange

from percolation_tms._rng import (
    fill_unit_normal,
    next_double,
    permutation,
    stream_state,
)


@njit(cache=True)
def shuffled_order(n, seed, domain, epoch):
    """A uniformly random permutation of 0..n-1 (Fisher-Yates from the top), one stream per
    epoch: stream (seed, domain, epoch, 0), one ``next_below`` per swap."""
    return permutation(stream_state(seed, domain, epoch, 0), n)


@njit(parallel=True, cache=True)
def unit_gaussian_rows(seed, domain, a, out):
    """Row j of ``out`` (n, d) = the first d normals of stream (seed, domain, a, j), normalised.

    One stream per row, so a larger array shares its first rows with a smaller one."""
    for j in prange(out.shape[0]):
        fill_unit_normal(stream_state(seed, domain, a, j), out[j])


@njit(parallel=True, cache=True)
def synthetic_counts(seed, domain, probability, counts):
    """Number of active features of every sample (the first pass of ``synthetic_fill``)."""
    for i in prange(counts.shape[0]):
        state = stream_state(seed, domain, 1, i)
        count = 0
        for f in range(probability.shape[0]):
            u, state = next_double(state)
            if u < probability[f]:
                _, state = next_double(state)
                count += 1
        counts[i] = count


@njit(parallel=True, cache=True)
def synthetic_fill(seed, domain, probability, dictionary, indptr, indices, data, x):
    """Sample i (stream (seed, domain, 1, i)): feature f is active when a uniform draw is
    below probability[f]; an active feature then draws its coefficient 1 - u, u uniform in
    [0, 1), so coefficients lie in (0, 1].  x[i] = sum_f coefficient_f dictionary[f]."""
    d = dictionary.shape[1]
    for i in prange(x.shape[0]):
        state = stream_state(seed, domain, 1, i)
        pos = indptr[i]
        for c in range(d):
            x[i, c] = 0.0
        for f in range(probability.shape[0]):
            u, state = next_double(state)
            if u < probability[f]:
                u, state = next_double(state)
                coefficient = 1.0 - u
                indices[pos] = f
                data[pos] = coefficient
                pos += 1
                for c in range(d):
                    x[i, c] += coefficient * dictionary[f, c]
