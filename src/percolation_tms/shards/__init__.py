"""Sharded generation: plan once, build K shards independently, merge or load them."""

from percolation_tms._lazy import lazy_exports

__all__ = ["Manifest", "build_shard", "export_shards", "load_shard", "merge_shards",
           "plan_shards", "read_manifest", "write_plan"]

# Imported from their submodules on first use (percolation_tms._lazy).
__getattr__, __dir__ = lazy_exports(__name__, {
    "build": ("build_shard",),
    "manifest": ("Manifest", "plan_shards", "read_manifest", "write_plan"),
    "merge": ("export_shards", "load_shard", "merge_shards"),
})
