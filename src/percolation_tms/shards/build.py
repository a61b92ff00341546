"""Build one shard: graph, embedding, labels and features of its range of clusters."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from percolation_tms import _progress, io
from percolation_tms.embedding import embed
from percolation_tms.features import ground_truth_features
from percolation_tms.labels import draw_labels
from percolation_tms.percolation import build_graph
from percolation_tms.shards.manifest import read_manifest, read_plan


def build_shard(manifest_path: str | os.PathLike, index: int,
                outdir: str | os.PathLike | None = None) -> Path:
    """Generate shard ``index`` of a planned dataset and write it (one ``.npz``, atomically).

    The shard file holds, for its clusters only and with node ids local to the shard: ``X``,
    ``y``, ``latent_value``, ``latent_parent``, ``depth``, ``edges``, ``cluster_ids``,
    ``cluster_sizes``, the CSR arrays ``feature_indptr``, ``feature_indices``,
    ``feature_data`` (columns local to the shard), ``node_key`` in nested mode, and the
    identity scalars.
    """
    manifest = read_manifest(manifest_path)
    if not 0 <= index < len(manifest.shards):
        raise ValueError(f"shard must lie in [0, {len(manifest.shards)}); got {index}")
    shard = manifest.shards[index]
    plan = read_plan(manifest_path, manifest)
    with _progress.stage(f"shard {index}: clusters [{shard.cluster_start:,}, "
                         f"{shard.cluster_stop:,}), {shard.point_stop - shard.point_start:,} "
                         f"points"):
        graph = build_graph(plan, seed=manifest.seed, cluster_start=shard.cluster_start,
                            cluster_stop=shard.cluster_stop, nested=manifest.nested)
        X = embed(graph, manifest.dim, manifest.embed_seed, manifest.dtype)
        values = draw_labels(graph, manifest.value_seed)
        features = ground_truth_features(graph, values.latent_value)
    path = Path(outdir if outdir is not None else Path(manifest_path).parent) / shard.file
    identity = manifest.shard_identity(index)
    io.save_arrays(path, X=X, y=values.y, latent_value=values.latent_value,
                   latent_parent=graph.latent_parent, depth=graph.depth, edges=graph.edges,
                   cluster_ids=graph.cluster_ids, cluster_sizes=graph.cluster_sizes,
                   feature_indptr=features.indptr.astype(np.int64),
                   feature_indices=features.indices,
                   feature_data=features.data,
                   **({"node_key": graph.node_key} if graph.nested else {}),
                   **{key: np.int64(value) for key, value in identity.items()})
    return path
