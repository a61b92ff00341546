"""Sharded generation: plan once, build K shards independently, merge or load them."""

from percolation_tms.shards.build import build_shard
from percolation_tms.shards.manifest import Manifest, plan_shards, read_manifest, write_plan
from percolation_tms.shards.merge import export_shards, load_shard, merge_shards

__all__ = ["Manifest", "build_shard", "export_shards", "load_shard", "merge_shards",
           "plan_shards", "read_manifest", "write_plan"]
