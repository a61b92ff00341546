"""Toy models of superposition (Elhage et al. 2022) on synthetic sparse features and on the
ground-truth features of percolation datasets: training, measurements, phase diagram."""

from percolation_tms.toymodels.config import (
    MODELS,
    AdamW,
    Instances,
    PhaseDiagramConfig,
    ToyConfig,
    importance_vector,
    instances,
)
from percolation_tms.toymodels.data import (
    FeatureSource,
    PercolationFeatures,
    draw_batch,
    load_percolation_features,
    rows_source,
    synthetic_source,
)
from percolation_tms.toymodels.measure import Measurements, measure_weights, metrics_table
from percolation_tms.toymodels.phase import (
    PhaseDiagram,
    candidate_losses,
    classify,
    phase_diagram,
)
from percolation_tms.toymodels.results import save_run
from percolation_tms.toymodels.train import (
    ToyRun,
    ToyTrainResult,
    init_weights,
    train_instances,
    train_toy,
)

__all__ = ["MODELS", "AdamW", "FeatureSource", "Instances", "Measurements",
           "PercolationFeatures", "PhaseDiagram", "PhaseDiagramConfig", "ToyConfig", "ToyRun",
           "ToyTrainResult", "candidate_losses", "classify", "draw_batch", "importance_vector",
           "init_weights", "instances", "load_percolation_features", "measure_weights",
           "metrics_table", "phase_diagram", "rows_source", "save_run", "synthetic_source",
           "train_instances", "train_toy"]
