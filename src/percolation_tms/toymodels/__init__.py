"""Toy models of superposition (Elhage et al. 2022) on synthetic sparse features and on the
ground-truth features of percolation datasets: training, measurements, phase diagram."""

from percolation_tms._lazy import lazy_exports

__all__ = ["MODELS", "AdamW", "FeatureSource", "Instances", "Measurements",
           "PercolationFeatures", "PhaseDiagram", "PhaseDiagramConfig", "ToyConfig", "ToyRun",
           "ToyTrainResult", "candidate_losses", "classify", "draw_batch", "importance_vector",
           "init_weights", "instances", "load_percolation_features", "measure_weights",
           "metrics_table", "phase_diagram", "rows_source", "save_run", "synthetic_source",
           "train_instances", "train_toy"]

# Imported from their submodules on first use (percolation_tms._lazy).
__getattr__, __dir__ = lazy_exports(__name__, {
    "config": ("MODELS", "AdamW", "Instances", "PhaseDiagramConfig", "ToyConfig",
               "importance_vector", "instances"),
    "data": ("FeatureSource", "PercolationFeatures", "draw_batch", "load_percolation_features",
             "rows_source", "synthetic_source"),
    "measure": ("Measurements", "measure_weights", "metrics_table"),
    "phase": ("PhaseDiagram", "candidate_losses", "classify", "phase_diagram"),
    "results": ("save_run",),
    "train": ("ToyRun", "ToyTrainResult", "init_weights", "train_instances", "train_toy"),
})
