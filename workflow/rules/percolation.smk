# Percolation datasets: graph -> embedding and labels -> dataset files -> statistics.
# The graph depends on (mode, size, seed) only, so a new dim re-embeds the same graph.


rule generate_graph:
    output:
        graph="results/graphs/{mode}/size{size}_seed{seed}/graph.npz",
    params:
        create_prob=create_prob_option,
        nested="--nested" if PERCOLATION.get("nested", False) else "",
    log:
        "results/logs/generate_graph/{mode}/size{size}_seed{seed}.log",
    benchmark:
        "results/benchmarks/generate_graph/{mode}/size{size}_seed{seed}.tsv"
    threads: dataset_threads
    resources:
        # measured: 9 us per point
        mem_mb=dataset_mem_mb("generate_graph"),
        runtime=runtime_min(lambda n, d: 2e-5 * n),
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms generate-graph"
        " --mode {wildcards.mode} {params.create_prob}"
        " --size {wildcards.size} --seed {wildcards.seed} {params.nested} --out {output.graph}"
        " > {log} 2>&1"


rule embed:
    input:
        graph=rules.generate_graph.output.graph,
    output:
        x="results/embeddings/{mode}/size{size}_dim{dim}_seed{seed}/X.npy",
    params:
        dtype=PERCOLATION["dtype"],
    log:
        "results/logs/embed/{mode}/size{size}_dim{dim}_seed{seed}.log",
    benchmark:
        "results/benchmarks/embed/{mode}/size{size}_dim{dim}_seed{seed}.tsv"
    threads: dataset_threads
    resources:
        # measured: 0.2 us per value of X
        mem_mb=dataset_mem_mb("embed"),
        runtime=runtime_min(lambda n, d: 5e-7 * n * d),
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms embed"
        " --graph {input.graph} --dim {wildcards.dim}"
        " --dtype {params.dtype} --out {output.x} > {log} 2>&1"


rule label:
    input:
        graph=rules.generate_graph.output.graph,
    output:
        values="results/labels/{mode}/size{size}_seed{seed}/values.npz",
    log:
        "results/logs/label/{mode}/size{size}_seed{seed}.log",
    benchmark:
        "results/benchmarks/label/{mode}/size{size}_seed{seed}.tsv"
    threads: dataset_threads
    resources:
        # measured: 8 us per point
        mem_mb=dataset_mem_mb("label"),
        runtime=runtime_min(lambda n, d: 2e-5 * n),
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms label"
        " --graph {input.graph} --out {output.values} > {log} 2>&1"


rule export:
    input:
        # the stage outputs, or a sharded dataset's manifest and shards (percolation.smk's
        # shard rules), by the dataset's shards setting
        unpack(export_input),
    output:
        main="results/datasets/{mode}/percolation_dataset_size{size}_dim{dim}_seed{seed}.npz",
        features="results/datasets/{mode}/percolation_dataset_size{size}_dim{dim}_seed{seed}_gt_features.npz",
        metadata="results/datasets/{mode}/percolation_dataset_size{size}_dim{dim}_seed{seed}_gt_metadata.npz",
        graph="results/datasets/{mode}/percolation_dataset_size{size}_dim{dim}_seed{seed}_graph.npz",
    params:
        sources=export_sources,
        options=export_options(),
        outdir=lambda wildcards, output: os.path.dirname(output.main),
    log:
        "results/logs/export/{mode}/size{size}_dim{dim}_seed{seed}.log",
    benchmark:
        "results/benchmarks/export/{mode}/size{size}_dim{dim}_seed{seed}.tsv"
    threads: dataset_threads
    resources:
        # measured: 0.2 us per value of X
        mem_mb=dataset_mem_mb("export"),
        runtime=runtime_min(lambda n, d: 5e-7 * n * d),
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms export"
        " {params.sources} {params.options} --outdir {params.outdir} > {log} 2>&1"


