# The Persian Rug (large-n toy models on permutation-symmetric data): one job per model kind
# (trained models, the Hadamard rug, the Gaussian limit), each over the whole grid of
# persian_rug: n, m/n, p and seeds. The three jobs run side by side; every setting is a param,
# so changing one reruns the jobs it feeds and the figures after them.

rule persian_rug:
    output:
        results="results/persianrug/{part}/results.csv",
        curves="results/persianrug/{part}/curves.csv",
        weights="results/persianrug/{part}/weights.npz",
        config="results/persianrug/{part}/config.json",
    wildcard_constraints:
        part="trained|rug|theory",
    params:
        n_features=comma_list(PERSIAN_RUG["n_features"]),
        large_n_features=comma_list(PERSIAN_RUG["large_n_features"]),
        ratios=comma_list(PERSIAN_RUG["ratios"]),
        probabilities=comma_list(PERSIAN_RUG["probabilities"]),
        seeds=comma_list(PERSIAN_RUG["seeds"]),
        steps=PERSIAN_RUG["steps"],
        schedule=PERSIAN_RUG["schedule"],
        batch_size=PERSIAN_RUG["batch_size"],
        lr_scale=PERSIAN_RUG["lr_scale"],
        beta1=PERSIAN_RUG["beta1"],
        beta2=PERSIAN_RUG["beta2"],
        eps=PERSIAN_RUG["eps"],
        dtype=PERSIAN_RUG["dtype"],
        eval_samples=PERSIAN_RUG["eval_samples"],
        eval_seed=PERSIAN_RUG["eval_seed"],
        rug_draws=PERSIAN_RUG["rug_draws"],
        rug_fit=PERSIAN_RUG["rug_fit"],
        fit_entries=PERSIAN_RUG["fit_entries"],
        ks_samples=PERSIAN_RUG["ks_samples"],
    log:
        "results/logs/persian_rug/{part}.log",
    benchmark:
        "results/benchmarks/persian_rug/{part}.tsv"
    threads: 1
    resources:
        # The rug's fit sample and evaluation chunks at n = 8192 (about 0.6 GB at peak).
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=persian_rug_runtime,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        # One thread for numba and for OpenBLAS alike: two libraries spinning on two shared
        # cores slowed a step twentyfold (docs/persianrug.md).
        "NUMBA_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads}"
        " python -m percolation_tms persian-rug --kinds {wildcards.part}"
        " --n-features {params.n_features} --large-n-features '{params.large_n_features}'"
        " --ratios {params.ratios} --probabilities {params.probabilities}"
        " --seeds {params.seeds} --steps {params.steps} --schedule {params.schedule}"
        " --batch-size {params.batch_size} --lr-scale {params.lr_scale}"
        " --beta1 {params.beta1} --beta2 {params.beta2} --eps {params.eps}"
        " --dtype {params.dtype} --eval-samples {params.eval_samples}"
        " --eval-seed {params.eval_seed} --rug-draws {params.rug_draws}"
        " --rug-fit {params.rug_fit} --fit-entries {params.fit_entries}"
        " --ks-samples {params.ks_samples}"
        " --results {output.results} --curves {output.curves}"
        " --weights {output.weights} --config {output.config} > {log} 2>&1"


# The files the Persian Rug figures read (figure registry: inputs): every job's table, the
# theory job's curves, the weights of the trained and rug jobs.
PERSIAN_RUG_PARTS = [kind for kind in ("trained", "rug", "theory") if kind in PERSIAN_RUG["kinds"]]
FIGURE_INPUTS["persian_rug"] = (
    expand(rules.persian_rug.output.results, part=PERSIAN_RUG_PARTS)
    + expand(rules.persian_rug.output.curves, part=PERSIAN_RUG_PARTS[-1:])
    + expand(
        rules.persian_rug.output.weights,
        part=[part for part in PERSIAN_RUG_PARTS if part != "theory"],
    )
)
