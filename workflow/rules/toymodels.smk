# Toy models of superposition: the synthetic sparsity sweep, a model on percolation features,
# and the analytic phase diagram. One job trains every (sparsity, seed) instance of a model kind
# side by side; every setting is a param, so changing one reruns the training and what follows.
# Every output path is passed explicitly; the file names come from percolation_tms.filenames.

from percolation_tms import filenames


rule train_toy_synthetic:
    output:
        weights=f"results/toymodels/synthetic/{{model}}/{filenames.TOY_WEIGHTS}",
        measurements=f"results/toymodels/synthetic/{{model}}/{filenames.TOY_MEASUREMENTS}",
        metrics=f"results/toymodels/synthetic/{{model}}/{filenames.TOY_METRICS}",
        config=f"results/toymodels/synthetic/{{model}}/{filenames.TOY_CONFIG}",
    params:
        n_features=TOY_SYNTHETIC["n_features"],
        n_hidden=TOY_SYNTHETIC["n_hidden"],
        sparsities=comma_list(TOY_SYNTHETIC["sparsities"]),
        importance=TOY_SYNTHETIC["importance"],
        seeds=comma_list(TOY_SYNTHETIC["seeds"]),
        steps=TOY_SYNTHETIC["steps"],
        batch_size=TOY_SYNTHETIC["batch_size"],
        lr=TOY_SYNTHETIC["lr"],
        weight_decay=TOY_SYNTHETIC["weight_decay"],
    log:
        "results/logs/train_toy_synthetic/{model}.log",
    benchmark:
        "results/benchmarks/train_toy_synthetic/{model}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=lambda wildcards, attempt: 60 * attempt,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms train-toy --model {wildcards.model}"
        " --n-features {params.n_features} --n-hidden {params.n_hidden}"
        " --sparsities {params.sparsities} --importance {params.importance}"
        " --steps {params.steps} --batch-size {params.batch_size} --lr {params.lr}"
        " --weight-decay {params.weight_decay} --seeds {params.seeds}"
        " --weights {output.weights} --measurements {output.measurements}"
        " --metrics {output.metrics} --config {output.config} > {log} 2>&1"


rule train_toy_percolation:
    input:
        features=rules.export.output.features,
    output:
        weights=f"results/toymodels/percolation/{{mode}}/size{{size}}_dim{{dim}}_seed{{seed}}/{{model}}/{filenames.TOY_WEIGHTS}",
        measurements=f"results/toymodels/percolation/{{mode}}/size{{size}}_dim{{dim}}_seed{{seed}}/{{model}}/{filenames.TOY_MEASUREMENTS}",
        metrics=f"results/toymodels/percolation/{{mode}}/size{{size}}_dim{{dim}}_seed{{seed}}/{{model}}/{filenames.TOY_METRICS}",
        config=f"results/toymodels/percolation/{{mode}}/size{{size}}_dim{{dim}}_seed{{seed}}/{{model}}/{filenames.TOY_CONFIG}",
    params:
        n_features=TOY_PERCOLATION["n_features"],
        feature_selection=TOY_PERCOLATION["feature_selection"],
        feature_values=TOY_PERCOLATION["feature_values"],
        n_hidden=TOY_PERCOLATION["n_hidden"],
        importance=TOY_PERCOLATION["importance"],
        seeds=comma_list(TOY_PERCOLATION["seeds"]),
        steps=TOY_PERCOLATION["steps"],
        batch_size=TOY_PERCOLATION["batch_size"],
        lr=TOY_PERCOLATION["lr"],
        weight_decay=TOY_PERCOLATION["weight_decay"],
    log:
        "results/logs/train_toy_percolation/{mode}/size{size}_dim{dim}_seed{seed}/{model}.log",
    benchmark:
        "results/benchmarks/train_toy_percolation/{mode}/size{size}_dim{dim}_seed{seed}/{model}.tsv"
    threads: 1
    resources:
        # the feature matrix (12 bytes per stored value, about 10 per point) and its rows
        mem_mb=mem_mb(lambda n, d: 1000 * n),
        runtime=lambda wildcards, attempt: 60 * attempt,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms train-toy --model {wildcards.model}"
        " --percolation-features {input.features} --n-features {params.n_features}"
        " --feature-selection {params.feature_selection}"
        " --feature-values {params.feature_values}"
        " --n-hidden {params.n_hidden} --importance {params.importance}"
        " --steps {params.steps} --batch-size {params.batch_size} --lr {params.lr}"
        " --weight-decay {params.weight_decay} --seeds {params.seeds}"
        " --weights {output.weights} --measurements {output.measurements}"
        " --metrics {output.metrics} --config {output.config} > {log} 2>&1"


rule phase_diagram:
    output:
        phase_diagram=f"results/toymodels/phase_diagram/{filenames.TOY_PHASE_DIAGRAM}",
    params:
        grid_size=TOY_PHASE_DIAGRAM["grid_size"],
        steps=TOY_PHASE_DIAGRAM["steps"],
        batch_size=TOY_PHASE_DIAGRAM["batch_size"],
        seeds=comma_list(TOY_PHASE_DIAGRAM["seeds"]),
    log:
        "results/logs/phase_diagram/phase_diagram.log",
    benchmark:
        "results/benchmarks/phase_diagram/phase_diagram.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=lambda wildcards, attempt: 30 * attempt,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m percolation_tms phase-diagram"
        " --grid-size {params.grid_size} --steps {params.steps}"
        " --batch-size {params.batch_size} --seeds {params.seeds}"
        " --phase-diagram {output.phase_diagram} > {log} 2>&1"


# The files the toy-model figures read (figure registry: inputs).
FIGURE_INPUTS["toy_synthetic"] = expand(
    [
        rules.train_toy_synthetic.output.weights,
        rules.train_toy_synthetic.output.measurements,
        rules.train_toy_synthetic.output.metrics,
    ],
    model=TOY_SYNTHETIC["models"],
)
FIGURE_INPUTS["toy_percolation"] = expand(
    [
        rules.train_toy_percolation.output.weights,
        rules.train_toy_percolation.output.measurements,
        rules.train_toy_percolation.output.metrics,
    ],
    model=TOY_PERCOLATION["models"],
    **dataset_columns([TOY_DATASET]),
)
FIGURE_INPUTS["toy_phase_diagram"] = rules.phase_diagram.output
