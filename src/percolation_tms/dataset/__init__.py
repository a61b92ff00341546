"""Whole datasets: generation in memory, the users' files, loading and filtering."""

from percolation_tms.dataset.api import (
    Dataset,
    LoadedDataset,
    export_dataset,
    filter_dataset,
    generate,
    generate_dataset,
    load_dataset,
    save_dataset,
    write_dataset_files,
)
from percolation_tms.dataset.nested_map import NestedMap, map_nested, map_nested_files

__all__ = ["Dataset", "LoadedDataset", "NestedMap", "export_dataset", "filter_dataset",
           "generate", "generate_dataset", "load_dataset", "map_nested", "map_nested_files",
           "save_dataset", "write_dataset_files"]
