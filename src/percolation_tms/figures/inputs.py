"""Read the files a figure draws from (see docs/file-formats.md) into small data objects.

Three kinds of input, one reader each:

* :func:`read_percolation_stats`: ``describe``'s per-dataset ``arrays.npz`` and ``summary.csv``
  for the seeds of one dataset setting (mode, size, dim);
* :func:`read_toy_models`: the toy stage's runs (``measurements.npz``, ``weights.npz``,
  ``metrics.csv`` each, grouped by the ``run_id`` they record), merged by model kind;
* :func:`read_phase_diagram`: ``phase_diagram.npz``.

Readers check names, keys and shapes and raise ``io.InputFileError`` naming the file, so a
mistake in the workflow's wiring stops with a clear message instead of a wrong figure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from percolation_tms import filenames, io
from percolation_tms.io import InputFileError

# ---------------------------------------------------------------------------- percolation
STATS_IDENTITY = ("mode", "size", "dim", "seed")  # recorded in arrays.npz and summary.csv
STATS_ARRAY_KEYS = STATS_IDENTITY + (
    "cluster_sizes", "degree_values", "degree_counts", "height_values", "height_counts",
    "height_size_bins", "height_mean_by_size", "pca_xy", "pca_cluster_rank", "pca_y",
    "feature_frequency", "baseline_names", "baseline_mse", "knn_train_sizes", "knn_mse",
)
STATS_SUMMARY_COLUMNS = ("mode", "size", "dim", "seed", "n_clusters", "degree_kl",
                         "degree_min_cluster", "exponent", "exponent_n_tail", "knn_k",
                         "mse_mean", "mse_ridge", "mse_knn")


@dataclass(frozen=True)
class DatasetStats:
    """``describe``'s output for one dataset: its summary row and its arrays."""

    seed: int
    summary: dict
    arrays: dict[str, np.ndarray]


@dataclass(frozen=True)
class PercolationStats:
    """The statistics of every seed of one dataset setting, sorted by seed."""

    mode: str
    size: int
    dim: int
    datasets: tuple[DatasetStats, ...]

    @property
    def seeds(self) -> list[int]:
        return [d.seed for d in self.datasets]

    def arrays(self, key: str) -> list[np.ndarray]:
        """One array per seed."""
        return [d.arrays[key] for d in self.datasets]

    def column(self, name: str) -> np.ndarray:
        """One summary value per seed."""
        return np.array([d.summary[name] for d in self.datasets])


