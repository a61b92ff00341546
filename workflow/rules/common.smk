import math
from collections import namedtuple

from snakemake.utils import validate


# Stops the run before any job starts if a key is unknown, mistyped or out of range; fills in
# the defaults of every key the config leaves out.
validate(config, schema="../schemas/config.schema.yaml")


wildcard_constraints:
    mode="one_cluster|distribution|custom",
    size=r"[1-9][0-9]*",
    dim=r"[1-9][0-9]*",
    seed=r"[0-9]+",
    model="tied|untied|linear|hidden_relu",


PERCOLATION = config["percolation"]
TOY_SYNTHETIC = config["toy_models"]["synthetic"]
TOY_PERCOLATION = config["toy_models"]["percolation"]

Dataset = namedtuple("Dataset", ["mode", "size", "dim", "seed"])

# Every dataset of the config, once (groups may overlap), in a stable order.
DATASETS = sorted(
    {
        Dataset(group["mode"], size, dim, seed)
        for group in PERCOLATION["datasets"]
        for size in group["sizes"]
        for dim in group["dims"]
        for seed in group["seeds"]
    }
)

TOY_DATASET = Dataset(**TOY_PERCOLATION["dataset"])

# Every job calls the package. Its numba kernels would start one thread per core whatever the
# job's threads; NUMBA_NUM_THREADS keeps them to the threads the scheduler gave the job (results
# do not depend on the number of threads).
PERCOLATION_TMS = "NUMBA_NUM_THREADS={threads} python -m percolation_tms "


def dataset_paths(pattern, datasets):
    """``pattern`` (with {mode}, {size}, {dim}, {seed}) filled in for each dataset."""
    return [pattern.format(**dataset._asdict()) for dataset in datasets]


def comma_list(values):
    return ",".join(str(value) for value in values)


# ------------------------------------------------------------------------------ params
def create_prob_option(wildcards):
    """--create-prob for the custom mode only: the command refuses it for the fixed modes, and
    so a change of percolation.create_prob reruns only the custom graphs."""
    if wildcards.mode == "custom":
        return f"--create-prob {PERCOLATION['create_prob']}"
    return ""


def export_options():
    options = []
    if PERCOLATION["n_features"] is not None:
        options.append(f"--n-features {PERCOLATION['n_features']}")
    if PERCOLATION["binary"]:
        options.append("--binary")
    if PERCOLATION["compress"]:
        options.append("--compress")
    return " ".join(options)


# ------------------------------------------------------------------------------ resources
# Estimates of peak memory and run time from a job's size N and dimension d, calibrated on the
# benchmark files (results/benchmarks/: max_rss, s) of runs at several N with a margin of about
# 2x, so that a cluster scheduler neither kills nor starves the jobs. A job that is retried
# (a cluster profile's retries) asks for proportionally more on each attempt.
INTERPRETER_MB = 400  # Python with numpy, scipy, pandas and numba loaded
X_ITEMSIZE = 4 if PERCOLATION["dtype"] == "float32" else 8


def mem_mb(bytes_per_point, x_copies=0):
    """A resources function: ``bytes_per_point`` * N for graph, label and feature arrays, plus
    ``x_copies`` times the N x d embedding, on top of the interpreter."""

    def estimate(wildcards, attempt):
        size = int(wildcards.size)
        dim = int(wildcards.get("dim", 0))
        data_bytes = size * bytes_per_point + x_copies * size * dim * X_ITEMSIZE
        return attempt * (INTERPRETER_MB + math.ceil(data_bytes / 2**20))

    return estimate


def runtime_min(seconds_per_million_values):
    """A resources function: run time in minutes, proportional to N * d (N for graph jobs)."""

    def estimate(wildcards, attempt):
        values = int(wildcards.size) * int(wildcards.get("dim", 1))
        return attempt * (5 + math.ceil(seconds_per_million_values * values / 1e6 / 60))

    return estimate


# ------------------------------------------------------------------------------ targets
def get_final_output():
    """Everything the workflow produces: the dataset files, the statistics tables and the toy
    models."""
    return (
        expand(rules.export.output, zip, **_columns(DATASETS))
        + expand(rules.describe.output, zip, **_columns(DATASETS))
        + rules.aggregate.output
        + expand(rules.train_toy_synthetic.output, model=TOY_SYNTHETIC["models"])
        + expand(
            rules.train_toy_percolation.output,
            model=TOY_PERCOLATION["models"],
            **TOY_DATASET._asdict(),
        )
        + rules.phase_diagram.output
    )


def _columns(datasets):
    """Datasets as one list per field, for expand(..., zip, ...)."""
    return {field: [getattr(d, field) for d in datasets] for field in Dataset._fields}
