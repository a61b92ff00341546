"""Numba kernels of the graph stage: cluster assignment and the cyclic coalescent.

Flat arrays only.  Node ids inside a kernel are local to the range of clusters being built:
points 0..n_points-1 (clusters in output order, creation order inside a cluster), then latent
column j is node n_points + j.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from percolation_tms._rng import (
    DOMAIN_CLUSTER_ASSIGN,
    DOMAIN_CLUSTER_BUILD,
    next_below,
    next_double,
    stream_state,
)


@njit(cache=True)
def assign_clusters(n_points, create_prob, seed, cluster_of):
    """Fill ``cluster_of`` (n_points,) with creation cluster ids; return the number of clusters.

    Point 0 opens cluster 0.  Point i >= 1 opens a new cluster with probability ``create_prob``,
    otherwise joins the cluster of a uniformly chosen earlier point (one sequential stream: this
    is the cheap, inherently sequential part of generation).
    """
    state = stream_state(seed, DOMAIN_CLUSTER_ASSIGN, 0, 0)
    cluster_of[0] = 0
    n_clusters = 1
    for i in range(1, n_points):
        u, state = next_double(state)
        if u < create_prob:
            cluster_of[i] = n_clusters
            n_clusters += 1
        else:
            j, state = next_below(state, i)
            cluster_of[i] = cluster_of[j]
    return n_clusters


@njit(cache=True, inline="always")
def _find(uf, x):
    """Union-find root of position x, with path halving."""
    while uf[x] != x:
        uf[x] = uf[uf[x]]
        x = uf[x]
    return x


@njit(cache=True)
def _build_one_cluster(s, cluster_id, point_start, latent_start, n_points, seed,
                       latent_parent, depth, edges,
                       perm, uf, block_start, block_size, block_rep, block_next):
    """Cyclic coalescent of one cluster of s >= 2 points (spec section 2, step by step).

    Latent t (t-th merge) becomes feature column latent_start + (s - 2 - t): columns run root
    first, and every latent comes before its children (a parent is always created later).
    Edge row of column j is the tree edge created together with latent j.
    """
    state = stream_state(seed, DOMAIN_CLUSTER_BUILD, cluster_id, 0)
    # 1. Uniformly random cyclic order: position -> local point index (Fisher-Yates).
    for i in range(s):
        perm[i] = i
    for i in range(s - 1, 0, -1):
        j, state = next_below(state, i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    # 2. One block per position.  Block data lives at the union-find root of its positions;
    #    block_next holds *a position* of the following block (re-found when read, so union by
    #    size may move a root without leaving stale pointers behind).
    for pos in range(s):
        uf[pos] = pos
        block_start[pos] = pos
        block_size[pos] = 1
        block_rep[pos] = point_start + perm[pos]
        block_next[pos] = pos + 1 if pos + 1 < s else 0
    # 3. s - 1 merges.
    for t in range(s - 1):
        u, state = next_below(state, s)
        a = _find(uf, u)
        b = _find(uf, block_next[a])
        r, state = next_below(state, block_size[b])
        v = block_start[b] + r
        if v >= s:
            v -= s
        column = latent_start + (s - 2 - t)
        node = n_points + column
        edges[column, 0] = point_start + perm[u]
        edges[column, 1] = point_start + perm[v]
        latent_parent[block_rep[a]] = node
        latent_parent[block_rep[b]] = node
        # Merge B into A (A's arc grows by B, its successor becomes B's successor).
        merged_start = block_start[a]
        merged_size = block_size[a] + block_size[b]
        merged_next = block_next[b]
        if block_size[a] >= block_size[b]:
            root = a
            uf[b] = a
        else:
            root = b
            uf[a] = b
        block_start[root] = merged_start
        block_size[root] = merged_size
        block_rep[root] = node
        block_next[root] = merged_next
    # 4. The root latent (column latent_start) has no parent.  Depths, parents first.
    latent_parent[n_points + latent_start] = -1
    depth[n_points + latent_start] = 0
    for column in range(latent_start + 1, latent_start + s - 1):
        node = n_points + column
        depth[node] = depth[latent_parent[node]] + 1
    for p in range(point_start, point_start + s):
        depth[p] = depth[latent_parent[p]] + 1


@njit(cache=True, parallel=True)
def build_clusters(cluster_ids, cluster_sizes, point_offsets, latent_offsets, seed, n_stripes,
                   latent_parent, depth, edges):
    """Build every cluster of a range (sizes sorted largest first) into the output arrays.

    Clusters are dealt to ``n_stripes`` stripes (cluster c to stripe c % n_stripes), so every
    stripe gets a similar mix of large and small clusters; each stripe owns scratch buffers
    sized for its largest cluster.  A cluster's randomness depends only on (seed, cluster id),
    and every cluster writes disjoint slices, so the result does not depend on the number of
    stripes or threads.
    """
    n_clusters = cluster_sizes.shape[0]
    n_points = point_offsets[n_clusters]
    for stripe in prange(n_stripes):
        if stripe >= n_clusters:
            continue
        capacity = cluster_sizes[stripe]  # largest cluster of this stripe
        perm = np.empty(capacity, dtype=np.int64)
        uf = np.empty(capacity, dtype=np.int64)
        block_start = np.empty(capacity, dtype=np.int64)
        block_size = np.empty(capacity, dtype=np.int64)
        block_rep = np.empty(capacity, dtype=np.int64)
        block_next = np.empty(capacity, dtype=np.int64)
        for c in range(stripe, n_clusters, n_stripes):
            s = cluster_sizes[c]
            p0 = point_offsets[c]
            if s == 1:
                latent_parent[p0] = -1
                depth[p0] = 0
                continue
            _build_one_cluster(s, cluster_ids[c], p0, latent_offsets[c], n_points, seed,
                               latent_parent, depth, edges,
                               perm, uf, block_start, block_size, block_rep, block_next)


@njit(cache=True)
def children_from_parent(latent_parent, n_points):
    """(L, 2) children of every latent, from the parent array; child 0 has the smaller node id.

    This is the documented child order used by the embedding (child 0 gets (v + w)/sqrt 2).
    """
    n_latents = latent_parent.shape[0] - n_points
    children = np.full((n_latents, 2), -1, dtype=np.int64)
    for node in range(latent_parent.shape[0]):
        parent = latent_parent[node]
        if parent >= 0:
            j = parent - n_points
            if children[j, 0] < 0:
                children[j, 0] = node
            else:
                children[j, 1] = node
    return children