def read_csv(path: str | Path, required: Sequence[str], what: str, dtype=None
             ) -> pd.DataFrame:
    """A CSV table with at least the ``required`` columns, or InputFileError naming the file.
    ``dtype`` as for ``pandas.read_csv`` (e.g. ``{"run_id": str}``: hex ids that happen to be
    all digits must not become numbers)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{what} {str(path)!r} does not exist")
    try:
        frame = pd.read_csv(path, dtype=dtype)
    except Exception as exc:  # pandas raises a handful of parser and encoding errors
        raise InputFileError(f"{what} {str(path)!r} is not a readable CSV file ({exc})") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputFileError(f"{what} {str(path)!r} lacks the columns {missing}")
    return frame


def _summary_row_of(path: Path, arrays: dict[str, np.ndarray], rows: pd.DataFrame) -> int:
    """The index of the one summary row of the dataset ``arrays`` describe: both record the
    dataset's (mode, size, dim, seed).  The order of the inputs is irrelevant, and one
    aggregated summary can serve many figures."""
    same = np.ones(len(rows), dtype=bool)
    for key in STATS_IDENTITY:
        same &= rows[key].astype(str).to_numpy() == str(arrays[key])
    matches = np.flatnonzero(same)
    if matches.size != 1:
        identity = ", ".join(f"{key} {arrays[key]}" for key in STATS_IDENTITY)
        raise InputFileError(f"statistics arrays {str(path)!r} ({identity}) match "
                             f"{matches.size} summary rows; give the summary.csv written with "
                             "it by describe")
    return int(matches[0])


def read_percolation_stats(paths: Sequence[str | Path]) -> PercolationStats:
    """Each seed's ``arrays.npz`` with its summary row, sorted by seed.

    ``paths`` holds the ``.npz`` files and ``.csv`` summaries (each seed's one-row summary, or an
    aggregated ``summary.csv``, which may hold other rows too).  Every arrays file is matched to
    its row by content (see :func:`_summary_row_of`).  The datasets must share mode, size and
    dim: a figure shows one setting.
    """
    npz = [Path(p) for p in paths if Path(p).suffix == ".npz"]
    csv = [Path(p) for p in paths if Path(p).suffix == ".csv"]
    other = [str(p) for p in paths if Path(p).suffix not in (".npz", ".csv")]
    if other:
        raise InputFileError(f"expected describe's arrays (.npz) and summaries (.csv), got {other}")
    if not npz or not csv:
        raise InputFileError("give describe's arrays.npz and summary.csv files "
                             f"(got {len(npz)} .npz and {len(csv)} .csv)")
    rows = pd.concat([read_csv(p, STATS_SUMMARY_COLUMNS, "summary") for p in csv],
                     ignore_index=True)
    datasets = []
    for path in npz:
        arrays = io.load_arrays(path, STATS_ARRAY_KEYS, "statistics arrays")
        row = rows.iloc[_summary_row_of(path, arrays, rows)]
        datasets.append(DatasetStats(int(row["seed"]), row.to_dict(), arrays))
    settings = {(d.summary["mode"], int(d.summary["size"]), int(d.summary["dim"]))
                for d in datasets}
    if len(settings) != 1:
        raise InputFileError(f"the inputs mix dataset settings {sorted(settings)} (mode, size, "
                             "dim); a figure shows one setting")
    seeds = sorted(d.seed for d in datasets)
    if len(set(seeds)) != len(seeds):
        raise InputFileError(f"seeds repeat among the inputs: {seeds}")
    datasets.sort(key=lambda d: d.seed)
    mode, size, dim = settings.pop()
    return PercolationStats(str(mode), size, dim, tuple(datasets))


# ---------------------------------------------------------------------------- toy models
# Every file of a toy run records the run's identity (run_id) and model kind; the npz files
# also the per-instance sparsity, importance and model seed.
IDENTITY_KEYS = ("run_id", "model")
MEASUREMENT_KEYS = ("WtW", "b", "feature_norm", "represented", "dims_per_feature",
                    "feature_dimensionality", "interference", "eval_loss", "sparsity", "seed",
                    *IDENTITY_KEYS)
WEIGHT_KEYS = ("W", "b", "loss_history", "sparsity", "seed", "importance", *IDENTITY_KEYS)
# Arrays with one entry per feature instead of one per instance (toy runs on percolation data).
PER_FEATURE_KEYS = ("feature_column", "feature_frequency", "feature_depth")
# The three files a figure needs of every run, by their kind (named as their default names).
RUN_FILES = (filenames.TOY_MEASUREMENTS, filenames.TOY_WEIGHTS, filenames.TOY_METRICS)
# Known kinds first in this order; any other kind follows by name.
MODEL_ORDER = ("tied", "untied", "linear", "hidden_relu")


@dataclass(frozen=True)
class ToyModel:
    """Every trained instance of one model kind, over all runs given.

    arrays: the measurements (``WtW`` (I, n, n), ``feature_norm`` (I, n), ..., ``sparsity`` and
    ``seed`` (the model seed) (I,)) plus ``W`` (I, m, n), ``importance`` (I, n) and, for
    ``untied``, ``W_dec`` (I, n, m) from the weights; for percolation inputs also the
    per-feature arrays (n,).  ``run_ids`` names the runs merged, in the order of their
    instances.
    """

    model: str
    arrays: dict[str, np.ndarray]
    run_ids: tuple[str, ...] = ()

    @property
    def sparsity(self) -> np.ndarray:
        return self.arrays["sparsity"]

    @property
    def seed(self) -> np.ndarray:
        return self.arrays["seed"]

    @property
    def n_hidden(self) -> int:
        return int(self.arrays["W"].shape[1])

    @property
    def n_features(self) -> int:
        return int(self.arrays["W"].shape[2])

    def require(self, keys: Sequence[str], figure: str) -> None:
        missing = [k for k in keys if k not in self.arrays]
        if missing:
            raise InputFileError(f"{figure} needs {missing} in the {self.model} model's "
                                 "measurements.npz (a toy run on percolation features)")


def _recorded(path: Path, values, what: str) -> str:
    """The one run_id or model kind a file records."""
    values = np.unique(np.asarray(values).astype(str))
    if values.size != 1:
        raise InputFileError(f"toy run file {str(path)!r} should record one {what}, it "
                             f"records {values.tolist()}")
    return str(values[0])


def _toy_file(path: Path) -> tuple[str, str, str, object]:
    """(kind, run_id, model kind, content) of one toy run file; kind is its default name.

    The kind is read from the content (metrics.csv is the table; weights.npz holds
    ``loss_history``; measurements.npz ``WtW``), so files may carry any name.
    """
    if path.suffix == ".csv":
        table = read_csv(path, ("run_id", "model"), "toy metrics", dtype={"run_id": str})
        return (filenames.TOY_METRICS, _recorded(path, table["run_id"], "run_id"),
                _recorded(path, table["model"], "model kind"), table)
    if path.suffix != ".npz":
        raise InputFileError(f"{str(path)!r} is not a toy run file ({', '.join(RUN_FILES)})")
    arrays = io.load_arrays(path, what="toy run file")
    if "WtW" in arrays:
        kind, keys, what = filenames.TOY_MEASUREMENTS, MEASUREMENT_KEYS, "toy measurements"
    elif "loss_history" in arrays:
        kind, keys, what = filenames.TOY_WEIGHTS, WEIGHT_KEYS, "toy weights"
    else:
        raise InputFileError(f"{str(path)!r} is neither toy measurements nor toy weights "
                             f"(no 'WtW' or 'loss_history')")
    missing = [k for k in keys if k not in arrays]
    if missing:
        hint = (" (written before toy runs recorded their identity: rerun train-toy)"
                if set(missing) & set(IDENTITY_KEYS) else "")
        raise InputFileError(f"{what} {str(path)!r} lacks the arrays {missing}{hint}")
    return (kind, _recorded(path, arrays["run_id"], "run_id"),
            _recorded(path, arrays["model"], "model kind"), arrays)


def _read_run(run_id: str, files: dict[str, tuple[Path, str, object]]) -> ToyModel:
    """One run's three files as a ToyModel."""
    missing = [name for name in RUN_FILES if name not in files]
    if missing:
        given = ", ".join(str(path) for path, _, _ in files.values())
        raise InputFileError(f"toy run {run_id} ({given}): the inputs lack {missing} "
                             f"(give every run's {', '.join(RUN_FILES)})")
    models = {model for _, model, _ in files.values()}
    if len(models) != 1:
        raise InputFileError(f"the files of toy run {run_id} name different model kinds "
                             f"{sorted(models)}")
    measurements = files[filenames.TOY_MEASUREMENTS][2]
    weights = files[filenames.TOY_WEIGHTS][2]
    for key in ("sparsity", "seed"):
        if not np.array_equal(measurements[key], weights[key]):
            raise InputFileError(f"toy run {run_id}: its measurements and weights disagree "
                                 f"on {key!r}")
    arrays = {k: v for k, v in measurements.items() if k not in IDENTITY_KEYS}
    arrays.update({k: weights[k] for k in ("W", "W_dec", "importance") if k in weights})
    return ToyModel(models.pop(), arrays, (run_id,))


