"""Numba kernels of the statistics stage: the keyed random orders behind its splits and
subsets (stream domain ``DOMAIN_STATS``)."""

from __future__ import annotations

from numba import njit

from percolation_tms._rng import permutation, stream_state


@njit(cache=True)
def keyed_permutation(n, seed, domain, purpose):
    """int64 (n,): a uniformly random permutation of 0..n-1 (Fisher-Yates from the top) drawn
    from stream (seed, domain, purpose, n), one ``next_below`` per swap.  ``n`` is part of the
    key so that data sets of different sizes never share an order's first draws."""
    return permutation(stream_state(seed, domain, purpose, n), n)
