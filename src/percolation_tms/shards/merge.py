"""Read the shards of a dataset back, check them against the manifest, and concatenate them
into the standard dataset files (when the whole dataset fits in memory)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy import sparse

from percolation_tms import _progress, io
from percolation_tms.dataset.api import write_dataset_files
from percolation_tms.features import point_metadata, resolve_n_features
from percolation_tms.percolation.graph import Graph
from percolation_tms.shards.manifest import IDENTITY_KEYS, Manifest, read_manifest

_ARRAY_KEYS = ("X", "y", "latent_value", "latent_parent", "depth", "edges", "cluster_ids",
               "cluster_sizes", "feature_indptr", "feature_indices", "feature_data")


def load_shard(manifest_path: str | os.PathLike, manifest: Manifest, index: int,
               shard_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """One shard's arrays, after checking that the file is the shard the manifest names."""
    shard = manifest.shards[index]
    folder = Path(shard_dir) if shard_dir is not None else Path(manifest_path).parent
    path = folder / shard.file
    if not path.is_file():
        raise io.InputFileError(f"shard {index} of {len(manifest.shards)} is missing: "
                                f"{str(path)!r} does not exist")
    required = _ARRAY_KEYS + IDENTITY_KEYS + (("node_key",) if manifest.nested else ())
    data = io.load_arrays(path, required=required, what=f"shard {index}")
    expected = manifest.shard_identity(index)
    wrong = {k: (int(data[k]), v) for k, v in expected.items() if int(data[k]) != v}
    n_points = shard.point_stop - shard.point_start
    n_latents = shard.latent_stop - shard.latent_start
    if data["X"].shape != (n_points, manifest.dim):
        wrong["X shape"] = (data["X"].shape, (n_points, manifest.dim))
    if data["latent_value"].shape != (n_latents,):
        wrong["latents"] = (data["latent_value"].shape[0], n_latents)
    if wrong:
        details = ", ".join(f"{k}: file has {a}, manifest expects {b}"
                            for k, (a, b) in wrong.items())
        raise io.InputFileError(f"shard file {str(path)!r} does not match the manifest "
                                f"({details})")
    return data


def merge_shards(manifest_path: str | os.PathLike, shard_dir: str | os.PathLike | None = None
                 ) -> tuple[Graph, np.ndarray, np.ndarray, np.ndarray, sparse.csr_matrix]:
    """(graph, X, y, latent_value, features) of the whole dataset, from its shards."""
    manifest = read_manifest(manifest_path)
    shards = [load_shard(manifest_path, manifest, k, shard_dir)
              for k in range(len(manifest.shards))]
    n = manifest.size
    point_parent, latent_parent, point_depth, latent_depth = [], [], [], []
    edges, indptr, indices = [], [np.zeros(1, dtype=np.int64)], []
    point_key, latent_key = [], []
    nnz_before = 0
    for shard, data in zip(manifest.shards, shards):
        n_local = shard.point_stop - shard.point_start
        parent = data["latent_parent"]
        # Local node ids -> dataset ids: points shift by the shard's first row, latents move
        # behind all N points and shift by the shard's first column.
        shifted = np.where(parent >= n_local, parent - n_local + n + shard.latent_start,
                           np.where(parent >= 0, parent + shard.point_start, -1))
        point_parent.append(shifted[:n_local])
        latent_parent.append(shifted[n_local:])
        point_depth.append(data["depth"][:n_local])
        latent_depth.append(data["depth"][n_local:])
        edges.append(data["edges"] + shard.point_start)
        if manifest.nested:
            point_key.append(data["node_key"][:n_local])
            latent_key.append(data["node_key"][n_local:])
        indptr.append(data["feature_indptr"][1:] + nnz_before)
        nnz_before += int(data["feature_indptr"][-1])
        indices.append(data["feature_indices"] + shard.latent_start)
    graph = Graph(manifest.mode, manifest.create_prob, n, manifest.graph_seed, manifest.seed, 0,
                  np.concatenate([d["cluster_ids"] for d in shards]),
                  np.concatenate([d["cluster_sizes"] for d in shards]),
                  np.concatenate(point_parent + latent_parent),
                  np.concatenate(point_depth + latent_depth),
                  np.concatenate(edges).reshape(-1, 2),
                  np.concatenate(point_key + latent_key) if manifest.nested else None)
    indptr = np.concatenate(indptr)
    indices = np.concatenate(indices)
    index_dtype = np.int32 if max(indices.shape[0], manifest.n_latents) < 2**31 else np.int64
    features = sparse.csr_matrix((np.concatenate([d["feature_data"] for d in shards]),
                                  indices.astype(index_dtype), indptr.astype(index_dtype)),
                                 shape=(n, manifest.n_latents))
    features.has_sorted_indices = True
    X = np.concatenate([d["X"] for d in shards])
    y = np.concatenate([d["y"] for d in shards])
    latent_value = np.concatenate([d["latent_value"] for d in shards])
    return graph, X, y, latent_value, features


def export_shards(manifest_path: str | os.PathLike, outdir: str | os.PathLike,
                  n_features: int | None = None, binary: bool = False, compress: bool = False,
                  shard_dir: str | os.PathLike | None = None) -> io.DatasetPaths:
    """Write the standard dataset files (spec section 7 + graph) from a dataset's shards."""
    with _progress.stage("merging shards"):
        graph, X, y, _, features = merge_shards(manifest_path, shard_dir)
    k = resolve_n_features(graph.n_latents, n_features)
    if k < graph.n_latents:
        features = features[:, :k].tocsr()
    if binary:
        features.data[:] = 1.0
    paths = io.DatasetPaths(outdir, graph.size, X.shape[1], graph.seed)
    write_dataset_files(paths, X, y, features, point_metadata(graph), graph, compress)
    return paths