def _merge_runs(runs: list[ToyModel]) -> ToyModel:
    """Concatenate the instances of several runs of one model kind."""
    first = runs[0]
    for run in runs[1:]:
        if set(run.arrays) != set(first.arrays):
            raise InputFileError(f"runs of the {first.model} model hold different arrays: "
                                 f"{sorted(first.arrays)} and {sorted(run.arrays)}")
    arrays = {}
    for key, value in first.arrays.items():
        if key in PER_FEATURE_KEYS:
            if any(not np.array_equal(run.arrays[key], value) for run in runs[1:]):
                raise InputFileError(f"runs of the {first.model} model were trained on "
                                     f"different features ({key} differs)")
            arrays[key] = value
        else:
            arrays[key] = np.concatenate([run.arrays[key] for run in runs])
    return ToyModel(first.model, arrays, tuple(r for run in runs for r in run.run_ids))


def read_toy_models(paths: Sequence[str | Path]) -> tuple[ToyModel, ...]:
    """Read toy runs and merge them by model kind (tied, untied, linear, hidden_relu, others).

    Parameters
    ----------
    paths : sequence of paths
        The measurements, weights and metrics files of one or more ``train-toy`` runs, and
        possibly their ``.json`` configs (skipped).  The files of a run are grouped by the
        ``run_id`` each records, whatever their names or folders; the model kind is the
        one they record.

    Returns
    -------
    tuple of ToyModel
        One per model kind, runs of a kind concatenated in the order given.
    """
    runs: dict[str, dict[str, tuple[Path, str, object]]] = defaultdict(dict)
    for path in map(Path, paths):
        if path.suffix == ".json":  # the run's config: the files record what figures need
            continue
        kind, run_id, model, content = _toy_file(path)
        if kind in runs[run_id]:
            raise InputFileError(f"two {kind} files of toy run {run_id} among the inputs: "
                                 f"{str(runs[run_id][kind][0])!r} and {str(path)!r}")
        runs[run_id][kind] = (path, model, content)
    if not runs:
        raise InputFileError("no toy run files among the inputs")
    by_model: dict[str, list[ToyModel]] = defaultdict(list)
    for run_id, files in runs.items():
        run = _read_run(run_id, files)
        by_model[run.model].append(run)

    def order(model: str) -> tuple[int, str]:
        return (MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER), model)

    return tuple(_merge_runs(by_model[m]) for m in sorted(by_model, key=order))


# ---------------------------------------------------------------------------- phase diagram
PHASE_DIAGRAM_KEYS = ("importance_ratio", "sparsity", "candidate_names", "candidate_loss",
                      "phase", "trained_importance_ratio", "trained_sparsity", "trained_phase",
                      "predicted_phase")


def read_phase_diagram(paths: Sequence[str | Path]) -> dict[str, np.ndarray]:
    """The arrays of the one ``phase_diagram.npz`` given."""
    if len(paths) != 1 or Path(paths[0]).suffix != ".npz":
        raise InputFileError(f"expected one phase_diagram.npz, got {[str(p) for p in paths]}")
    data = io.load_arrays(paths[0], PHASE_DIAGRAM_KEYS, "phase diagram")
    expected = (data["importance_ratio"].size, data["sparsity"].size)
    if data["phase"].shape != expected:
        raise InputFileError(f"phase diagram {str(paths[0])!r}: phase has shape "
                             f"{data['phase'].shape}, expected (R, S) = {expected}")
    return data
