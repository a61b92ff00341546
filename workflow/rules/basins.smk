# Basin volumes and local learning coefficients of trained toy models (docs/basins.md): ln P and
# the LLC against sparsity on the synthetic sweep, competing k-gons of models trained here, and a
# cutoff scan. The run folder of a toy model is passed with --run; the files it reads are named
# as inputs so that a retrained model reruns what follows.


rule basin_volume_synthetic:
    input:
        weights=rules.train_toy_synthetic.output.weights,
        config=rules.train_toy_synthetic.output.config,
    output:
        volumes="results/basins/synthetic/{model}/volumes.csv",
        slopes="results/basins/synthetic/{model}/slopes.csv",
        rays="results/basins/synthetic/{model}/rays.npz",
    params:
        run=lambda wildcards, input: os.path.dirname(input.weights),
        cost=BASIN_VOLUME["cost"],
        cutoff_rel=comma_list(BASIN_VOLUME["cutoff_rel"]),
        n_directions=BASIN_VOLUME["n_directions"],
        preconditioner=BASIN_VOLUME["preconditioner"],
        eval_samples=null_option("eval_samples", BASIN_VOLUME["eval_samples"]),
        seed=BASIN_VOLUME["seed"],
        n_bootstrap=BASIN_VOLUME["n_bootstrap"],
    log:
        "results/logs/basin_volume_synthetic/{model}.log",
    benchmark:
        "results/benchmarks/basin_volume_synthetic/{model}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=lambda wildcards, attempt: 30 * attempt,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms basin-volume --run {params.run}"
        " --cost {params.cost} --cutoff-rel {params.cutoff_rel}"
        " --n-directions {params.n_directions} --preconditioner {params.preconditioner}"
        " {params.eval_samples} --seed {params.seed} --n-bootstrap {params.n_bootstrap}"
        " --volumes {output.volumes} --slopes {output.slopes} --rays {output.rays}"
        " > {log} 2>&1"


rule llc_synthetic:
    input:
        weights=rules.train_toy_synthetic.output.weights,
        config=rules.train_toy_synthetic.output.config,
    output:
        llc="results/basins/synthetic/{model}/llc.csv",
        traces="results/basins/synthetic/{model}/llc_traces.npz",
    params:
        run=lambda wildcards, input: os.path.dirname(input.weights),
        cost=BASIN_LLC["cost"],
        n_chains=BASIN_LLC["n_chains"],
        n_burnin=BASIN_LLC["n_burnin"],
        n_draws=BASIN_LLC["n_draws"],
        step_size=null_option("step_size", BASIN_LLC["step_size"]),
        localization=BASIN_LLC["localization"],
        eval_samples=null_option("eval_samples", BASIN_LLC["eval_samples"]),
        seed=BASIN_LLC["seed"],
    log:
        "results/logs/llc_synthetic/{model}.log",
    benchmark:
        "results/benchmarks/llc_synthetic/{model}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=lambda wildcards, attempt: 30 * attempt,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms llc --run {params.run}"
        " --cost {params.cost} --n-chains {params.n_chains} --n-burnin {params.n_burnin}"
        " --n-draws {params.n_draws} {params.step_size}"
        " --localization {params.localization} {params.eval_samples} --seed {params.seed}"
        " --llc {output.llc} --traces {output.traces} > {log} 2>&1"


rule train_kgon:
    output:
        weights="results/basins/kgon/run/weights.npz",
        measurements="results/basins/kgon/run/measurements.npz",
        metrics="results/basins/kgon/run/metrics.csv",
        config="results/basins/kgon/run/config.json",
    params:
        model=BASIN_KGON["model"],
        n_features=BASIN_KGON["n_features"],
        sparsities=comma_list(BASIN_KGON["sparsities"]),
        importance=BASIN_KGON["importance"],
        seeds=comma_list(range(BASIN_KGON["n_seeds"])),
        steps=BASIN_KGON["steps"],
        batch_size=BASIN_KGON["batch_size"],
        outdir=lambda wildcards, output: os.path.dirname(output.weights),
    log:
        "results/logs/train_kgon/train_kgon.log",
    benchmark:
        "results/benchmarks/train_kgon/train_kgon.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=lambda wildcards, attempt: 30 * attempt,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms train-toy --model {params.model}"
        " --n-features {params.n_features} --n-hidden 2 --sparsities {params.sparsities}"
        " --importance {params.importance} --seeds {params.seeds} --steps {params.steps}"
        " --batch-size {params.batch_size} --eval-batch-size 10000"
        " --out {params.outdir} > {log} 2>&1"


