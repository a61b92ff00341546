"""The feature stage: ground-truth latent features as a sparse matrix (spec section 5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from percolation_tms.checks import check_count, work_stripes
from percolation_tms.features import _kernels
from percolation_tms.percolation.graph import Graph


@dataclass(frozen=True)
class PointMetadata:
    """Per-point summary, each int64 of shape (n_points,)."""

    cluster_id: np.ndarray
    cluster_size: np.ndarray
    latent_tree_height: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"cluster_id": self.cluster_id, "cluster_size": self.cluster_size,
                "latent_tree_height": self.latent_tree_height}


def point_metadata(graph: Graph) -> PointMetadata:
    return PointMetadata(graph.point_cluster_id(), graph.point_cluster_size(),
                         graph.depth[: graph.n_points].copy())


def resolve_n_features(graph_n_latents: int, n_features: int | None) -> int:
    """Validate ``n_features`` (1 <= k <= n_latents); None keeps every column."""
    if n_features is None:
        return graph_n_latents
    k = check_count("n_features", n_features)
    if k > graph_n_latents:
        raise ValueError(f"n_features must lie in [1, n_latents = {graph_n_latents}]; got {k}")
    return k


def ground_truth_features(graph: Graph, latent_value: np.ndarray | None = None,
                          n_features: int | None = None, binary: bool = False
                          ) -> sparse.csr_matrix:
    """F of shape (n_points, k): F[i, j] != 0 exactly when latent j is an ancestor of point i.

    Stored values are the latent values z_j (the published datasets' default; each full row
    then sums to the value_sum of the point's parent latent) or 1 with ``binary=True``.
    Columns: clusters in output order, root first inside a cluster, parents before children;
    ``n_features = k`` keeps the first k columns (1 <= k <= n_latents).  Indices are int32
    when they fit, int64 otherwise; every row's indices are sorted.
    """
    k = resolve_n_features(graph.n_latents, n_features)
    n = graph.n_points
    if not binary:
        if latent_value is None:
            raise ValueError("latent_value is required unless binary=True")
        latent_value = np.ascontiguousarray(latent_value, dtype=np.float64)
        if latent_value.shape != (graph.n_latents,):
            raise ValueError(f"latent_value must have shape ({graph.n_latents},); "
                             f"got {latent_value.shape}")
    else:
        latent_value = np.zeros(1, dtype=np.float64)
    children = graph.children()
    stripes = work_stripes()
    empty_i = np.zeros(0, dtype=np.int64)
    if k == graph.n_latents:
        counts = graph.depth[:n]  # every ancestor is kept
    else:
        counts = np.empty(n, dtype=np.int64)
        _kernels.walk_clusters(graph.cluster_sizes, graph.point_offsets, graph.latent_offsets,
                               children, k, empty_i, latent_value, binary, True, stripes,
                               counts, empty_i, np.zeros(0))
    nnz = int(counts.sum())
    index_dtype = np.int32 if max(nnz, k) < 2**31 else np.int64
    indptr = np.zeros(n + 1, dtype=index_dtype)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(nnz, dtype=index_dtype)
    data = np.empty(nnz, dtype=np.float64)
    _kernels.walk_clusters(graph.cluster_sizes, graph.point_offsets, graph.latent_offsets,
                           children, k, indptr, latent_value, binary, False, stripes,
                           empty_i, indices, data)
    matrix = sparse.csr_matrix((data, indices, indptr), shape=(n, k), copy=False)
    matrix.has_sorted_indices = True
    return matrix
