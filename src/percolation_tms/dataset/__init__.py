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

__all__ = ["Dataset", "LoadedDataset", "export_dataset", "filter_dataset", "generate",
           "generate_dataset", "load_dataset",
           "save_dataset", "write_dataset_files"]