rule describe:
    input:
        # describe reads the main file and finds the other three beside it
        main=rules.export.output.main,
        features=rules.export.output.features,
        metadata=rules.export.output.metadata,
        graph=rules.export.output.graph,
    output:
        summary="results/statistics/{mode}/size{size}_dim{dim}_seed{seed}/summary.csv",
        arrays="results/statistics/{mode}/size{size}_dim{dim}_seed{seed}/arrays.npz",
    params:
        knn_k=PERCOLATION["statistics"]["knn_k"],
        knn_min_cluster=PERCOLATION["statistics"]["knn_min_cluster"],
    log:
        "results/logs/describe/{mode}/size{size}_dim{dim}_seed{seed}.log",
    benchmark:
        "results/benchmarks/describe/{mode}/size{size}_dim{dim}_seed{seed}.tsv"
    threads: dataset_threads
    resources:
        # memory: float64 copies of X for the baselines, plus k-NN distance blocks capped at
        # 256 MB (measured at N = 1e6, d = 100: 3.0 GB); 2 us per value of X
        mem_mb=dataset_mem_mb("describe"),
        runtime=runtime_min(lambda n, d: 5e-6 * n * d),
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms describe --dataset {input.main}"
        " --knn-k {params.knn_k} --knn-min-cluster {params.knn_min_cluster}"
        " --out-summary {output.summary} --out-arrays {output.arrays} > {log} 2>&1"


rule aggregate:
    input:
        summaries=expand(
            rules.describe.output.summary, zip, **dataset_columns(DATASETS)
        ),
    output:
        summary=report(
            "results/statistics/summary.csv",
            caption="../report/statistics_summary.rst",
            category="Tables",
            labels={"table": "every dataset"},
        ),
        by_setting=report(
            "results/statistics/by_setting.csv",
            caption="../report/statistics_by_setting.rst",
            category="Tables",
            labels={"table": "mean and std over seeds"},
        ),
    log:
        "results/logs/aggregate/aggregate.log",
    benchmark:
        "results/benchmarks/aggregate/aggregate.tsv"
    threads: 1
    resources:
        mem_mb=INTERPRETER_MB,
        runtime=5,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms aggregate"
        " --summaries {input.summaries}"
        " --out {output.summary} --out-by-setting {output.by_setting} > {log} 2>&1"


# A dataset too big for one job: its clusters are planned once, then built as K independent
# shard jobs (on a cluster, K nodes at once); export merges them into the same files.


rule plan_shards:
    output:
        manifest="results/shards/{mode}/size{size}_dim{dim}_seed{seed}/manifest.json",
        plan="results/shards/{mode}/size{size}_dim{dim}_seed{seed}/plan.npz",
    params:
        create_prob=create_prob_option,
        dtype=PERCOLATION["dtype"],
        shards=n_shards,
        nested="--nested" if PERCOLATION.get("nested", False) else "",
        outdir=lambda wildcards, output: os.path.dirname(output.manifest),
    log:
        "results/logs/plan_shards/{mode}/size{size}_dim{dim}_seed{seed}.log",
    benchmark:
        "results/benchmarks/plan_shards/{mode}/size{size}_dim{dim}_seed{seed}.tsv"
    threads: 1
    resources:
        # one int32 per point, three int64 per cluster; about 0.1 us per point
        mem_mb=mem_mb(lambda n, d: 40 * n),
        runtime=runtime_min(lambda n, d: 1e-6 * n),
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "python -m percolation_tms plan-shards --mode {wildcards.mode} {params.create_prob}"
        " --size {wildcards.size} --dim {wildcards.dim} --seed {wildcards.seed}"
        " --dtype {params.dtype} --shards {params.shards} {params.nested}"
        " --outdir {params.outdir} > {log} 2>&1"


rule generate_shard:
    input:
        manifest=rules.plan_shards.output.manifest,
    output:
        shard="results/shards/{mode}/size{size}_dim{dim}_seed{seed}/shard{shard}.npz",
    wildcard_constraints:
        shard=r"[0-9]{5}",
    params:
        index=lambda wildcards: int(wildcards.shard),
    log:
        "results/logs/generate_shard/{mode}/size{size}_dim{dim}_seed{seed}/shard{shard}.log",
    benchmark:
        "results/benchmarks/generate_shard/{mode}/size{size}_dim{dim}_seed{seed}/shard{shard}.tsv"
    threads: dataset_threads
    resources:
        # as embed + label + export, for the points of the largest shard
        mem_mb=dataset_mem_mb("generate_shard",
                              lambda wildcards: (shard_points(wildcards), int(wildcards.dim))),
        runtime=runtime_min(lambda n, d: 1e-6 * n * d,
                            lambda wildcards: (shard_points(wildcards), int(wildcards.dim))),
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms generate-shard"
        " --manifest {input.manifest} --shard {params.index} > {log} 2>&1"
