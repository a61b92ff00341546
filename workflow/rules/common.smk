import math
from collections import namedtuple

import sys

from percolation_tms import settings, workflow_config
from percolation_tms.sae import config as sae_config
from percolation_tms.dataset.memory import estimate_peak_bytes

from percolation_tms.figures.registry import FIGURES


# Stops the run before any job starts if a key is unknown, mistyped or out of range, with a
# few lines naming the key (snakemake.utils.validate would print the whole schema and config);
# fills in the defaults of every key the config leaves out, as validate(set_default=True) does.
try:
    workflow_config.validate(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")
except workflow_config.ConfigError as error:
    sys.exit(str(error))


wildcard_constraints:
    mode="one_cluster|distribution|custom",
    size=r"[1-9][0-9]*",
    dim=r"[1-9][0-9]*",
    seed=r"[0-9]+",
    model="tied|untied|linear|hidden_relu",
    kind="relu|topk|batchtopk|jumprelu|matryoshka",


PERCOLATION = config["percolation"]
TOY_SYNTHETIC = config["toy_models"]["synthetic"]
TOY_PERCOLATION = config["toy_models"]["percolation"]
TOY_PHASE_DIAGRAM = config["toy_models"]["phase_diagram"]
SAE_PERCOLATION = config["sae"]["percolation"]
SAE_SYNTHETIC = config["sae"]["synthetic"]
PERSIAN_RUG = config["persian_rug"]
BASIN_VOLUME = config["basins"]["volume"]
BASIN_LLC = config["basins"]["llc"]
BASIN_KGON = config["basins"]["kgon"]
BASIN_SCAN = config["basins"]["scan"]

# The basin scan reads one model kind and one seed of the synthetic sweep: both must be trained.
if BASIN_SCAN["model"] not in TOY_SYNTHETIC["models"]:
    sys.exit(
        f"basins.scan.model {BASIN_SCAN['model']!r} is not one of toy_models.synthetic.models "
        f"{TOY_SYNTHETIC['models']}"
    )
if BASIN_SCAN["seed"] not in TOY_SYNTHETIC["seeds"]:
    sys.exit(
        f"basins.scan.seed {BASIN_SCAN['seed']} is not one of toy_models.synthetic.seeds "
        f"{TOY_SYNTHETIC['seeds']}"
    )
SAE_HIERARCHY = config["sae"]["hierarchy"]
SAE_ARCHITECTURE = config["sae"]["architecture"]

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

# Shards of every dataset (1: built whole by the stage jobs; K > 1: built as K shard jobs).
SHARDS = {
    Dataset(group["mode"], size, dim, seed): group.get("shards", 1)
    for group in PERCOLATION["datasets"]
    for size in group["sizes"]
    for dim in group["dims"]
    for seed in group["seeds"]
}

TOY_DATASET = Dataset(**TOY_PERCOLATION["dataset"])
SAE_DATASET = Dataset(**SAE_PERCOLATION["dataset"])


def dataset_columns(datasets):
    """Datasets as one list per field: ``expand(pattern, zip, **dataset_columns(...))`` fills
    a pattern with {mode}, {size}, {dim}, {seed} for each dataset."""
    return {field: [getattr(d, field) for d in datasets] for field in Dataset._fields}


def comma_list(values):
    return ",".join(str(value) for value in values)


# ------------------------------------------------------------------------------ params
def create_prob_option(wildcards):
    """--create-prob for the custom mode only: the command refuses it for the fixed modes, and
    so a change of percolation.create_prob reruns only the custom graphs."""
    if wildcards.mode == "custom":
        return f"--create-prob {PERCOLATION['create_prob']}"
    return ""


def null_option(name, value):
    """``--name value``, or nothing for a null setting (the command's default applies)."""
    return "" if value is None else f"--{name.replace('_', '-')} {value}"


def scan_instances():
    """Instance indices of the synthetic sweep with the basin scan's seed (a train-toy run
    nests sparsity, importance, seed; seed fastest; one importance setting here)."""
    seeds = list(TOY_SYNTHETIC["seeds"])
    position = seeds.index(BASIN_SCAN["seed"])
    return comma_list(
        [s * len(seeds) + position for s in range(len(TOY_SYNTHETIC["sparsities"]))]
    )


def sae_sweep_option(settings):
    """A params function: the values an SAE job sweeps: --l1 (relu), --l0-coefficient
    (jumprelu) or --k (topk, batchtopk, matryoshka)."""

    def option(wildcards):
        if wildcards.kind == "relu":
            return f"--l1 {comma_list(settings['l1'])}"
        if wildcards.kind == "jumprelu":
            return f"--l0-coefficient {comma_list(settings['l0_coefficient'])}"
        return f"--k {comma_list(settings['k'])}"

    return option


SAE_PERCOLATION_DIR = "results/sae/percolation/{mode}/size{size}_dim{dim}_seed{seed}/{kind}"


def sae_architecture_option(wildcards):
    """The sae.architecture settings (config.yaml) that the job's kind uses, as options."""
    return settings.to_options(
        sae_config.architecture_settings(wildcards.kind, SAE_ARCHITECTURE))


def sae_output_options(output):
    """--<name> FILE for every named output of a sweep rule."""
    return " ".join(f"--{name.replace('_', '-')} {path}" for name, path in output.items())


def sae_known_outputs(folder):
    """The named output files of an sae-synthetic sweep in ``folder``."""
    return {
        "weights": f"{folder}/weights.npz",
        "config": f"{folder}/config.json",
        "metrics": f"{folder}/metrics.csv",
        "recovery": f"{folder}/recovery.csv",
        "recovery_by_depth": f"{folder}/recovery_by_depth.csv",
        "recovery_by_frequency": f"{folder}/recovery_by_frequency.csv",
        "absorption": f"{folder}/absorption.csv",
        "absorption_by_depth": f"{folder}/absorption_by_depth.csv",
        "dictionary": f"{folder}/dictionary.npz",
        "timings": f"{folder}/timings.json",
    }


def export_options():
    """The export options of percolation.n_features, .binary and .compress."""
    options = []
    if PERCOLATION["n_features"] is not None:
        options.append(f"--n-features {PERCOLATION['n_features']}")
    if PERCOLATION["binary"]:
        options.append("--binary")
    if PERCOLATION["compress"]:
        options.append("--compress")
    return " ".join(options)


# ------------------------------------------------------------------------------ shards
def dataset_of(wildcards):
    return Dataset(wildcards.mode, int(wildcards.size), int(wildcards.dim), int(wildcards.seed))


def n_shards(wildcards):
    """Shards of the dataset named by the wildcards (1 for a dataset not in the config)."""
    return SHARDS.get(dataset_of(wildcards), 1)


def export_input(wildcards):
    """What export merges: the stage outputs of an unsharded dataset, or the manifest and every
    shard of a sharded one."""
    if n_shards(wildcards) == 1:
        return {
            "graph": rules.generate_graph.output.graph.format(**wildcards),
            "x": rules.embed.output.x.format(**wildcards),
            "values": rules.label.output.values.format(**wildcards),
        }
    return {
        "manifest": rules.plan_shards.output.manifest.format(**wildcards),
        "shards": expand(
            rules.generate_shard.output.shard,
            shard=[f"{k:05d}" for k in range(n_shards(wildcards))],
            **wildcards,
        ),
    }


def export_sources(wildcards, input):
    """export's source options for the inputs chosen by export_input."""
    if "manifest" in input.keys():
        return f"--manifest {input.manifest}"
    return f"--graph {input.graph} --embedding {input.x} --values {input.values}"


def shard_points(wildcards):
    """Points of the largest shard, for its resources: N/K, but a cluster is never split and
    the largest cluster has about N^(2/3) points (distribution) or all of them (one_cluster)."""
    n, k = int(wildcards.size), n_shards(wildcards)
    if wildcards.mode != "distribution":
        return n
    return min(n, 2 * n // k + 10 * int(n ** (2 / 3)))


# ------------------------------------------------------------------------------ figures
# Every figure of the registry; the files each reads are the group FIGURE_INPUTS[name], filled
# by the rule files (a list of files, or an input function of the wildcards).
FIGURE_INPUTS = {}
PER_SETTING_FIGURES = [name for name, figure in FIGURES.items() if figure.per_setting]
RUN_FIGURES = [name for name, figure in FIGURES.items() if not figure.per_setting]


def setting_statistics(wildcards):
    """describe's arrays and summary of every seed of the setting (mode, size, dim); the
    per-seed summaries rather than the aggregated table, so that a new seed of one setting
    redraws that setting's figures only."""
    seeds = [
        d.seed
        for d in DATASETS
        if (d.mode, str(d.size), str(d.dim))
        == (wildcards.mode, wildcards.size, wildcards.dim)
    ]
    return expand(
        rules.describe.output,
        mode=wildcards.mode,
        size=wildcards.size,
        dim=wildcards.dim,
        seed=seeds,
    )


FIGURE_INPUTS["percolation_setting"] = setting_statistics


# ------------------------------------------------------------------------------ resources
# Each rule states its peak memory and run time as a function of its dataset's size N and
# dimension d (d = 0 for the graph stages), calibrated on the benchmark files of runs at
# N = 1e5 .. 1e6, d = 100 (results/benchmarks/: max_rss, s) with a margin of 2x or more, so
# that a cluster scheduler neither kills nor starves the jobs. A job that is retried (the
# cluster profile's retries) asks for proportionally more on each attempt.
INTERPRETER_MB = 400  # Python with numpy, scipy, pandas and numba loaded


def dataset_size_and_dim(wildcards):
    return int(wildcards.size), int(wildcards.get("dim", 0))


def synthetic_sae_size_and_dim(wildcards):
    return SAE_SYNTHETIC["n_samples"], SAE_SYNTHETIC["dim"]


def hierarchy_sae_size_and_dim(wildcards):
    return SAE_HIERARCHY["n_samples"], SAE_HIERARCHY["dim"]


def dataset_threads(wildcards):
    """Threads of a dataset job: 1 per 500,000 points, at most 8. Below that a job spends most
    of its time starting Python, and two one-thread jobs side by side finish sooner. (Every job
    sets NUMBA_NUM_THREADS to its threads, else the numba kernels would start one thread per
    core; results do not depend on the number of threads.)"""
    return min(8, 1 + int(wildcards.size) // 500_000)


# The dataset jobs' memory: twice the package's estimate of the command's peak (the one the
# `generate` command checks before it starts; percolation_tms/dataset/memory.py, fitted to
# measured peaks).
MEMORY_MARGIN = 2


def dataset_mem_mb(stage, size_and_dim=dataset_size_and_dim):
    """A resources function: MEMORY_MARGIN times the estimated peak of ``stage``, in MB."""

    def estimate(wildcards, attempt):
        n, d = size_and_dim(wildcards)
        peak = estimate_peak_bytes(wildcards.mode, n, d, PERCOLATION["dtype"], stage)
        return attempt * math.ceil(MEMORY_MARGIN * peak / 2**20)

    return estimate


def mem_mb(data_bytes, size_and_dim=dataset_size_and_dim):
    """A resources function: the interpreter plus ``data_bytes(N, d)`` bytes, in MB."""

    def estimate(wildcards, attempt):
        n, d = size_and_dim(wildcards)
        return attempt * (INTERPRETER_MB + math.ceil(data_bytes(n, d) / 2**20))

    return estimate


def runtime_min(seconds, size_and_dim=dataset_size_and_dim):
    """A resources function: 5 minutes plus ``seconds(N, d)``, in minutes."""

    def estimate(wildcards, attempt):
        n, d = size_and_dim(wildcards)
        return attempt * (5 + math.ceil(seconds(n, d) / 60))

    return estimate


def sae_seconds(settings):
    """Run time of an SAE sweep on N points of dimension d: 7 ns per point, dimension,
    dictionary atom, epoch and SAE (measured: N = 1e5, d = 100, two SAEs of 200 atoms, 2
    epochs: 54 s), doubled."""
    saes_per_size = max(len(settings["k"]), len(settings["l1"]), len(settings["l0_coefficient"]))
    atoms = sum(settings["dict_ratios"])  # times d

    def seconds(n, d):
        return 1.5e-8 * n * d * d * atoms * settings["epochs"] * saes_per_size

    return seconds


def persian_rug_runtime(wildcards, attempt):
    """Run time of one job: 5 minutes plus, for trained models, 10 ns per batch sample,
    feature and hidden unit and step (measured 3.5 ms a step at n = 512, m = 128 with one
    thread), tripled; for the rug, 30 s per (cell, seed) at the large n and 3 s below; in
    minutes, times the attempt."""
    part = wildcards.part
    cells = [(n, r, p) for n in PERSIAN_RUG["n_features"] for r in PERSIAN_RUG["ratios"]
             for p in PERSIAN_RUG["probabilities"]] * len(PERSIAN_RUG["seeds"])
    if part == "trained":
        seconds = sum(3e-8 * PERSIAN_RUG["batch_size"] * n * n * r * PERSIAN_RUG["steps"]
                      for n, r, p in cells)
    elif part == "rug":
        large = (len(PERSIAN_RUG["large_n_features"]) * len(PERSIAN_RUG["ratios"])
                 * len(PERSIAN_RUG["probabilities"]) * len(PERSIAN_RUG["seeds"]))
        seconds = 30 * large + 3 * len(cells)
    else:
        seconds = 60
    return attempt * (5 + math.ceil(seconds / 60))


# ------------------------------------------------------------------------------ targets
def get_final_output():
    """Everything the workflow produces: the dataset files, the statistics tables, the toy
    models, the sparse autoencoders and every figure."""
    return (
        expand(rules.export.output, zip, **dataset_columns(DATASETS))
        + expand(rules.describe.output, zip, **dataset_columns(DATASETS))
        + rules.aggregate.output
        + expand(rules.train_toy_synthetic.output, model=TOY_SYNTHETIC["models"])
        + expand(
            rules.train_toy_percolation.output,
            model=TOY_PERCOLATION["models"],
            **dataset_columns([TOY_DATASET]),
        )
        + rules.phase_diagram.output
        + expand(
            rules.train_sae.output,
            kind=SAE_PERCOLATION["kinds"],
            **dataset_columns([SAE_DATASET]),
        )
        + expand(rules.sae_synthetic.output, kind=SAE_SYNTHETIC["kinds"])
        + expand(rules.basin_volume_synthetic.output, model=TOY_SYNTHETIC["models"])
        + expand(rules.llc_synthetic.output, model=TOY_SYNTHETIC["models"])
        + rules.basin_kgon.output
        + rules.basin_cutoff_scan.output
        + expand(rules.sae_hierarchy.output, kind=SAE_HIERARCHY["kinds"])
        + figure_files()
    )


def figure_files():
    """Every figure of the run (PNG and PDF)."""
    settings = sorted({(d.mode, d.size, d.dim) for d in DATASETS})
    files = []
    for figure in PER_SETTING_FIGURES:
        files += expand(
            getattr(rules, f"plot_{figure}").output,
            zip,
            mode=[s[0] for s in settings],
            size=[s[1] for s in settings],
            dim=[s[2] for s in settings],
        )
    for figure in RUN_FIGURES:
        files += getattr(rules, f"plot_{figure}").output
    return files
