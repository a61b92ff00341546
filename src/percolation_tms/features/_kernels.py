"""Numba kernels of the feature stage: each point's latent ancestors as CSR rows.

Rows are filled top-down, cluster by cluster: a depth-first walk from the cluster's root latent
keeps the columns of the current root-to-node path in a small array, and every point reached
gets a copy of it.  This touches each cluster's arrays sequentially instead of chasing every
point's parent chain through the whole dataset (which misses the cache once the arrays outgrow
it: 50x slower per point at N = 10M than at 1M).  Columns along a root-to-leaf path increase
(a parent's column is smaller than its child's), so rows come out sorted.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _walk_cluster(c, point_offsets, latent_offsets, children, n_points, n_features,
                  indptr, latent_value, binary, count_only, counts, indices, data,
                  stack_node, stack_depth, path):
    """Visit cluster c depth first; count (count_only) or write the kept ancestors of each
    point.  ``path[d]`` is the column of the ancestor at depth d of the node being visited."""
    p0, q0 = point_offsets[c], latent_offsets[c]
    if latent_offsets[c + 1] == q0:  # a singleton: no ancestor
        if count_only:
            counts[p0] = 0
        return
    top = 0
    stack_node[0] = n_points + q0
    stack_depth[0] = 0
    while top >= 0:
        node = stack_node[top]
        depth = stack_depth[top]
        top -= 1
        if node >= n_points:
            column = node - n_points
            path[depth] = column
            top += 1
            stack_node[top] = children[column, 0]
            stack_depth[top] = depth + 1
            top += 1
            stack_node[top] = children[column, 1]
            stack_depth[top] = depth + 1
            continue
        # A point at depth d has the d ancestors path[0..d-1]; the kept ones (column <
        # n_features) are a prefix, since columns increase along the path.
        kept = 0
        while kept < depth and path[kept] < n_features:
            kept += 1
        if count_only:
            counts[node] = kept
        else:
            start = indptr[node]
            for i in range(kept):
                indices[start + i] = path[i]
                data[start + i] = 1.0 if binary else latent_value[path[i]]


@njit(cache=True, parallel=True)
def walk_clusters(cluster_sizes, point_offsets, latent_offsets, children, n_features, indptr,
                  latent_value, binary, count_only, n_stripes, counts, indices, data):
    """Count (``count_only``) or fill the CSR rows of every cluster of a range.

    Clusters are dealt to stripes (cluster c to stripe c % n_stripes) with scratch sized for
    the stripe's largest cluster; every cluster writes only its own rows, so the result does
    not depend on the number of stripes or threads.
    """
    n_clusters = cluster_sizes.shape[0]
    n_points = point_offsets[n_clusters]
    for stripe in prange(n_stripes):
        if stripe >= n_clusters:
            continue
        capacity = cluster_sizes[stripe] + 1
        stack_node = np.empty(capacity, dtype=np.int64)
        stack_depth = np.empty(capacity, dtype=np.int64)
        path = np.empty(capacity, dtype=np.int64)
        for c in range(stripe, n_clusters, n_stripes):
            _walk_cluster(c, point_offsets, latent_offsets, children, n_points, n_features,
                          indptr, latent_value, binary, count_only, counts, indices, data,
                          stack_node, stack_depth, path)
