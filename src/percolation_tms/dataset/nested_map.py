"""The correspondence between two nested datasets of sizes N <= N' from the same seeds.

In nested mode (docs/nested.md) every node of a cluster's hierarchy has a key that does not
depend on the dataset's size, so nodes are matched by (cluster id, key): a point of the smaller
dataset is either a point of the larger one (same cluster, depth, value and label) or a latent
of it whose subtree holds its refinement; a latent of the smaller is a latent of the larger.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from percolation_tms import io
from percolation_tms.percolation.graph import Graph, load_graph


@dataclass(frozen=True)
class NestedMap:
    """Node ids of the smaller dataset's nodes in the larger one, and back.

    Attributes
    ----------
    point_to_large : int64 (N,): node id in the larger dataset of every point of the smaller
        (a row < N' when the point persists, N' + column when it became a latent).
    latent_to_large : int64 (L,): node id (N' + column) of every latent of the smaller.
    large_to_small : int64 (N',): for every point of the larger dataset, the point of the
        smaller whose refinement holds it (itself when it persists); -1 in clusters the smaller
        dataset does not have.
    persists : bool (N,): the smaller dataset's point is a point of the larger one.
    """

    small_size: int
    large_size: int
    point_to_large: np.ndarray
    latent_to_large: np.ndarray
    large_to_small: np.ndarray
    persists: np.ndarray


def _node_clusters(graph: Graph) -> np.ndarray:
    return np.concatenate([np.repeat(graph.cluster_ids, graph.cluster_sizes),
                           np.repeat(graph.cluster_ids, graph.cluster_sizes - 1)])


def _check_pair(small: Graph, large: Graph) -> None:
    if not (small.nested and large.nested):
        raise ValueError("map-nested needs two nested datasets (generated with --nested)")
    for name in ("mode", "create_prob", "graph_seed"):
        if getattr(small, name) != getattr(large, name):
            raise ValueError(f"the datasets differ in {name} ({getattr(small, name)!r} and "
                             f"{getattr(large, name)!r}); only datasets from the same seeds "
                             f"and mode refine one another")
    if small.size > large.size:
        raise ValueError(f"the small dataset has {small.size} points, more than the large "
                         f"one ({large.size}); swap them")


def map_nested(small: Graph, large: Graph) -> NestedMap:
    """Match every node of ``small`` to its node in ``large`` by (cluster id, key)."""
    _check_pair(small, large)
    n_small, n_large = small.n_points, large.n_points
    order = np.lexsort((large.node_key, _node_clusters(large)))
    table = np.empty(order.shape[0], dtype=[("c", np.int64), ("k", np.uint64)])
    table["c"] = _node_clusters(large)[order]
    table["k"] = large.node_key[order]
    query = np.empty(small.node_key.shape[0], dtype=table.dtype)
    query["c"] = _node_clusters(small)
    query["k"] = small.node_key
    position = np.minimum(np.searchsorted(table, query), table.shape[0] - 1)
    found = table[position] == query
    if not found.all():
        missing = int((~found).sum())
        raise ValueError(f"{missing} nodes of the small dataset are not in the large one: the "
                         f"datasets were not generated from the same seeds in nested mode")
    small_to_large = order[position].astype(np.int64)
    point_to_large = small_to_large[:n_small]
    # Every large point: walk up until a node that is a point of the small dataset.
    owner = np.full(n_large + large.n_latents, -1, dtype=np.int64)
    owner[point_to_large] = np.arange(n_small, dtype=np.int64)
    large_to_small = owner[:n_large].copy()
    current = np.arange(n_large, dtype=np.int64)
    pending = large_to_small < 0
    while pending.any():
        current[pending] = large.latent_parent[current[pending]]
        pending &= current >= 0
        hit = pending & (owner[np.maximum(current, 0)] >= 0)
        large_to_small[hit] = owner[current[hit]]
        pending &= ~hit
    return NestedMap(small.size, large.size, point_to_large, small_to_large[n_small:],
                     large_to_small, point_to_large < n_large)


def _graph_file(path: str | os.PathLike) -> Path:
    """A graph file, or the graph file beside a dataset's main file ``<stem>.npz``."""
    path = Path(path)
    if path.name.endswith("_graph.npz"):
        return path
    return io.DatasetPaths.from_main_file(path).graph


def map_nested_files(small_path: str | os.PathLike, large_path: str | os.PathLike,
                     out_path: str | os.PathLike) -> NestedMap:
    """Read two datasets (main files or graph files), write their map (``map.npz``)."""
    small = load_graph(_graph_file(small_path))
    large = load_graph(_graph_file(large_path))
    mapping = map_nested(small, large)
    io.save_arrays(out_path, point_to_large=mapping.point_to_large,
                   latent_to_large=mapping.latent_to_large,
                   large_to_small=mapping.large_to_small, persists=mapping.persists,
                   small_size=np.int64(mapping.small_size),
                   large_size=np.int64(mapping.large_size),
                   graph_seed=np.int64(small.graph_seed), mode=np.str_(small.mode))
    return mapping
