"""The graph stage: which points form which cluster, each cluster's random tree and its binary
hierarchy of latent features (spec section 2).

Generation has a cheap sequential part, :func:`plan_clusters` (cluster sizes, in output order),
and an expensive part that is independent per cluster, :func:`build_graph` (trees and latent
forest), which can build any contiguous range of clusters of a plan -- the whole dataset, or
one shard of it -- with identical results.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from percolation_tms import io
from percolation_tms.checks import check_count, check_seed, work_stripes
from percolation_tms.percolation import _kernels, _nested
from percolation_tms.percolation.options import (  # noqa: F401 (re-exported)
    MODES,
    check_flag,
    resolve_create_prob,
)
from percolation_tms.seeds import graph_seed_of


class _ClusterOffsets:
    """Rows and columns of clusters laid out in output order (needs ``cluster_sizes``)."""

    cluster_sizes: np.ndarray

    @property
    def n_clusters(self) -> int:
        return int(self.cluster_sizes.shape[0])

    @property
    def point_offsets(self) -> np.ndarray:
        """int64 (C + 1,): first point row of each cluster."""
        return _offsets(self.cluster_sizes)

    @property
    def latent_offsets(self) -> np.ndarray:
        """int64 (C + 1,): first feature column of each cluster (a cluster has size - 1)."""
        return _offsets(self.cluster_sizes - 1)


@dataclass(frozen=True)
class ClusterPlan(_ClusterOffsets):
    """Cluster sizes of a dataset, in output order (largest first, ties by creation id).

    Attributes
    ----------
    mode, create_prob, size, graph_seed : the generation settings (size = N points).
    cluster_ids : int64 array of shape (C,), creation id of each cluster in output order.
    cluster_sizes : int64 array of shape (C,), non-increasing.
    """

    mode: str
    create_prob: float
    size: int
    graph_seed: int
    cluster_ids: np.ndarray
    cluster_sizes: np.ndarray


def _offsets(counts: np.ndarray) -> np.ndarray:
    offsets = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def plan_clusters(mode: str, size: int, graph_seed: int,
                  create_prob: float | None = None) -> ClusterPlan:
    """Assign N points to clusters (preferential attachment) and order clusters by size."""
    create_prob = resolve_create_prob(mode, create_prob)
    size = check_count("size", size)
    graph_seed = check_seed("graph_seed", graph_seed)
    index_dtype = np.int32 if size < 2**31 else np.int64
    cluster_of = np.empty(size, dtype=index_dtype)
    n_clusters = _kernels.assign_clusters(size, create_prob, graph_seed, cluster_of)
    sizes_by_id = np.bincount(cluster_of, minlength=n_clusters).astype(np.int64)
    del cluster_of
    order = np.argsort(-sizes_by_id, kind="stable").astype(np.int64)
    return ClusterPlan(mode, create_prob, size, graph_seed, order, sizes_by_id[order])


@dataclass(frozen=True)
class Graph(_ClusterOffsets):
    """Trees and latent hierarchy of a contiguous range of clusters of a plan.

    For a whole dataset the range is every cluster; a shard holds a sub-range.  Node ids are
    local to the range: points 0..n_points-1 in output order, then latent (feature column) j is
    node n_points + j.

    Attributes
    ----------
    mode, create_prob, size, graph_seed, seed : settings; ``size`` is the whole dataset's N,
        ``seed`` the dataset seed S (from which the embed and value seeds default).
    cluster_start : index of the range's first cluster in the plan's output order.
    cluster_ids : int64 (C,), creation ids of the range's clusters, output order.
    cluster_sizes : int64 (C,).
    latent_parent : int64 (n_points + n_latents,), parent node id, -1 for roots and singletons.
    depth : int64 (n_points + n_latents,), number of latent ancestors (root latents 0).
    edges : int64 (n_latents, 2), tree edges as point rows; row j was created with latent j
        (nested mode: row j is latent j's edge).
    node_key : uint64 (n_points + n_latents,) in nested mode, None otherwise: every node's key
        in its cluster's hierarchy (docs/nested.md); a node keeps its key at every size, which
        is how datasets of different sizes are matched.
    """

    mode: str
    create_prob: float
    size: int
    graph_seed: int
    seed: int
    cluster_start: int
    cluster_ids: np.ndarray
    cluster_sizes: np.ndarray
    latent_parent: np.ndarray
    depth: np.ndarray
    edges: np.ndarray
    node_key: np.ndarray | None = None

    @property
    def nested(self) -> bool:
        return self.node_key is not None

    @property
    def n_points(self) -> int:
        return int(self.cluster_sizes.sum())

    @property
    def n_latents(self) -> int:
        return int(self.edges.shape[0])

    def point_cluster_id(self) -> np.ndarray:
        """int64 (n_points,): creation id of each point's cluster."""
        return np.repeat(self.cluster_ids, self.cluster_sizes)

    def point_cluster_size(self) -> np.ndarray:
        """int64 (n_points,): size of each point's cluster."""
        return np.repeat(self.cluster_sizes, self.cluster_sizes)

    def children(self) -> np.ndarray:
        """int64 (n_latents, 2): the two children of every latent, smaller node id first
        (nested mode: the hierarchy's child 0 first, the child whose key is child_key(., 0))."""
        children = _kernels.children_from_parent(self.latent_parent, self.n_points)
        if self.nested:
            _nested.order_children(children, self.node_key, self.n_points)
        return children


def build_graph(plan: ClusterPlan, seed: int | None = None, cluster_start: int = 0,
                cluster_stop: int | None = None, n_threads: int | None = None,
                nested: bool = False) -> Graph:
    """Build the trees and latent forest of clusters [cluster_start, cluster_stop) of a plan.

    ``seed`` is the dataset seed recorded in the graph (default: the plan's graph seed).
    ``nested``: build every cluster by the size-consistent construction of docs/nested.md
    (the same law of trees and hierarchies; datasets of different sizes from the same seeds
    refine one another) instead of the cyclic coalescent.
    """
    cluster_stop = plan.n_clusters if cluster_stop is None else cluster_stop
    if not 0 <= cluster_start <= cluster_stop <= plan.n_clusters:  # empty ranges are allowed
        raise ValueError(f"cluster range [{cluster_start}, {cluster_stop}) is not inside "
                         f"[0, {plan.n_clusters})")
    ids = np.ascontiguousarray(plan.cluster_ids[cluster_start:cluster_stop])
    sizes = np.ascontiguousarray(plan.cluster_sizes[cluster_start:cluster_stop])
    point_offsets, latent_offsets = _offsets(sizes), _offsets(sizes - 1)
    n_points, n_latents = int(point_offsets[-1]), int(latent_offsets[-1])
    latent_parent = np.full(n_points + n_latents, -1, dtype=np.int64)
    depth = np.zeros(n_points + n_latents, dtype=np.int64)
    edges = np.empty((n_latents, 2), dtype=np.int64)
    node_key = None
    if nested:
        node_key = np.empty(n_points + n_latents, dtype=np.uint64)
        _nested.build_nested_clusters(ids, sizes, point_offsets, latent_offsets,
                                      plan.graph_seed, work_stripes(n_threads), latent_parent,
                                      depth, edges, node_key[:n_points], node_key[n_points:])
    else:
        _kernels.build_clusters(ids, sizes, point_offsets, latent_offsets, plan.graph_seed,
                                work_stripes(n_threads), latent_parent, depth, edges)
    return Graph(plan.mode, plan.create_prob, plan.size, plan.graph_seed,
                 plan.graph_seed if seed is None else int(seed), int(cluster_start), ids, sizes,
                 latent_parent, depth, edges, node_key)


def generate_graph(mode: str, size: int, seed: int, create_prob: float | None = None,
                   graph_seed: int | None = None, nested: bool = False) -> Graph:
    """Plan and build a whole dataset's graph.  ``seed`` is the dataset seed S; the graph seed
    defaults to S (spec section 6)."""
    plan = plan_clusters(mode, size, graph_seed_of(seed, graph_seed), create_prob)
    return build_graph(plan, seed=check_seed("seed", seed), nested=check_flag("nested", nested))


# ------------------------------------------------------------------------------- files
_GRAPH_KEYS = ("edges", "latent_parent", "depth", "cluster_ids", "cluster_sizes", "size",
               "seed", "graph_seed", "mode", "create_prob")


def save_graph(path: str | os.PathLike, graph: Graph) -> None:
    """Write a graph file (``docs/file-formats.md``: the keys of ``<stem>_graph.npz``)."""
    if graph.cluster_start != 0 or graph.n_points != graph.size:
        raise ValueError("save_graph writes whole datasets; shards have their own files")
    io.save_arrays(path, edges=graph.edges, latent_parent=graph.latent_parent,
                   depth=graph.depth, cluster_ids=graph.cluster_ids,
                   cluster_sizes=graph.cluster_sizes, size=np.int64(graph.size),
                   seed=np.int64(graph.seed), graph_seed=np.int64(graph.graph_seed),
                   mode=np.str_(graph.mode), create_prob=np.float64(graph.create_prob),
                   **({"node_key": graph.node_key} if graph.nested else {}))


def load_graph(path: str | os.PathLike) -> Graph:
    """Read a graph file written by :func:`save_graph`, checking that its arrays agree."""
    data = io.load_arrays(path, required=_GRAPH_KEYS, what="graph file")
    graph = Graph(str(data["mode"]), float(data["create_prob"]), int(data["size"]),
                  int(data["graph_seed"]), int(data["seed"]), 0, data["cluster_ids"],
                  data["cluster_sizes"], data["latent_parent"], data["depth"], data["edges"],
                  data.get("node_key"))
    n, n_latents = graph.n_points, graph.size - graph.n_clusters
    if (n != graph.size or graph.edges.shape != (n_latents, 2)
            or graph.latent_parent.shape != (n + n_latents,)
            or graph.depth.shape != (n + n_latents,)
            or graph.nested and graph.node_key.shape != (n + n_latents,)):
        raise io.InputFileError(f"graph file {str(path)!r} is inconsistent: size {graph.size}, "
                                f"cluster sizes sum to {n}, edges {graph.edges.shape}, "
                                f"latent_parent {graph.latent_parent.shape}")
    return graph
