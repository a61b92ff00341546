"""The files of a toy-model run (``docs/file-formats.md``, "Toy models"), written atomically.

Every file records what it describes: the run's ``run_id`` (``ToyConfig.run_id``, a hash of
the config, also in ``config.json``), the model kind and, per instance, the sparsity,
importance and model seed.  A reader groups files by ``run_id``, never by their folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from percolation_tms import filenames
from percolation_tms.io import save_arrays, write_csv
from percolation_tms.toymodels.measure import Measurements, measure_weights, metrics_table
from percolation_tms.toymodels.train import ToyRun


def _paths(out) -> dict[str, Path]:
    if isinstance(out, dict):
        missing = sorted(set(filenames.TOY_RUN_FILES) - set(out))
        if missing:
            raise ValueError(f"no path given for the run files {missing}")
        return {name: Path(out[name]) for name in filenames.TOY_RUN_FILES}
    return {name: Path(out) / default for name, default in filenames.TOY_RUN_FILES.items()}


def save_run(run: ToyRun, out: str | os.PathLike | dict[str, str | os.PathLike],
             measurements: Measurements | None = None) -> Measurements:
    """Write a run's weights, measurements, metrics and config.

    Parameters
    ----------
    run : train.ToyRun
    out : folder, or dict of paths
        A folder (the default names of ``filenames.TOY_RUN_FILES`` in it), or the path of
        each file by the keys of ``filenames.TOY_RUN_FILES`` (``weights``, ``measurements``,
        ``metrics``, ``config``).
    measurements : measure.Measurements, optional
        Measurements of ``run``'s weights (computed if not given).

    Returns
    -------
    measure.Measurements
    """
    paths = _paths(out)
    result, grid = run.result, run.instances
    measurements = (measurements if measurements is not None
                    else measure_weights(result.W, result.b, result.W_dec))
    identity = {"run_id": np.array(run.config.run_id), "model": np.array(run.config.model),
                "sparsity": grid.sparsity, "seed": grid.model_seed,
                "importance": grid.importance}
    weights = {"W": result.W, "b": result.b, "loss_history": result.loss_history,
               "history_steps": result.history_steps.astype(np.int64), **identity,
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
              **identity}
    if run.percolation_inputs is not None:
        arrays["feature_column"] = run.percolation_inputs.column
        arrays["feature_frequency"] = run.percolation_inputs.frequency
        arrays["feature_depth"] = run.percolation_inputs.depth
    save_arrays(paths["weights"], **weights)
    save_arrays(paths["measurements"], **arrays)
    table = metrics_table(run.config.model, measurements, result.eval_loss, grid.sparsity,
                          grid.model_seed, grid.importance_label)
    table.insert(0, "run_id", run.config.run_id)
    write_csv(paths["metrics"], table)
    run.config.save(paths["config"])
    return measurements
