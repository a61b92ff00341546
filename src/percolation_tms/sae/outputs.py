"""The files of an SAE sweep, written atomically to explicit paths, and their readers.

File names: ``percolation_tms.filenames`` (SAE section).  Every file is described in
``docs/file-formats.md`` ("Sparse autoencoders").
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from percolation_tms import io
from percolation_tms.filenames import SAE_CONFIG as CONFIG  # noqa: F401 (re-exported names)
from percolation_tms.filenames import SAE_DICTIONARY as DICTIONARY  # noqa: F401
from percolation_tms.filenames import SAE_METRICS as METRICS  # noqa: F401
from percolation_tms.filenames import SAE_RECOVERY as RECOVERY  # noqa: F401
from percolation_tms.filenames import SAE_RECOVERY_BY_DEPTH as RECOVERY_BY_DEPTH  # noqa: F401
from percolation_tms.filenames import SAE_RECOVERY_BY_FREQUENCY as RECOVERY_BY_FREQUENCY  # noqa
from percolation_tms.filenames import SAE_SWEEP_FILES
from percolation_tms.filenames import SAE_WEIGHTS as WEIGHTS  # noqa: F401
from percolation_tms.sae.config import SAEConfig
from percolation_tms.sae.sweep import SweepResult
from percolation_tms.sae.train import SparseAutoencoder

TABLES = ("metrics", "recovery", "recovery_by_depth", "recovery_by_frequency", "absorption",
          "absorption_by_depth")


def default_paths(outdir: str | os.PathLike, files: dict[str, str] = SAE_SWEEP_FILES
                  ) -> dict[str, Path]:
    """Every sweep file under one folder, by its default name."""
    return {name: Path(outdir) / file_name for name, file_name in files.items()}


def write_tables(paths: dict[str, Path], tables: dict[str, pd.DataFrame | None]) -> list[Path]:
    """Write the tables that have a path; a table not computed (None: no hierarchy, say) is
    written as an empty file, so a workflow rule can always name it."""
    written = []
    for name, table in tables.items():
        if name not in paths:
            continue
        if table is None:
            io.write_text(paths[name], "")
        else:
            io.write_csv(paths[name], table)
        written.append(paths[name])
    return written


def write_sweep(paths: dict[str, Path] | str | os.PathLike, sweep: SweepResult, info: dict
                ) -> list[Path]:
    """Write weights, config (the sweep's configs plus ``info``: data and scoring settings),
    metrics, timings and the recovery and absorption tables (an empty file for a table not
    computed) to ``paths`` (name -> path; a folder gives the default names).  Returns them.

    Every file but ``timings.json`` is a pure function of the data, the configs and the seeds,
    so reruns write identical bytes."""
    if not isinstance(paths, dict):
        paths = default_paths(paths)
    arrays = {"sweep_size": np.int64(len(sweep.results))}
    for point, result in enumerate(sweep.results):
        for key, value in result.sae.to_arrays().items():
            arrays[f"{key}_{point}"] = value
        arrays[f"epoch_loss_{point}"] = result.epoch_loss
        arrays[f"epoch_mse_{point}"] = result.epoch_mse
        arrays[f"epoch_l0_{point}"] = result.epoch_l0
    io.save_arrays(paths["weights"], **arrays)
    io.write_json(paths["config"], {"sweep": [config.to_dict() for config in sweep.configs],
                                    **info})
    io.write_json(paths["timings"], {"train_seconds": [r.seconds for r in sweep.results],
                                     "epoch_seconds": [r.epoch_seconds.tolist()
                                                       for r in sweep.results]})
    written = [paths["weights"], paths["config"], paths["timings"]]
    written += write_tables(paths, {
        "metrics": sweep.metrics, "recovery": sweep.recovery,
        "recovery_by_depth": sweep.by_depth, "recovery_by_frequency": sweep.by_frequency,
        "absorption": sweep.absorption, "absorption_by_depth": sweep.absorption_by_depth})
    return written


def load_weights(path: str | os.PathLike) -> list[SparseAutoencoder]:
    """The SAEs of a ``weights.npz``, in sweep order."""
    arrays = io.load_arrays(path, required=("sweep_size",), what="SAE weights file")
    saes = []
    for point in range(int(arrays["sweep_size"])):
        keys = ("W_enc", "b_enc", "W_dec", "b_dec", "input_mean", "input_scale", "top_k", "l1")
        missing = [f"{key}_{point}" for key in keys if f"{key}_{point}" not in arrays]
        if missing:
            raise io.InputFileError(f"SAE weights file {str(path)!r} lacks {missing}")
        optional = [key for key in ("kind", "threshold") if f"{key}_{point}" in arrays]
        saes.append(SparseAutoencoder.from_arrays({key: arrays[f"{key}_{point}"]
                                                   for key in keys + tuple(optional)}))
    return saes


def read_config(path: str | os.PathLike) -> tuple[list[SAEConfig], dict]:
    """(the sweep's configs, the rest of config.json) of a sweep."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        configs = [SAEConfig.from_dict(entry) for entry in data.pop("sweep")]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise io.InputFileError(f"SAE config file {str(path)!r} is unreadable ({exc})") from exc
    return configs, data
