"""Whole datasets: generate every stage in memory, export the users' files, load, filter."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from percolation_tms import _progress, io
from percolation_tms.checks import check_count
from percolation_tms.dataset.config import DatasetConfig
from percolation_tms.embedding import embed
from percolation_tms.embedding.embed import resolve_dtype
from percolation_tms.features import (
    PointMetadata,
    ground_truth_features,
    point_metadata,
    resolve_n_features,
)
from percolation_tms.labels import Values, draw_labels
from percolation_tms.percolation.graph import (
    Graph,
    build_graph,
    plan_clusters,
    save_graph,
)

METADATA_KEYS = ("cluster_id", "cluster_size", "latent_tree_height")


@dataclass(frozen=True)
class Dataset:
    """A generated dataset held in memory.

    Attributes
    ----------
    graph : clusters, trees and latent hierarchy (node ids as in the graph file).
    X : (N, dim) float64 or float32, the embedded points.
    values : labels y (N,) and latent values z (L,).
    features : CSR (N, k) ground-truth features (k = L unless truncated).
    metadata : cluster_id, cluster_size, latent_tree_height, each (N,).
    embed_seed : the seed the embedding used.
    """

    graph: Graph
    X: np.ndarray
    values: Values
    features: sparse.csr_matrix
    metadata: PointMetadata
    embed_seed: int

    @property
    def y(self) -> np.ndarray:
        return self.values.y

    @property
    def dim(self) -> int:
        return int(self.X.shape[1])

    def paths(self, outdir: str | os.PathLike) -> io.DatasetPaths:
        return io.DatasetPaths(outdir, self.graph.size, self.dim, self.graph.seed)


def generate(mode: str, size: int, dim: int, seed: int, *, memory_check: bool = False,
             **options) -> Dataset:
    """Generate a dataset: graph, embedding, labels and ground-truth features.

    Parameters
    ----------
    mode : ``"one_cluster"``, ``"distribution"`` or ``"custom"``.
    size, dim : N points in R^d.
    seed : the dataset seed S (graph S, embed S + 10000, value S + 20000).
    **options : any other setting of :class:`~percolation_tms.dataset.config.DatasetConfig`
        (``create_prob``, ``graph_seed``, ``embed_seed``, ``value_seed``, ``dtype``,
        ``n_features``, ``binary``, ``nested``), with its defaults.  ``nested=True`` builds
        the clusters by the size-consistent construction of docs/nested.md: the same
        distribution at every size, and datasets of sizes N < N' from the same seeds refine
        one another (:func:`percolation_tms.dataset.map_nested` gives the correspondence).

    memory_check : bool
        Once the graph is built (a small part of the work), estimate the peak memory from its
        actual tree depths and raise ``memory.MemoryCheckError`` if it exceeds what the
        machine has (:mod:`percolation_tms.dataset.memory`).

    Every setting is validated before any work starts (``n_features`` against the number of
    latents once the graph is known).
    """
    return generate_dataset(DatasetConfig(mode=mode, size=size, dim=dim, seed=seed, **options),
                            memory_check=memory_check)


def generate_dataset(config: DatasetConfig, *, memory_check: bool = False) -> Dataset:
    """:func:`generate` for a :class:`~percolation_tms.dataset.config.DatasetConfig`.

    Returns
    -------
    Dataset
        The graph, X (N, d) of the config's dtype, the values (y and the latent values), the
        CSR ground-truth features (N, k) and the per-point metadata.
    """
    mode, size, dim = config.mode, config.size, config.dim
    create_prob = config.resolved_create_prob
    seeds = config.seeds
    dtype = resolve_dtype(config.dtype)
    n_features, binary = config.n_features, config.binary

    with _progress.stage(f"graph: {mode}, {size:,} points, graph seed {seeds.graph}"
                         f"{', nested' if config.nested else ''}"):
        plan = plan_clusters(mode, size, seeds.graph, create_prob if mode == "custom" else None)
        graph = build_graph(plan, seed=seeds.seed, nested=config.nested)
    _progress.log(f"{graph.n_clusters:,} clusters (largest {int(graph.cluster_sizes[0]):,}), "
                  f"{graph.n_latents:,} latents")
    n_features = resolve_n_features(graph.n_latents, n_features)
    if memory_check:
        from percolation_tms.dataset import memory

        memory.check_fits(mode, size, dim, dtype.name, "generate",
                          mean_depth=float(graph.depth[:graph.n_points].mean()))
    with _progress.stage(f"embedding: d = {dim}, {dtype.name}, embed seed {seeds.embed}"):
        X = embed(graph, dim, seeds.embed, dtype)
    with _progress.stage("labels"):
        values = draw_labels(graph, seeds.value)
    with _progress.stage(f"features: {n_features:,} columns, "
                         f"{'binary' if binary else 'latent values'}"):
        features = ground_truth_features(graph, values.latent_value, n_features, binary)
    return Dataset(graph, X, values, features, point_metadata(graph), seeds.embed)


def save_dataset(dataset: Dataset, outdir: str | os.PathLike, compress: bool = False
                 ) -> io.DatasetPaths:
    """Write the four files of a dataset (spec section 7 plus the graph file), atomically.

    Parameters
    ----------
    dataset : from :func:`generate`.
    outdir : the folder; the files are named ``percolation_dataset_size<N>_dim<D>_seed<S>*``.
    compress : zip-compress the ``.npz`` files (slower; they load the same way).

    Returns
    -------
    io.DatasetPaths
        The paths written (``.main``, ``.features``, ``.metadata``, ``.graph``).
    """
    paths = dataset.paths(outdir)
    write_dataset_files(paths, dataset.X, dataset.y, dataset.features, dataset.metadata,
                        dataset.graph, compress)
    return paths


def write_dataset_files(paths: io.DatasetPaths, X: np.ndarray, y: np.ndarray,
                        features: sparse.csr_matrix, metadata: PointMetadata,
                        graph: Graph | None, compress: bool = False) -> None:
    with _progress.stage(f"writing {paths.outdir / paths.stem}*.npz"):
        meta = metadata.as_dict()
        io.save_arrays(paths.main, compress, X=X, y=y, **meta)
        io.save_sparse(paths.features, features, compress)
        io.save_arrays(paths.metadata, compress, **meta)
        if graph is not None:
            save_graph(paths.graph, graph)


def export_dataset(graph_file: str | os.PathLike, embedding_file: str | os.PathLike,
                   values_file: str | os.PathLike, outdir: str | os.PathLike,
                   n_features: int | None = None, binary: bool = False,
                   compress: bool = False) -> io.DatasetPaths:
    """Write the users' files of a dataset from the stage outputs (the workflow's path).

    Parameters
    ----------
    graph_file, embedding_file, values_file : the files of ``generate-graph``, ``embed``
        (``X.npy``) and ``label``.
    outdir : folder of the dataset files (named as in spec section 7).
    n_features, binary, compress : as for :func:`generate` and :func:`save_dataset`.
    """
    from percolation_tms.labels import load_values
    from percolation_tms.percolation import load_graph

    graph = load_graph(graph_file)
    values = load_values(values_file, graph)
    try:
        X = np.load(embedding_file, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise io.InputFileError(f"embedding {str(embedding_file)!r} is not a readable .npy "
                                f"file ({exc})") from exc
    if X.ndim != 2 or X.shape[0] != graph.n_points:
        raise io.InputFileError(f"embedding {str(embedding_file)!r} has shape {X.shape}; the "
                                f"graph has {graph.n_points} points")
    with _progress.stage("features"):
        features = ground_truth_features(graph, values.latent_value, n_features, binary)
    paths = io.DatasetPaths(outdir, graph.size, X.shape[1], graph.seed)
    write_dataset_files(paths, X, values.y, features, point_metadata(graph), graph, compress)
    return paths


@dataclass(frozen=True)
class LoadedDataset:
    """A dataset read back from its files (graph is None when the graph file is absent)."""

    paths: io.DatasetPaths
    X: np.ndarray
    y: np.ndarray
    features: sparse.csr_matrix
    metadata: PointMetadata
    graph: Graph | None


def load_dataset(main_file: str | os.PathLike, need_graph: bool = False) -> LoadedDataset:
    """Read a dataset from its main ``<stem>.npz`` and the files beside it.

    Parameters
    ----------
    main_file : the dataset's ``<stem>.npz``; ``<stem>_gt_features.npz``,
        ``<stem>_gt_metadata.npz`` and (when present, or required by ``need_graph``)
        ``<stem>_graph.npz`` are read from beside it.
    need_graph : raise ``io.InputFileError`` when the graph file is missing.

    Returns
    -------
    LoadedDataset
        X, y, the CSR features, the metadata and the graph (None when absent), checked to
        belong together (same number of rows).
    """
    from percolation_tms.percolation import load_graph

    paths = io.DatasetPaths.from_main_file(main_file)
    main = io.load_arrays(paths.main, required=("X", "y"), what="dataset file")
    features = io.load_sparse(paths.features, what="feature file")
    meta = io.load_arrays(paths.metadata, required=METADATA_KEYS, what="metadata file")
    n = main["X"].shape[0]
    for name, rows in (("y", main["y"].shape[0]), ("feature file", features.shape[0]),
                       *((f"metadata {key}", meta[key].shape[0]) for key in METADATA_KEYS)):
        if rows != n:
            raise io.InputFileError(f"dataset {str(paths.main)!r} has {n} rows of X but {name} "
                                    f"has {rows}: the files do not belong together")
    graph = None
    if paths.graph.is_file() or need_graph:
        graph = load_graph(paths.graph)
        if graph.n_points != n:
            raise io.InputFileError(f"graph file {str(paths.graph)!r} has {graph.n_points} "
                                    f"points; the dataset has {n}")
    metadata = PointMetadata(*(meta[key] for key in METADATA_KEYS))
    return LoadedDataset(paths, main["X"], main["y"], features, metadata, graph)


def filter_suffix(min_size: int | None, max_size: int | None) -> str:
    parts = []
    if min_size is not None:
        parts.append(f"_minsize{min_size}")
    if max_size is not None:
        parts.append(f"_maxsize{max_size}")
    return "".join(parts)


def filter_dataset(main_file: str | os.PathLike, min_size: int | None = None,
                   max_size: int | None = None, outdir: str | os.PathLike | None = None,
                   compress: bool = False) -> io.DatasetPaths:
    """Keep the points of clusters with min_size <= size <= max_size; write a derived dataset.

    Rows of X, y, features and metadata stay aligned; feature columns left empty are dropped;
    the graph file (when present) is restricted to the kept clusters, its node ids renumbered.

    Parameters
    ----------
    main_file : the dataset's ``<stem>.npz``.
    min_size, max_size : the cluster sizes kept (either may be None: no bound).
    outdir : where to write (default: beside the input).
    compress : zip-compress the ``.npz`` files.

    Returns
    -------
    io.DatasetPaths
        The derived files, named ``<stem>_minsize<A>_maxsize<B>...``; they load the same way.
    """
    if min_size is None and max_size is None:
        raise ValueError("give --min-size and/or --max-size")
    if min_size is not None:
        min_size = check_count("min_size", min_size)
    if max_size is not None:
        max_size = check_count("max_size", max_size)
    if min_size is not None and max_size is not None and min_size > max_size:
        raise ValueError(f"min_size ({min_size}) must not exceed max_size ({max_size})")
    data = load_dataset(main_file)
    sizes = data.metadata.cluster_size
    keep = np.ones(sizes.shape[0], dtype=bool)
    if min_size is not None:
        keep &= sizes >= min_size
    if max_size is not None:
        keep &= sizes <= max_size
    if not keep.any():
        raise ValueError(f"no point lies in a cluster of size in [{min_size or 1}, "
                         f"{max_size if max_size is not None else 'inf'}]; nothing to write")
    rows = np.flatnonzero(keep)
    features = data.features[rows]
    used_columns = np.flatnonzero(np.bincount(features.indices, minlength=features.shape[1]))
    features = features[:, used_columns].tocsr()
    features.sort_indices()
    metadata = PointMetadata(*(array[rows] for array in data.metadata.as_dict().values()))
    graph = _filter_graph(data.graph, keep) if data.graph is not None else None
    paths = data.paths.with_suffix(filter_suffix(min_size, max_size), outdir)
    write_dataset_files(paths, data.X[rows], data.y[rows], features, metadata, graph, compress)
    return paths


def _filter_graph(graph: Graph, keep_point: np.ndarray) -> Graph:
    """The graph of the kept points' clusters (clusters are kept whole), renumbered."""
    keep_cluster = keep_point[graph.point_offsets[:-1]]
    keep_latent = np.repeat(keep_cluster, graph.cluster_sizes - 1)
    keep_node = np.concatenate([keep_point, keep_latent])
    new_id = np.full(keep_node.shape[0], -1, dtype=np.int64)
    new_id[keep_node] = np.arange(int(keep_node.sum()), dtype=np.int64)
    parent = graph.latent_parent[keep_node]
    parent = np.where(parent >= 0, new_id[np.maximum(parent, 0)], -1)
    point_id = new_id[: graph.n_points]
    edges = point_id[graph.edges[keep_latent]]
    sizes = graph.cluster_sizes[keep_cluster]
    return Graph(graph.mode, graph.create_prob, int(sizes.sum()), graph.graph_seed, graph.seed,
                 0, graph.cluster_ids[keep_cluster], sizes, parent, graph.depth[keep_node],
                 edges, graph.node_key[keep_node] if graph.nested else None)
