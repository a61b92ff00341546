"""Sharded generation: one dataset built as K independent jobs.

The sequential part -- assigning points to clusters and ordering clusters by size -- is cheap
and runs once (:func:`plan_shards`), writing ``plan.npz`` (cluster ids and sizes in output
order) and ``manifest.json`` (settings, and for every shard a contiguous range of clusters in
output order with its point and latent ranges).  Each shard is then built, embedded, labelled
and featurised on its own (:func:`percolation_tms.shards.build.build_shard`); because every
random stream depends only on (seed, cluster id[, latent index]), the union of the shards is
bit-identical to the unsharded dataset.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from percolation_tms import io
from percolation_tms.checks import check_count
from percolation_tms.embedding.embed import resolve_dtype
from percolation_tms.percolation.graph import ClusterPlan, plan_clusters
from percolation_tms.percolation.options import check_flag
from percolation_tms.seeds import dataset_seeds

MANIFEST_FORMAT = "percolation-tms shards"
MANIFEST_VERSION = 1
from percolation_tms.filenames import SHARD_MANIFEST as MANIFEST_FILE
from percolation_tms.filenames import SHARD_PLAN as PLAN_FILE


def shard_file_name(index: int) -> str:
    return f"shard{index:05d}.npz"


@dataclass(frozen=True)
class ShardRange:
    """Clusters [cluster_start, cluster_stop) in output order, with their rows and columns."""

    index: int
    cluster_start: int
    cluster_stop: int
    point_start: int
    point_stop: int
    latent_start: int
    latent_stop: int
    file: str


#: Scalars each shard file records, checked against the manifest when shards are merged.
IDENTITY_KEYS = ("shard_index", "cluster_start", "cluster_stop", "size", "dim", "seed",
                 "graph_seed", "embed_seed", "value_seed")


@dataclass(frozen=True)
class Manifest:
    """Everything a shard job needs, and what the merge checks every shard against."""

    mode: str
    create_prob: float
    size: int
    dim: int
    dtype: str
    seed: int
    graph_seed: int
    embed_seed: int
    value_seed: int
    n_clusters: int
    n_latents: int
    shards: tuple[ShardRange, ...]
    format: str = MANIFEST_FORMAT
    version: int = MANIFEST_VERSION
    nested: bool = False  # docs/nested.md; manifests written before nested mode lack it

    def to_dict(self) -> dict:
        d = asdict(self)
        d["shards"] = [asdict(s) for s in self.shards]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Manifest:
        d = dict(d)
        d["shards"] = tuple(ShardRange(**s) for s in d["shards"])
        return cls(**d)

    def shard_identity(self, index: int) -> dict[str, int]:
        """The scalars shard ``index``'s file records (``IDENTITY_KEYS``), which the merge
        checks against the manifest: which shard of which dataset the file is."""
        shard = self.shards[index]
        return {"shard_index": index, "cluster_start": shard.cluster_start,
                "cluster_stop": shard.cluster_stop, "size": self.size, "dim": self.dim,
                "seed": self.seed, "graph_seed": self.graph_seed, "embed_seed": self.embed_seed,
                "value_seed": self.value_seed}


def shard_boundaries(cluster_sizes: np.ndarray, n_shards: int) -> np.ndarray:
    """int64 (n_shards + 1,): cluster index where each shard starts.

    Shards hold contiguous ranges of clusters with about N / K points each; a cluster is never
    split, so a shard may hold more (one huge cluster) or nothing at all (when K exceeds what
    the large clusters allow).
    """
    point_offsets = np.concatenate([[0], np.cumsum(cluster_sizes)])
    targets = np.arange(n_shards + 1) * (point_offsets[-1] / n_shards)
    bounds = np.searchsorted(point_offsets, targets, side="left").astype(np.int64)
    bounds[0], bounds[-1] = 0, cluster_sizes.shape[0]
    return np.maximum.accumulate(bounds)


def plan_shards(mode: str, size: int, dim: int, seed: int, n_shards: int,
                create_prob: float | None = None, graph_seed: int | None = None,
                embed_seed: int | None = None, value_seed: int | None = None,
                dtype="float64", nested: bool = False) -> tuple[Manifest, ClusterPlan]:
    """Plan the clusters of a dataset once and cut them into ``n_shards`` shards
    (``nested``: the shards build their clusters by the size-consistent construction)."""
    nested = check_flag("nested", nested)
    size = check_count("size", size)
    dim = check_count("dim", dim)
    n_shards = check_count("shards", n_shards)
    seeds = dataset_seeds(seed, graph_seed, embed_seed, value_seed)
    dtype = resolve_dtype(dtype).name
    plan = plan_clusters(mode, size, seeds.graph, create_prob)
    bounds = shard_boundaries(plan.cluster_sizes, n_shards)
    points, latents = plan.point_offsets, plan.latent_offsets
    shards = tuple(ShardRange(k, int(bounds[k]), int(bounds[k + 1]), int(points[bounds[k]]),
                              int(points[bounds[k + 1]]), int(latents[bounds[k]]),
                              int(latents[bounds[k + 1]]), shard_file_name(k))
                   for k in range(n_shards))
    manifest = Manifest(mode, plan.create_prob, size, dim, dtype, seeds.seed, seeds.graph,
                        seeds.embed, seeds.value, plan.n_clusters, int(latents[-1]), shards,
                        nested=nested)
    return manifest, plan


def write_plan(outdir: str | os.PathLike, manifest: Manifest, plan: ClusterPlan) -> Path:
    """Write ``plan.npz`` then ``manifest.json`` (last, so a manifest implies its plan)."""
    outdir = Path(outdir)
    io.save_arrays(outdir / PLAN_FILE, cluster_ids=plan.cluster_ids,
                   cluster_sizes=plan.cluster_sizes)
    io.write_json(outdir / MANIFEST_FILE, manifest.to_dict())
    return outdir / MANIFEST_FILE


def read_manifest(path: str | os.PathLike) -> Manifest:
    path = Path(path)
    if not path.is_file():
        raise io.InputFileError(f"manifest {str(path)!r} does not exist")
    try:
        manifest = Manifest.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError, KeyError) as exc:
        raise io.InputFileError(f"manifest {str(path)!r} is not a shard manifest ({exc})")
    if manifest.format != MANIFEST_FORMAT or manifest.version != MANIFEST_VERSION:
        raise io.InputFileError(f"manifest {str(path)!r} has format {manifest.format!r} "
                                f"version {manifest.version}; expected {MANIFEST_FORMAT!r} "
                                f"version {MANIFEST_VERSION}")
    return manifest


def read_plan(manifest_path: str | os.PathLike, manifest: Manifest) -> ClusterPlan:
    path = Path(manifest_path).parent / PLAN_FILE
    data = io.load_arrays(path, required=("cluster_ids", "cluster_sizes"), what="plan file")
    plan = ClusterPlan(manifest.mode, manifest.create_prob, manifest.size, manifest.graph_seed,
                       data["cluster_ids"], data["cluster_sizes"])
    if plan.n_clusters != manifest.n_clusters or int(plan.cluster_sizes.sum()) != manifest.size:
        raise io.InputFileError(f"plan file {str(path)!r} has {plan.n_clusters} clusters and "
                                f"{int(plan.cluster_sizes.sum())} points; the manifest says "
                                f"{manifest.n_clusters} and {manifest.size}")
    return plan
