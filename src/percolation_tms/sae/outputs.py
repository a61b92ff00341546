"""The files of an SAE sweep (names in one place), written atomically, and their readers.

Every file is described in ``docs/file-formats.md`` ("Sparse autoencoders").
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from percolation_tms import io
from percolation_tms.filenames import SAE_CONFIG as CONFIG
from percolation_tms.filenames import SAE_METRICS as METRICS
from percolation_tms.filenames import SAE_RECOVERY as RECOVERY
from percolation_tms.filenames import SAE_RECOVERY_BY_DEPTH as RECOVERY_BY_DEPTH
from percolation_tms.filenames import SAE_RECOVERY_BY_FREQUENCY as RECOVERY_BY_FREQUENCY
from percolation_tms.filenames import SAE_TIMINGS as TIMINGS
from percolation_tms.filenames import SAE_WEIGHTS as WEIGHTS
from percolation_tms.sae.config import SAEConfig
from percolation_tms.sae.sweep import SweepResult
from percolation_tms.sae.train import SparseAutoencoder


def write_sweep(outdir: str | os.PathLike, sweep: SweepResult, info: dict) -> list[Path]:
    """Write weights, config (the sweep's configs plus ``info``: data and scoring settings),
    metrics, timings and, when features were scored, the recovery tables.  Returns the paths.

    Every file but ``timings.json`` is a pure function of the data, the configs and the seeds,
    so reruns write identical bytes."""
    outdir = Path(outdir)
    arrays = {"sweep_size": np.int64(len(sweep.results))}
    for point, result in enumerate(sweep.results):
        for key, value in result.sae.to_arrays().items():
            arrays[f"{key}_{point}"] = value
        arrays[f"epoch_loss_{point}"] = result.epoch_loss
        arrays[f"epoch_mse_{point}"] = result.epoch_mse
        arrays[f"epoch_l0_{point}"] = result.epoch_l0
    written = [outdir / WEIGHTS, outdir / CONFIG, outdir / METRICS, outdir / TIMINGS]
    io.save_arrays(written[0], **arrays)
    io.write_json(written[1], {"sweep": [config.to_dict() for config in sweep.configs], **info})
    io.write_csv(written[2], sweep.metrics)
    io.write_json(written[3], {"train_seconds": [r.seconds for r in sweep.results],
                               "epoch_seconds": [r.epoch_seconds.tolist()
                                                 for r in sweep.results]})
    for name, table in ((RECOVERY, sweep.recovery), (RECOVERY_BY_DEPTH, sweep.by_depth),
                        (RECOVERY_BY_FREQUENCY, sweep.by_frequency)):
        if table is not None:
            io.write_csv(outdir / name, table)
            written.append(outdir / name)
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
        saes.append(SparseAutoencoder.from_arrays({key: arrays[f"{key}_{point}"]
                                                   for key in keys}))
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