rule basin_volume_kgon:
    input:
        weights=rules.train_kgon.output.weights,
        config=rules.train_kgon.output.config,
    output:
        volumes="results/basins/kgon/volumes.csv",
        slopes="results/basins/kgon/slopes.csv",
        rays="results/basins/kgon/rays.npz",
    params:
        run=lambda wildcards, input: os.path.dirname(input.weights),
        cost=BASIN_VOLUME["cost"],
        cutoff_rel=BASIN_VOLUME["cutoff_rel"][0],
        n_directions=BASIN_KGON["n_directions"],
        eval_samples=BASIN_KGON["eval_samples"],
        seed=BASIN_VOLUME["seed"],
        n_bootstrap=BASIN_VOLUME["n_bootstrap"],
    log:
        "results/logs/basin_volume_kgon/basin_volume_kgon.log",
    benchmark:
        "results/benchmarks/basin_volume_kgon/basin_volume_kgon.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=lambda wildcards, attempt: 30 * attempt,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms basin-volume --run {params.run}"
        " --cost {params.cost} --cutoff-rel {params.cutoff_rel}"
        " --n-directions {params.n_directions} --eval-samples {params.eval_samples}"
        " --seed {params.seed} --n-bootstrap {params.n_bootstrap}"
        " --volumes {output.volumes} --slopes {output.slopes} --rays {output.rays}"
        " > {log} 2>&1"


rule llc_kgon:
    input:
        weights=rules.train_kgon.output.weights,
        config=rules.train_kgon.output.config,
    output:
        llc="results/basins/kgon/llc.csv",
        traces="results/basins/kgon/llc_traces.npz",
    params:
        run=lambda wildcards, input: os.path.dirname(input.weights),
        cost=BASIN_LLC["cost"],
        n_chains=BASIN_KGON["n_chains"],
        n_burnin=BASIN_LLC["n_burnin"],
        n_draws=BASIN_KGON["n_draws"],
        step_size=null_option("step_size", BASIN_LLC["step_size"]),
        localization=BASIN_LLC["localization"],
        eval_samples=BASIN_KGON["eval_samples"],
        seed=BASIN_LLC["seed"],
    log:
        "results/logs/llc_kgon/llc_kgon.log",
    benchmark:
        "results/benchmarks/llc_kgon/llc_kgon.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=lambda wildcards, attempt: 30 * attempt,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms llc --run {params.run}"
        " --cost {params.cost} --n-chains {params.n_chains} --n-burnin {params.n_burnin}"
        " --n-draws {params.n_draws} {params.step_size}"
        " --localization {params.localization} --eval-samples {params.eval_samples}"
        " --seed {params.seed} --llc {output.llc} --traces {output.traces} > {log} 2>&1"


rule basin_kgon:
    input:
        volumes=rules.basin_volume_kgon.output.volumes,
        llc=rules.llc_kgon.output.llc,
    output:
        kgon="results/basins/kgon/kgon.csv",
    log:
        "results/logs/basin_kgon/basin_kgon.log",
    benchmark:
        "results/benchmarks/basin_kgon/basin_kgon.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "python -m percolation_tms basin-kgon --volumes {input.volumes} --llc {input.llc}"
        " --kgon {output.kgon} > {log} 2>&1"


rule basin_cutoff_scan:
    input:
        weights=expand(rules.train_toy_synthetic.output.weights, model=BASIN_SCAN["model"]),
        config=expand(rules.train_toy_synthetic.output.config, model=BASIN_SCAN["model"]),
    output:
        volumes="results/basins/scan/volumes.csv",
        slopes="results/basins/scan/slopes.csv",
        rays="results/basins/scan/rays.npz",
    params:
        run=lambda wildcards, input: os.path.dirname(input.weights[0]),
        instances=scan_instances(),
        cost=BASIN_VOLUME["cost"],
        cutoff_rel=comma_list(BASIN_SCAN["cutoff_rel"]),
        n_directions=BASIN_SCAN["n_directions"],
        eval_samples=null_option("eval_samples", BASIN_VOLUME["eval_samples"]),
        seed=BASIN_VOLUME["seed"],
        n_bootstrap=BASIN_VOLUME["n_bootstrap"],
    log:
        "results/logs/basin_cutoff_scan/basin_cutoff_scan.log",
    benchmark:
        "results/benchmarks/basin_cutoff_scan/basin_cutoff_scan.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=lambda wildcards, attempt: 30 * attempt,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms basin-volume --run {params.run}"
        " --instances {params.instances} --cost {params.cost}"
        " --cutoff-rel {params.cutoff_rel} --n-directions {params.n_directions}"
        " {params.eval_samples} --seed {params.seed} --n-bootstrap {params.n_bootstrap}"
        " --volumes {output.volumes} --slopes {output.slopes} --rays {output.rays}"
        " > {log} 2>&1"


# The files the basin figures read (figure registry: inputs).
FIGURE_INPUTS["basin_sweep"] = expand(
    [rules.basin_volume_synthetic.output.volumes, rules.llc_synthetic.output.llc],
    model=TOY_SYNTHETIC["models"],
)
FIGURE_INPUTS["basin_kgon"] = [
    rules.basin_kgon.output.kgon,
    rules.basin_volume_kgon.output.volumes,
    rules.llc_kgon.output.llc,
]
FIGURE_INPUTS["basin_scan"] = [rules.basin_cutoff_scan.output.slopes] + expand(
    rules.llc_synthetic.output.llc, model=BASIN_SCAN["model"]
)
