"""Numba kernels of the embedding stage: the branching random walk (spec section 3).

Randomness: a cluster's direction e_c, origin o_c and root-point walk come from the stream
(embed seed, DOMAIN_CLUSTER_EMBED, cluster id, 0); the Gaussian g drawn at a latent comes from
(embed seed, DOMAIN_LATENT_EMBED, cluster id, latent index inside the cluster).  So the result
depends neither on traversal order nor on how clusters are split among threads or shards.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from percolation_tms._rng import (
    DOMAIN_CLUSTER_EMBED,
    DOMAIN_LATENT_EMBED,
    DOMAIN_NESTED_NODE,
    next_below,
    next_double,
    next_normal,
    stream_state,
)

_INV_SQRT2 = 1.0 / math.sqrt(2.0)


@njit(cache=True)
def _unit_normal_vector(state, out):
    """Fill ``out`` with an isotropic unit vector; return the new state."""
    while True:
        norm2 = 0.0
        for k in range(out.shape[0]):
            g, state = next_normal(state)
            out[k] = g
            norm2 += g * g
        if norm2 > 0.0:
            break
    inv = 1.0 / math.sqrt(norm2)
    for k in range(out.shape[0]):
        out[k] *= inv
    return state


@njit(cache=True)
def _embed_one_cluster(c, cluster_id, s, p0, q0, n_points, zero_origin, step, scale, seed,
                       children, edges, X, direction, origin, g,
                       stack_node, stack_vec, degree, adj_start, adj, dfs_node, dfs_parent,
                       dfs_level, position, node_key):
    """Embed one cluster into rows p0..p0+s-1 of X; returns the (possibly grown) buffers.

    Nested mode (``node_key`` not empty): the Gaussian of a latent comes from (embed seed,
    DOMAIN_NESTED_NODE, 2 cluster id, its key) and the root-point walk's choice at a latent from
    (embed seed, DOMAIN_NESTED_NODE, 2 cluster id, key - 1) (keys are odd), so both depend on
    the node, not on the cluster's size (docs/nested.md, section 5).
    """
    nested = node_key.shape[0] > 0
    d = X.shape[1]
    state = stream_state(seed, DOMAIN_CLUSTER_EMBED, cluster_id, 0)
    state = _unit_normal_vector(state, direction)
    if zero_origin:
        origin[:] = 0.0
    else:  # uniform in the unit ball: isotropic direction, radius U**(1/d)
        state = _unit_normal_vector(state, origin)
        u, state = next_double(state)
        radius = (1.0 - u) ** (1.0 / d)
        for k in range(d):
            origin[k] *= radius
    if s == 1:
        for k in range(d):
            X[p0, k] = scale * (origin[k] + step * direction[k])
        return stack_node, stack_vec, position

    root_latent = n_points + q0
    # Root point: walk down from the root latent, a uniformly random child at each level.
    node = root_latent
    while node >= n_points:
        if nested:
            k, _ = next_below(stream_state(seed, DOMAIN_NESTED_NODE, 2 * cluster_id,
                                           node_key[node] - np.uint64(1)), 2)
        else:
            k, state = next_below(state, 2)
        node = children[node - n_points, k]
    root_point = node

    # Directions flow down the hierarchy (depth-first; a stack of pending (node, vector)).
    # A point's unit vector v_p is parked in its row of X until positions are computed.
    top = 0
    stack_node[0] = root_latent
    stack_vec[0, :] = direction
    while top >= 0:
        node = stack_node[top]
        if node < n_points:
            for k in range(d):
                X[node, k] = stack_vec[top, k]
            top -= 1
            continue
        column = node - n_points
        if nested:
            lstate = stream_state(seed, DOMAIN_NESTED_NODE, 2 * cluster_id, node_key[node])
        else:
            lstate = stream_state(seed, DOMAIN_LATENT_EMBED, cluster_id, column - q0)
        while True:  # w = unit component of a Gaussian orthogonal to v
            dot = 0.0
            for k in range(d):
                gk, lstate = next_normal(lstate)
                g[k] = gk
                dot += gk * stack_vec[top, k]
            norm2 = 0.0
            for k in range(d):
                g[k] -= dot * stack_vec[top, k]
                norm2 += g[k] * g[k]
            if norm2 > 0.0 or d == 1:
                break
        if top + 2 >= stack_node.shape[0]:
            stack_node, stack_vec = _grow_stack(stack_node, stack_vec)
        if norm2 > 0.0:
            # Slot `top` becomes child 0 with (v + w)/sqrt2, slot top+1 child 1 with (v - w)/sqrt2.
            inv = 1.0 / math.sqrt(norm2)
            for k in range(d):
                v = stack_vec[top, k]
                w = g[k] * inv
                stack_vec[top, k] = (v + w) * _INV_SQRT2
                stack_vec[top + 1, k] = (v - w) * _INV_SQRT2
        else:  # d = 1: no direction is orthogonal to v, so both children keep v
            for k in range(d):
                stack_vec[top + 1, k] = stack_vec[top, k]
        stack_node[top] = children[column, 0]
        stack_node[top + 1] = children[column, 1]
        top += 1

    # Tree adjacency of the cluster (local point indices), from its s - 1 edges.
    for i in range(s):
        degree[i] = 0
    for j in range(q0, q0 + s - 1):
        degree[edges[j, 0] - p0] += 1
        degree[edges[j, 1] - p0] += 1
    adj_start[0] = 0
    for i in range(s):
        adj_start[i + 1] = adj_start[i] + degree[i]
        degree[i] = adj_start[i]  # reused as the fill cursor
    for j in range(q0, q0 + s - 1):
        a = edges[j, 0] - p0
        b = edges[j, 1] - p0
        adj[degree[a]] = b
        degree[a] += 1
        adj[degree[b]] = a
        degree[b] += 1

    # Positions along tree edges away from the root point, accumulated in float64 along the
    # current path (position[level] is the position of the last visited node at that level).
    top = 0
    dfs_node[0] = root_point - p0
    dfs_parent[0] = -1
    dfs_level[0] = 0
    while top >= 0:
        i = dfs_node[top]
        parent = dfs_parent[top]
        level = dfs_level[top]
        top -= 1
        if level >= position.shape[0]:
            position = _grow_rows(position)
        row = p0 + i
        for k in range(d):
            base = origin[k] if level == 0 else position[level - 1, k]
            value = base + step * X[row, k]
            position[level, k] = value
            X[row, k] = scale * value
        for e in range(adj_start[i], adj_start[i + 1]):
            nb = adj[e]
            if nb != parent:
                top += 1
                dfs_node[top] = nb
                dfs_parent[top] = i
                dfs_level[top] = level + 1
    return stack_node, stack_vec, position


@njit(cache=True)
def _grow_stack(stack_node, stack_vec):
    n = stack_node.shape[0]
    new_node = np.empty(2 * n, dtype=np.int64)
    new_vec = np.empty((2 * n, stack_vec.shape[1]), dtype=np.float64)
    new_node[:n] = stack_node
    new_vec[:n] = stack_vec
    return new_node, new_vec


@njit(cache=True)
def _grow_rows(rows):
    new = np.empty((2 * rows.shape[0], rows.shape[1]), dtype=np.float64)
    new[: rows.shape[0]] = rows
    return new


@njit(cache=True, parallel=True)
def embed_clusters(cluster_ids, cluster_sizes, point_offsets, latent_offsets, children, edges,
                   zero_origin, step, scale, seed, n_stripes, X, node_key):
    """Embed every cluster of a range into X (n_points, d), float64 or float32.

    Stripes as in the graph stage: cluster c goes to stripe c % n_stripes; each stripe owns
    scratch sized for its largest cluster; results do not depend on the number of stripes.
    """
    n_clusters = cluster_sizes.shape[0]
    n_points = point_offsets[n_clusters]
    d = X.shape[1]
    for stripe in prange(n_stripes):
        if stripe >= n_clusters:
            continue
        capacity = cluster_sizes[stripe]
        direction = np.empty(d, dtype=np.float64)
        origin = np.empty(d, dtype=np.float64)
        g = np.empty(d, dtype=np.float64)
        stack_node = np.empty(64, dtype=np.int64)
        stack_vec = np.empty((64, d), dtype=np.float64)
        degree = np.empty(capacity, dtype=np.int64)
        adj_start = np.empty(capacity + 1, dtype=np.int64)
        adj = np.empty(max(2 * capacity - 2, 1), dtype=np.int64)
        dfs_node = np.empty(capacity, dtype=np.int64)
        dfs_parent = np.empty(capacity, dtype=np.int64)
        dfs_level = np.empty(capacity, dtype=np.int64)
        position = np.empty((64, d), dtype=np.float64)
        for c in range(stripe, n_clusters, n_stripes):
            stack_node, stack_vec, position = \
                _embed_one_cluster(c, cluster_ids[c], cluster_sizes[c], point_offsets[c],
                                   latent_offsets[c], n_points, zero_origin, step, scale, seed,
                                   children, edges, X, direction, origin, g,
                                   stack_node, stack_vec, degree, adj_start, adj, dfs_node,
                                   dfs_parent, dfs_level, position, node_key)
