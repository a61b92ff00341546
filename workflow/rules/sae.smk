# Sparse autoencoders: a sweep on the points of a percolation dataset, scored against its
# ground-truth features, and a sweep on data with a known dictionary. One job per SAE kind
# (relu sweeps l1, topk sweeps k), one SAE per dictionary size and l1 or k.


rule train_sae:
    input:
        # train-sae reads the main file and finds the features and graph beside it
        main=rules.export.output.main,
        features=rules.export.output.features,
        graph=rules.export.output.graph,
    output:
        weights="results/sae/percolation/{mode}/size{size}_dim{dim}_seed{seed}/{kind}/weights.npz",
        config="results/sae/percolation/{mode}/size{size}_dim{dim}_seed{seed}/{kind}/config.json",
        metrics="results/sae/percolation/{mode}/size{size}_dim{dim}_seed{seed}/{kind}/metrics.csv",
        recovery="results/sae/percolation/{mode}/size{size}_dim{dim}_seed{seed}/{kind}/recovery.csv",
        recovery_by_depth="results/sae/percolation/{mode}/size{size}_dim{dim}_seed{seed}/{kind}/recovery_by_depth.csv",
        recovery_by_frequency="results/sae/percolation/{mode}/size{size}_dim{dim}_seed{seed}/{kind}/recovery_by_frequency.csv",
        timings="results/sae/percolation/{mode}/size{size}_dim{dim}_seed{seed}/{kind}/timings.json",
    params:
        sweep=sae_sweep_option(SAE_PERCOLATION),
        dict_ratios=comma_list(SAE_PERCOLATION["dict_ratios"]),
        epochs=SAE_PERCOLATION["epochs"],
        batch_size=SAE_PERCOLATION["batch_size"],
        lr=SAE_PERCOLATION["lr"],
        seed=SAE_PERCOLATION["seed"],
        standardize="" if SAE_PERCOLATION["standardize"] else "--no-standardize",
        min_feature_points=SAE_PERCOLATION["min_feature_points"],
        max_features=(
            ""
            if SAE_PERCOLATION["max_features"] is None
            else f"--max-features {SAE_PERCOLATION['max_features']}"
        ),
        feature_order=SAE_PERCOLATION["feature_order"],
        outdir=lambda wildcards, output: os.path.dirname(output.weights),
    log:
        "results/logs/train_sae/{mode}/size{size}_dim{dim}_seed{seed}/{kind}.log",
    benchmark:
        "results/benchmarks/train_sae/{mode}/size{size}_dim{dim}_seed{seed}/{kind}.tsv"
    threads: 2
    resources:
        # measured: X plus 1.5 kB per point
        mem_mb=mem_mb(lambda n, d: 2 * n * d * 8 + 4000 * n),
        runtime=runtime_min(sae_seconds(SAE_PERCOLATION)),
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms train-sae"
        " --dataset {input.main} --kind {wildcards.kind} {params.sweep}"
        " --dict-ratios {params.dict_ratios} --epochs {params.epochs}"
        " --batch-size {params.batch_size} --lr {params.lr} --seed {params.seed}"
        " {params.standardize} --min-feature-points {params.min_feature_points}"
        " {params.max_features} --feature-order {params.feature_order}"
        " --out {params.outdir} > {log} 2>&1"


rule sae_synthetic:
    output:
        weights="results/sae/synthetic/{kind}/weights.npz",
        config="results/sae/synthetic/{kind}/config.json",
        metrics="results/sae/synthetic/{kind}/metrics.csv",
        recovery="results/sae/synthetic/{kind}/recovery.csv",
        recovery_by_depth="results/sae/synthetic/{kind}/recovery_by_depth.csv",
        recovery_by_frequency="results/sae/synthetic/{kind}/recovery_by_frequency.csv",
        dictionary="results/sae/synthetic/{kind}/dictionary.npz",
        timings="results/sae/synthetic/{kind}/timings.json",
    params:
        n_samples=SAE_SYNTHETIC["n_samples"],
        dim=SAE_SYNTHETIC["dim"],
        n_features=SAE_SYNTHETIC["n_features"],
        mean_active=SAE_SYNTHETIC["mean_active"],
        decay=SAE_SYNTHETIC["decay"],
        data_seed=SAE_SYNTHETIC["data_seed"],
        sweep=sae_sweep_option(SAE_SYNTHETIC),
        dict_ratios=comma_list(SAE_SYNTHETIC["dict_ratios"]),
        epochs=SAE_SYNTHETIC["epochs"],
        batch_size=SAE_SYNTHETIC["batch_size"],
        lr=SAE_SYNTHETIC["lr"],
        seed=SAE_SYNTHETIC["seed"],
        standardize="" if SAE_SYNTHETIC["standardize"] else "--no-standardize",
        outdir=lambda wildcards, output: os.path.dirname(output.weights),
    log:
        "results/logs/sae_synthetic/{kind}.log",
    benchmark:
        "results/benchmarks/sae_synthetic/{kind}.tsv"
    threads: 2
    resources:
        mem_mb=mem_mb(
            lambda n, d: 2 * n * d * 8 + 4000 * n,
            size_and_dim=synthetic_sae_size_and_dim,
        ),
        runtime=runtime_min(
            sae_seconds(SAE_SYNTHETIC),
            size_and_dim=synthetic_sae_size_and_dim,
        ),
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms sae-synthetic"
        " --n-samples {params.n_samples} --dim {params.dim}"
        " --n-features {params.n_features} --mean-active {params.mean_active}"
        " --decay {params.decay} --data-seed {params.data_seed}"
        " --kind {wildcards.kind} {params.sweep}"
        " --dict-ratios {params.dict_ratios} --epochs {params.epochs}"
        " --batch-size {params.batch_size} --lr {params.lr} --seed {params.seed}"
        " {params.standardize} --out {params.outdir} > {log} 2>&1"


# The files the SAE figures read (figure registry: inputs).
FIGURE_INPUTS["sae_percolation"] = expand(
    [
        rules.train_sae.output.metrics,
        rules.train_sae.output.recovery_by_depth,
        rules.train_sae.output.recovery_by_frequency,
    ],
    kind=SAE_PERCOLATION["kinds"],
    **dataset_columns([SAE_DATASET]),
)
FIGURE_INPUTS["sae_synthetic"] = expand(
    [
        rules.sae_synthetic.output.metrics,
        rules.sae_synthetic.output.recovery,
        rules.sae_synthetic.output.config,
    ],
    kind=SAE_SYNTHETIC["kinds"],
)
