"""File names of every result the stages write: one home, imported by writers and readers.

Commands take an explicit path per output (``percolation_tms.settings.add_outputs``); these are
the default names under ``--out DIR``, and the names the readers and figures recognise.  The
dataset files themselves follow the published datasets' naming (``io.DatasetPaths``).  Every
file is described in ``docs/file-formats.md``.
"""

from __future__ import annotations

# ------------------------------------------------------------------------------ shards
SHARD_PLAN = "plan.npz"
SHARD_MANIFEST = "manifest.json"

# ------------------------------------------------------------------------------ statistics
STATS_SUMMARY = "summary.csv"  # describe: one row of statistics of one dataset
STATS_ARRAYS = "arrays.npz"  # describe: the arrays the percolation figures draw

# ------------------------------------------------------------------------------ toy models
TOY_WEIGHTS = "weights.npz"
TOY_MEASUREMENTS = "measurements.npz"
TOY_METRICS = "metrics.csv"
TOY_CONFIG = "config.json"
TOY_PHASE_DIAGRAM = "phase_diagram.npz"
TOY_RUN_FILES = {"weights": TOY_WEIGHTS, "measurements": TOY_MEASUREMENTS,
                 "metrics": TOY_METRICS, "config": TOY_CONFIG}

# ------------------------------------------------------------------------------ sparse autoencoders
SAE_WEIGHTS = "weights.npz"
SAE_CONFIG = "config.json"
SAE_METRICS = "metrics.csv"
SAE_RECOVERY = "recovery.csv"
SAE_RECOVERY_BY_DEPTH = "recovery_by_depth.csv"
SAE_RECOVERY_BY_FREQUENCY = "recovery_by_frequency.csv"
SAE_ABSORPTION = "absorption.csv"  # parent-child pairs: activation-space (and true) absorption
SAE_ABSORPTION_BY_DEPTH = "absorption_by_depth.csv"
SAE_DICTIONARY = "dictionary.npz"  # sae-synthetic only: the known directions
SAE_TIMINGS = "timings.json"  # wall-clock seconds, apart so the result files are reproducible

# ------------------------------------------------------------------------------ persian rug
PERSIANRUG_RESULTS = "results.csv"  # one row per (kind, n, m, p, seed): loss and statistics
PERSIANRUG_CURVES = "curves.csv"  # Gaussian limit, linear optimum, high-sparsity law on grids
PERSIANRUG_WEIGHTS = "weights.npz"  # trained W_in, W_out, b; the rug's rows, a, b
PERSIANRUG_CONFIG = "config.json"
PERSIANRUG_FILES = {"results": PERSIANRUG_RESULTS, "curves": PERSIANRUG_CURVES,
                    "weights": PERSIANRUG_WEIGHTS, "config": PERSIANRUG_CONFIG}

# ------------------------------------------------------------------------------ basins
BASIN_VOLUMES = "volumes.csv"  # basin-volume: one row per (instance, cutoff)
BASIN_SLOPES = "slopes.csv"  # basin-volume: one row per instance, d ln P / d ln eps
BASIN_RAYS = "rays.npz"  # basin-volume: the per-ray estimates and radii
BASIN_LLC = "llc.csv"  # llc: one row per instance
BASIN_LLC_TRACES = "llc_traces.npz"  # llc: per-chain estimates and loss traces
BASIN_KGON = "kgon.csv"  # basin-kgon: one row per polygon k
BASIN_VOLUME_FILES = {"volumes": BASIN_VOLUMES, "slopes": BASIN_SLOPES, "rays": BASIN_RAYS}
BASIN_LLC_FILES = {"llc": BASIN_LLC, "traces": BASIN_LLC_TRACES}
BASIN_KGON_FILES = {"kgon": BASIN_KGON}
SAE_SWEEP_FILES = {"weights": SAE_WEIGHTS, "config": SAE_CONFIG, "metrics": SAE_METRICS,
                   "recovery": SAE_RECOVERY, "recovery_by_depth": SAE_RECOVERY_BY_DEPTH,
                   "recovery_by_frequency": SAE_RECOVERY_BY_FREQUENCY,
                   "absorption": SAE_ABSORPTION, "absorption_by_depth": SAE_ABSORPTION_BY_DEPTH,
                   "timings": SAE_TIMINGS}
SAE_SCORE_FILES = {"metrics": SAE_METRICS, "recovery": SAE_RECOVERY,
                   "recovery_by_depth": SAE_RECOVERY_BY_DEPTH,
                   "recovery_by_frequency": SAE_RECOVERY_BY_FREQUENCY,
                   "absorption": SAE_ABSORPTION, "absorption_by_depth": SAE_ABSORPTION_BY_DEPTH}
