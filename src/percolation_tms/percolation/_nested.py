"""Numba kernels of nested mode: size-consistent clusters (docs/nested.md, section 4).

A cluster's hierarchy is the Markov branching tree with the Abel split law
q_n(a) = C(n, a) a^(a-1) (n-a)^(n-a-1) / (2 (n-1) n^(n-2)) (the cyclic coalescent's law,
Theorem 2), built top-down with the quantile coupling: the node with n points splits into
L = F_n^{-1}(U) and n - L, U a uniform keyed by the node.  Nodes are named by 64-bit keys derived
from their path (child c of key k has key child_key(k, c)), so a node and its randomness do not
depend on the cluster's size: going from s to s + 1 points splits exactly one leaf (Lemma 3).

The edge of latent X joins the leaf of child 0 and the leaf of child 1 that minimise a keyed
uniform h(X, origin(leaf)); a leaf's origin is the first node at or above it that is a child 1
(or the root).  Given the hierarchy these end points are independent and uniform, as in the
coalescent (Theorem 2), and they move across sizes as little as any coupling allows.

Streams: split uniform (graph seed, DOMAIN_NESTED_SPLIT, cluster id, node key); end-point base
(graph seed, DOMAIN_NESTED_EDGE, cluster id, latent key); the uniform labelling of the points
(graph seed, DOMAIN_NESTED_EDGE, cluster id, 0) -- node keys are odd, so 0 is no node's key.

Layout in the output arrays: as in the default mode (points, then latents in feature-column
order).  A cluster's columns run in a uniformly random linear extension of its hierarchy (root
first, every latent before its children) -- the law of the default mode's reverse merge order
given the tree and hierarchy (docs/nested.md, Theorem 2) -- drawn from (graph seed,
DOMAIN_NESTED_SPLIT, cluster id, 0) by taking, at each step, an available latent (one whose
parent is placed) with probability proportional to the number of latents in its subtree.  A
cluster's points get its rows in a uniformly random order.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from percolation_tms._rng import (
    DOMAIN_NESTED_EDGE,
    DOMAIN_NESTED_SPLIT,
    mix64,
    next_below,
    next_double,
    stream_state,
)

#: Key of every cluster's root node (odd, like every key).
ROOT_KEY = np.uint64(0x2545F4914F6CDD1D)
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_ONE = np.uint64(1)


@njit(cache=True, inline="always")
def child_key(key, c):
    """Key of child c (0 or 1) of the node with ``key``: a hash of the path, always odd."""
    return mix64(np.uint64(key) + np.uint64(c + 1) * _GAMMA) | _ONE


@njit(cache=True)
def split_size(n, u):
    """L = F_n^{-1}(u) = min{a : F_n(a) > u}, the size of child 0 of a node with n >= 2 points.

    F_n is summed from the nearer end (q_n is symmetric): for u >= 1/2, L = n - b* with
    b* = min{b : F_n(b) >= 1 - u}.  Terms by the ratio
    q_n(a+1)/q_n(a) = (1 + 1/a)^(a-1) (1 - 1/(n-a))^(n-a-2), from q_n(1) = (1 - 1/n)^(n-3) / 2.
    """
    if n <= 2:
        return 1
    upper = u >= 0.5
    target = 1.0 - u if upper else u
    q = 0.5 * math.exp((n - 3) * math.log1p(-1.0 / n))
    cdf = q
    a = 1
    while a < n - 1:
        if cdf > target or (upper and cdf == target):
            break
        q *= math.exp((a - 1) * math.log1p(1.0 / a) + (n - a - 2) * math.log1p(-1.0 / (n - a)))
        a += 1
        cdf += q
    return n - a if upper else a


@njit(cache=True)
def _build_one_nested(s, cluster_id, p0, q0, n_points, seed, latent_parent, depth, edges,
                      point_key, latent_key, nkey, nsize, nfirst, norigin, nparent, ndepth,
                      ncolumn, nchild0, stack, leaf_origin, row_of_leaf, fenwick):
    """Build one cluster of s >= 2 points into rows p0.. and columns q0.. (see module doc)."""
    # Top-down, depth-first preorder (child 0 first): node 0 is the root.
    nkey[0] = ROOT_KEY
    nsize[0] = s
    nfirst[0] = 0
    norigin[0] = ROOT_KEY
    nparent[0] = -1
    ndepth[0] = 0
    n_nodes = 1
    top = 0
    stack[0] = 0
    column = 0
    while top >= 0:
        x = stack[top]
        top -= 1
        n = nsize[x]
        if n == 1:
            ncolumn[x] = -1
            leaf_origin[nfirst[x]] = norigin[x]
            continue
        ncolumn[x] = column
        column += 1
        u, _ = next_double(stream_state(seed, DOMAIN_NESTED_SPLIT, cluster_id, nkey[x]))
        left = split_size(n, u)
        c0 = n_nodes
        c1 = n_nodes + 1
        n_nodes += 2
        nchild0[x] = c0
        nkey[c0] = child_key(nkey[x], 0)
        nkey[c1] = child_key(nkey[x], 1)
        nsize[c0] = left
        nsize[c1] = n - left
        nfirst[c0] = nfirst[x]
        nfirst[c1] = nfirst[x] + left
        norigin[c0] = norigin[x]  # child 0 inherits its parent's origin
        norigin[c1] = nkey[c1]  # child 1 is its own origin
        nparent[c0] = x
        nparent[c1] = x
        ndepth[c0] = ndepth[x] + 1
        ndepth[c1] = ndepth[x] + 1
        stack[top + 1] = c1
        stack[top + 2] = c0
        top += 2
    # Columns: a uniform linear extension.  ncolumn holds the preorder rank so far; the
    # available latents' weights (latents in their subtrees) live in a Fenwick tree indexed by
    # preorder rank, so drawing r uniform in [0, remaining) picks latent x with probability
    # weight(x) / remaining.
    n_latents = s - 1
    for x in range(n_nodes):
        if ncolumn[x] >= 0:
            stack[ncolumn[x]] = x  # latent of each preorder rank
    for i in range(n_latents + 1):
        fenwick[i] = 0
    _fenwick_add(fenwick, n_latents, 0, n_latents)
    top_bit = 1
    while top_bit * 2 <= n_latents:
        top_bit *= 2
    state = stream_state(seed, DOMAIN_NESTED_SPLIT, cluster_id, 0)
    for t in range(n_latents):
        r, state = next_below(state, n_latents - t)
        rank = _fenwick_find(fenwick, n_latents, top_bit, r)
        x = stack[rank]
        _fenwick_add(fenwick, n_latents, rank, -(nsize[x] - 1))
        for c in (nchild0[x], nchild0[x] + 1):
            if nsize[c] >= 2:
                _fenwick_add(fenwick, n_latents, ncolumn[c], nsize[c] - 1)
        stack[n_latents + rank] = t  # column of the latent of this preorder rank
    for x in range(n_nodes):
        if ncolumn[x] >= 0:
            ncolumn[x] = stack[n_latents + ncolumn[x]]
    # A uniformly random labelling of the leaves by the cluster's rows (Fisher-Yates).
    state = stream_state(seed, DOMAIN_NESTED_EDGE, cluster_id, 0)
    for i in range(s):
        row_of_leaf[i] = i
    for i in range(s - 1, 0, -1):
        j, state = next_below(state, i + 1)
        row_of_leaf[i], row_of_leaf[j] = row_of_leaf[j], row_of_leaf[i]
    # Parents, depths, keys.
    for x in range(n_nodes):
        if ncolumn[x] >= 0:
            node = n_points + q0 + ncolumn[x]
            latent_key[q0 + ncolumn[x]] = nkey[x]
        else:
            node = p0 + row_of_leaf[nfirst[x]]
            point_key[node] = nkey[x]
        parent = nparent[x]
        latent_parent[node] = -1 if parent < 0 else n_points + q0 + ncolumn[parent]
        depth[node] = ndepth[x]
    # Edges: per latent, the arg-min of the keyed uniforms over the origins of each child's
    # leaves (the leaves of a node are the leaf indices nfirst .. nfirst + nsize - 1).
    for x in range(n_nodes):
        if ncolumn[x] < 0:
            continue
        base = stream_state(seed, DOMAIN_NESTED_EDGE, cluster_id, nkey[x])
        start = nfirst[x]
        split = start + nsize[nchild0[x]]
        stop = start + nsize[x]
        edges[q0 + ncolumn[x], 0] = p0 + row_of_leaf[_argmin_leaf(base, leaf_origin, start, split)]
        edges[q0 + ncolumn[x], 1] = p0 + row_of_leaf[_argmin_leaf(base, leaf_origin, split, stop)]


@njit(cache=True, inline="always")
def _fenwick_add(fenwick, n, index, delta):
    i = index + 1
    while i <= n:
        fenwick[i] += delta
        i += i & (-i)


@njit(cache=True, inline="always")
def _fenwick_find(fenwick, n, top_bit, r):
    """Smallest 0-based index whose prefix sum exceeds r (0 <= r < total)."""
    pos = 0
    step = top_bit
    while step > 0:
        if pos + step <= n and fenwick[pos + step] <= r:
            pos += step
            r -= fenwick[pos]
        step //= 2
    return pos


@njit(cache=True, inline="always")
def _argmin_leaf(base, leaf_origin, start, stop):
    """Leaf index in [start, stop) whose origin has the smallest keyed uniform (64-bit)."""
    best = start
    best_key = mix64(base ^ leaf_origin[start])
    for i in range(start + 1, stop):
        k = mix64(base ^ leaf_origin[i])
        if k < best_key:
            best_key = k
            best = i
    return best


@njit(cache=True, parallel=True)
def build_nested_clusters(cluster_ids, cluster_sizes, point_offsets, latent_offsets, seed,
                          n_stripes, latent_parent, depth, edges, point_key, latent_key):
    """Nested-mode counterpart of ``_kernels.build_clusters`` (same stripes, same layout),
    also filling the node keys of the points (n_points,) and latents (n_latents,)."""
    n_clusters = cluster_sizes.shape[0]
    n_points = point_offsets[n_clusters]
    for stripe in prange(n_stripes):
        if stripe >= n_clusters:
            continue
        capacity = cluster_sizes[stripe]  # largest cluster of this stripe
        n_nodes = 2 * capacity - 1
        nkey = np.empty(n_nodes, dtype=np.uint64)
        norigin = np.empty(n_nodes, dtype=np.uint64)
        nsize = np.empty(n_nodes, dtype=np.int64)
        nfirst = np.empty(n_nodes, dtype=np.int64)
        nparent = np.empty(n_nodes, dtype=np.int64)
        ndepth = np.empty(n_nodes, dtype=np.int64)
        ncolumn = np.empty(n_nodes, dtype=np.int64)
        nchild0 = np.empty(n_nodes, dtype=np.int64)
        stack = np.empty(max(n_nodes + 1, 2 * capacity), dtype=np.int64)
        fenwick = np.empty(capacity, dtype=np.int64)
        leaf_origin = np.empty(capacity, dtype=np.uint64)
        row_of_leaf = np.empty(capacity, dtype=np.int64)
        for c in range(stripe, n_clusters, n_stripes):
            s = cluster_sizes[c]
            p0 = point_offsets[c]
            if s == 1:
                latent_parent[p0] = -1
                depth[p0] = 0
                point_key[p0] = ROOT_KEY
                continue
            _build_one_nested(s, cluster_ids[c], p0, latent_offsets[c], n_points, seed,
                              latent_parent, depth, edges, point_key, latent_key, nkey, nsize,
                              nfirst, norigin, nparent, ndepth, ncolumn, nchild0, stack,
                              leaf_origin, row_of_leaf, fenwick)


@njit(cache=True)
def order_children(children, node_key, n_points):
    """Reorder ``children`` (L, 2) in place so that child 0 of the hierarchy comes first."""
    for j in range(children.shape[0]):
        if node_key[children[j, 0]] != child_key(node_key[n_points + j], 0):
            children[j, 0], children[j, 1] = children[j, 1], children[j, 0]
