"""The files of a toy-model run (``docs/file-formats.md``, "Toy models"), written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from percolation_tms.filenames import TOY_CONFIG as CONFIG_FILE
from percolation_tms.filenames import TOY_MEASUREMENTS as MEASUREMENTS_FILE
from percolation_tms.filenames import TOY_METRICS as METRICS_FILE
from percolation_tms.filenames import TOY_WEIGHTS as WEIGHTS_FILE
from percolation_tms.io import load_arrays, save_arrays, write_csv
from percolation_tms.toymodels.config import ToyConfig
from percolation_tms.toymodels.measure import Measurements, measure_weights, metrics_table
from percolation_tms.toymodels.train import ToyRun


def measure_run(run: ToyRun) -> Measurements:
    return measure_weights(run.result.W, run.result.b, run.result.W_dec)


def save_run(out_dir: str | os.PathLike, run: ToyRun,
             measurements: Measurements | None = None) -> Measurements:
    """Write weights.npz, measurements.npz, metrics.csv and config.json into ``out_dir``."""
    out_dir = Path(out_dir)
    measurements = measurements if measurements is not None else measure_run(run)
    result, grid = run.result, run.instances
    weights = {"W": result.W, "b": result.b, "loss_history": result.loss_history,
               "history_steps": result.history_steps.astype(np.int64),
               "sparsity": grid.sparsity, "seed": grid.seed, "importance": grid.importance,
               "importance_setting": grid.importance_setting,
               "feature_probability": grid.probability}
    if result.W_dec is not None:
        weights["W_dec"] = result.W_dec
    arrays = {"WtW": measurements.WtW, "b": measurements.b,
              "feature_norm": measurements.feature_norm,
              "represented": measurements.represented,
              "dims_per_feature": measurements.dims_per_feature,
              "feature_dimensionality": measurements.feature_dimensionality,
              "interference": measurements.interference, "eval_loss": result.eval_loss,
              "sparsity": grid.sparsity, "seed": grid.seed, "importance": grid.importance}
    if run.features is not None:
        arrays["feature_column"] = run.features.column
        arrays["feature_frequency"] = run.features.frequency
        arrays["feature_depth"] = run.features.depth
    save_arrays(out_dir / WEIGHTS_FILE, **weights)
    save_arrays(out_dir / MEASUREMENTS_FILE, **arrays)
    write_csv(out_dir / METRICS_FILE,
              metrics_table(run.config.model, measurements, result.eval_loss, grid.sparsity,
                            grid.seed, grid.importance_label))
    run.config.save(out_dir / CONFIG_FILE)
    return measurements


def load_run_arrays(out_dir: str | os.PathLike) -> tuple[ToyConfig, dict, dict]:
    """(config, weights arrays, measurement arrays) of a run written by ``save_run``."""
    out_dir = Path(out_dir)
    config = ToyConfig.load(out_dir / CONFIG_FILE)
    weights = load_arrays(out_dir / WEIGHTS_FILE, required=("W", "b", "loss_history"),
                          what="toy-model weights")
    arrays = load_arrays(out_dir / MEASUREMENTS_FILE, required=("WtW", "feature_norm"),
                         what="toy-model measurements")
    return config, weights, arrays
