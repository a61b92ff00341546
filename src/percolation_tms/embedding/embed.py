"""The embedding stage: a branching random walk places every point in R^d (spec section 3).

The kernels are imported on the first call of :func:`embed`, so that ``DTYPES`` and
``resolve_dtype`` (which ``DatasetConfig`` and the command line use) do not load numba.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from percolation_tms.checks import check_count, work_stripes
from percolation_tms.seeds import embed_seed_of

if TYPE_CHECKING:
    from percolation_tms.percolation.graph import Graph

DTYPES = {"float64": np.float64, "float32": np.float32}


def step_length(mode: str, size: int) -> float:
    """h = N^(-1/4) in one_cluster mode, N^(-1/6) otherwise (N = the dataset's size)."""
    return float(size) ** (-0.25 if mode == "one_cluster" else -1.0 / 6.0)


def resolve_dtype(dtype) -> np.dtype:
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    return np.dtype(DTYPES[name])


def embed(graph: Graph, dim: int, embed_seed: int | None = None, dtype="float64",
          n_threads: int | None = None) -> np.ndarray:
    """Positions of the graph's points in R^dim.

    Each cluster gets an isotropic unit vector e_c and an origin o_c (zero in one_cluster mode,
    uniform in the unit ball otherwise).  Unit vectors flow down the latent hierarchy: a latent
    with vector v draws a Gaussian g, takes w = the unit part of g orthogonal to v, and gives
    child 0 (the child with the smaller node id) (v + w)/sqrt 2 and child 1 (v - w)/sqrt 2.
    A root point is reached by a random walk down from the root latent; then positions grow
    along tree edges away from it, x_p = x_parent + h v_p (x_root = o_c + h v_root), and are
    finally scaled by sqrt(dim).  Positions are accumulated in float64 along tree paths even
    when ``dtype`` is float32.

    Parameters
    ----------
    graph : the graph (a whole dataset, or a shard: results agree row for row).
    dim : embedding dimension d >= 1.
    embed_seed : default dataset seed + 10000.
    dtype : "float64" (default) or "float32".

    Returns
    -------
    X : array of shape (graph.n_points, dim), rows in output order.
    """
    from percolation_tms.embedding import _kernels

    dim = check_count("dim", dim)
    dtype = resolve_dtype(dtype)
    embed_seed = embed_seed_of(graph.seed, embed_seed)
    X = np.empty((graph.n_points, dim), dtype=dtype)
    _kernels.embed_clusters(graph.cluster_ids, graph.cluster_sizes, graph.point_offsets,
                            graph.latent_offsets, graph.children(), graph.edges,
                            graph.mode == "one_cluster", step_length(graph.mode, graph.size),
                            math.sqrt(dim), embed_seed, work_stripes(n_threads), X,
                            graph.node_key if graph.nested else _NO_KEYS)
    return X


_NO_KEYS = np.empty(0, dtype=np.uint64)  # default mode: streams keyed by latent index
