"""The label stage: a value for every latent and a regression label for every point."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from percolation_tms import io
from percolation_tms.checks import work_stripes
from percolation_tms.labels import _kernels
from percolation_tms.percolation.graph import Graph
from percolation_tms.seeds import value_seed_of


@dataclass(frozen=True)
class Values:
    """Labels of a graph's points and values of its latents.

    Attributes
    ----------
    y : float64 (n_points,), y = value_sum(point) / sqrt(depth + 1), marginally N(0, 1).
    latent_value : float64 (n_latents,), z_j ~ N(0, 1) of every latent (feature column).
    value_sum : float64 (n_latents,), z summed from the latent up to its root.
    value_seed : the seed used.
    """

    y: np.ndarray
    latent_value: np.ndarray
    value_sum: np.ndarray
    value_seed: int


def draw_labels(graph: Graph, value_seed: int | None = None,
                n_threads: int | None = None) -> Values:
    """Draw z for every latent and e for every point; combine them into labels y (spec 4).

    Parameters
    ----------
    graph : the dataset's (or a shard's) graph.
    value_seed : seed of the value streams; default the dataset seed + 20000 (spec section 6).
    n_threads : threads of the kernel (the results do not depend on it).

    Returns
    -------
    Values
        ``y`` float64 (n_points,), ``latent_value`` z and ``value_sum`` (the sum of z over a
        latent and its ancestors) float64 (n_latents,), and the seed used.
    """
    value_seed = value_seed_of(graph.seed, value_seed)
    latent_value = np.empty(graph.n_latents, dtype=np.float64)
    value_sum = np.empty(graph.n_latents, dtype=np.float64)
    y = np.empty(graph.n_points, dtype=np.float64)
    if graph.nested:
        _kernels.draw_values_nested(graph.cluster_ids, graph.point_offsets, graph.latent_offsets,
                                    graph.latent_parent, graph.depth, graph.node_key, value_seed,
                                    work_stripes(n_threads), latent_value, value_sum, y)
    else:
        _kernels.draw_values(graph.cluster_ids, graph.point_offsets, graph.latent_offsets,
                             graph.latent_parent, graph.depth, value_seed, work_stripes(n_threads),
                             latent_value, value_sum, y)
    return Values(y, latent_value, value_sum, value_seed)


def save_values(path: str | os.PathLike, values: Values) -> None:
    io.save_arrays(path, y=values.y, latent_value=values.latent_value,
                   value_sum=values.value_sum, value_seed=np.int64(values.value_seed))


def load_values(path: str | os.PathLike, graph: Graph | None = None) -> Values:
    data = io.load_arrays(path, required=("y", "latent_value", "value_sum", "value_seed"),
                          what="values file")
    values = Values(data["y"], data["latent_value"], data["value_sum"], int(data["value_seed"]))
    if graph is not None and (values.y.shape != (graph.n_points,)
                              or values.latent_value.shape != (graph.n_latents,)):
        raise io.InputFileError(
            f"values file {str(path)!r} has {values.y.shape[0]} points and "
            f"{values.latent_value.shape[0]} latents; the graph has {graph.n_points} and "
            f"{graph.n_latents}")
    return values
