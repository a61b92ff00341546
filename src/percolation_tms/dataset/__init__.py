"""Whole datasets: generation in memory, the users' files, loading and filtering."""

from percolation_tms._lazy import lazy_exports

__all__ = ["Dataset", "LoadedDataset", "NestedMap", "export_dataset", "filter_dataset",
           "generate", "generate_dataset", "load_dataset", "map_nested", "map_nested_files",
           "save_dataset", "write_dataset_files"]

# Imported from their submodules on first use (percolation_tms._lazy).
__getattr__, __dir__ = lazy_exports(__name__, {
    "api": ("Dataset", "LoadedDataset", "export_dataset", "filter_dataset", "generate",
            "generate_dataset", "load_dataset", "save_dataset", "write_dataset_files"),
    "nested_map": ("NestedMap", "map_nested", "map_nested_files"),
})
