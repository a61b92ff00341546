"""Numba kernel of the label stage: latent values and regression labels (spec section 4)."""

from __future__ import annotations

import math

from numba import njit, prange

from percolation_tms._rng import (
    DOMAIN_CLUSTER_VALUES,
    DOMAIN_NESTED_NODE,
    next_normal,
    stream_state,
)


@njit(cache=True, parallel=True)
def draw_values(cluster_ids, point_offsets, latent_offsets, latent_parent, depth, seed,
                n_stripes, latent_value, value_sum, y):
    """Fill latent_value z (L,), value_sum (L,) and y (N,) cluster by cluster.

    One stream per cluster, (value seed, DOMAIN_CLUSTER_VALUES, cluster id, 0): first the z of
    its latents in column order (root first), then the e of its points in output order.
    value_sum(latent) = z + value_sum(parent); y = (e + value_sum(parent latent)) / sqrt(depth+1).
    Columns run parents before children, so one pass in column order sees every parent first.
    """
    n_clusters = cluster_ids.shape[0]
    n_points = point_offsets[n_clusters]
    for stripe in prange(n_stripes):
        for c in range(stripe, n_clusters, n_stripes):
            state = stream_state(seed, DOMAIN_CLUSTER_VALUES, cluster_ids[c], 0)
            for j in range(latent_offsets[c], latent_offsets[c + 1]):
                z, state = next_normal(state)
                latent_value[j] = z
                parent = latent_parent[n_points + j]
                value_sum[j] = z if parent < 0 else z + value_sum[parent - n_points]
            for p in range(point_offsets[c], point_offsets[c + 1]):
                e, state = next_normal(state)
                parent = latent_parent[p]
                total = e if parent < 0 else e + value_sum[parent - n_points]
                y[p] = total / math.sqrt(depth[p] + 1.0)


@njit(cache=True, parallel=True)
def draw_values_nested(cluster_ids, point_offsets, latent_offsets, latent_parent, depth, node_key,
                       seed, n_stripes, latent_value, value_sum, y):
    """Nested mode: every node's value (z of a latent, e of a point) is the first normal of
    (value seed, DOMAIN_NESTED_NODE, 2 cluster id + 1, node key), so a point that becomes a
    latent at a larger size keeps its value as the latent's z (docs/nested.md)."""
    n_clusters = cluster_ids.shape[0]
    n_points = point_offsets[n_clusters]
    for stripe in prange(n_stripes):
        for c in range(stripe, n_clusters, n_stripes):
            a = 2 * cluster_ids[c] + 1
            for j in range(latent_offsets[c], latent_offsets[c + 1]):
                z, _ = next_normal(stream_state(seed, DOMAIN_NESTED_NODE, a,
                                                node_key[n_points + j]))
                latent_value[j] = z
                parent = latent_parent[n_points + j]
                value_sum[j] = z if parent < 0 else z + value_sum[parent - n_points]
            for p in range(point_offsets[c], point_offsets[c + 1]):
                e, _ = next_normal(stream_state(seed, DOMAIN_NESTED_NODE, a, node_key[p]))
                parent = latent_parent[p]
                total = e if parent < 0 else e + value_sum[parent - n_points]
                y[p] = total / math.sqrt(depth[p] + 1.0)
