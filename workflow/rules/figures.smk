# Figures: `percolation-tms plot NAME` draws one figure (PNG, and a PDF beside it) from the
# files the stages wrote. Every figure has a rule of its own (plot_<name>), made in the loops
# below, and a caption of its own (workflow/report/<name>.rst) for the report. The figure
# lists and input functions are in common.smk.

for figure in PERCOLATION_FIGURES:

    rule:
        name:
            f"plot_{figure}"
        input:
            setting_statistics,
        output:
            png=report(
                f"results/figures/percolation/{{mode}}/size{{size}}_dim{{dim}}/{figure}.png",
                caption=f"../report/{figure}.rst",
                category="Percolation datasets",
                subcategory="{mode}, N = {size}, d = {dim}",
                labels={"figure": figure, "mode": "{mode}", "N": "{size}", "d": "{dim}"},
            ),
            pdf=f"results/figures/percolation/{{mode}}/size{{size}}_dim{{dim}}/{figure}.pdf",
        params:
            figure=figure,
        log:
            f"results/logs/plot_{figure}/{{mode}}/size{{size}}_dim{{dim}}.log",
        benchmark:
            f"results/benchmarks/plot_{figure}/{{mode}}/size{{size}}_dim{{dim}}.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            "../envs/percolation-tms.yaml"
        shell:
            "python -m percolation_tms plot {params.figure} --inputs {input}"
            " --out {output.png} > {log} 2>&1"


for figure in TOY_FIGURES:

    rule:
        name:
            f"plot_{figure}"
        input:
            # the files the figure reads (not config.json) of every model kind
            expand(
                [
                    rules.train_toy_synthetic.output.weights,
                    rules.train_toy_synthetic.output.measurements,
                    rules.train_toy_synthetic.output.metrics,
                ],
                model=TOY_SYNTHETIC["models"],
            ),
        output:
            png=report(
                f"results/figures/toymodels/{figure}.png",
                caption=f"../report/{figure}.rst",
                category="Toy models",
                subcategory="Synthetic features",
                labels={"figure": figure},
            ),
            pdf=f"results/figures/toymodels/{figure}.pdf",
        params:
            figure=figure,
        log:
            f"results/logs/plot_{figure}/{figure}.log",
        benchmark:
            f"results/benchmarks/plot_{figure}/{figure}.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            "../envs/percolation-tms.yaml"
        shell:
            "python -m percolation_tms plot {params.figure} --inputs {input}"
            " --out {output.png} > {log} 2>&1"


rule plot_tms_phase_diagram:
    input:
        rules.phase_diagram.output.phase_diagram,
    output:
        png=report(
            "results/figures/toymodels/tms_phase_diagram.png",
            caption="../report/tms_phase_diagram.rst",
            category="Toy models",
            subcategory="Phase diagram",
            labels={"figure": "tms_phase_diagram"},
        ),
        pdf="results/figures/toymodels/tms_phase_diagram.pdf",
    log:
        "results/logs/plot_tms_phase_diagram/tms_phase_diagram.log",
    benchmark:
        "results/benchmarks/plot_tms_phase_diagram/tms_phase_diagram.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "python -m percolation_tms plot tms_phase_diagram --inputs {input}"
        " --out {output.png} > {log} 2>&1"


rule plot_percolation_superposition:
    input:
        expand(
            [
                rules.train_toy_percolation.output.weights,
                rules.train_toy_percolation.output.measurements,
                rules.train_toy_percolation.output.metrics,
            ],
            model=TOY_PERCOLATION["models"],
            **dataset_columns([TOY_DATASET]),
        ),
    output:
        png=report(
            "results/figures/toymodels/percolation_superposition.png",
            caption="../report/percolation_superposition.rst",
            category="Toy models",
            subcategory="Percolation features",
            labels={"figure": "percolation_superposition"},
        ),
        pdf="results/figures/toymodels/percolation_superposition.pdf",
    log:
        "results/logs/plot_percolation_superposition/percolation_superposition.log",
    benchmark:
        "results/benchmarks/plot_percolation_superposition/percolation_superposition.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "python -m percolation_tms plot percolation_superposition --inputs {input}"
        " --out {output.png} > {log} 2>&1"


for figure in SAE_FIGURES:

    rule:
        name:
            f"plot_{figure}"
        input:
            # the sweep of every SAE kind on the dataset (one folder each)
            expand(
                [
                    rules.train_sae.output.metrics,
                    rules.train_sae.output.recovery_by_depth,
                    rules.train_sae.output.recovery_by_frequency,
                ],
                kind=SAE_PERCOLATION["kinds"],
                **dataset_columns([SAE_DATASET]),
            ),
        output:
            png=report(
                f"results/figures/sae/{figure}.png",
                caption=f"../report/{figure}.rst",
                category="Sparse autoencoders",
                subcategory="Percolation dataset",
                labels={"figure": figure},
            ),
            pdf=f"results/figures/sae/{figure}.pdf",
        params:
            figure=figure,
        log:
            f"results/logs/plot_{figure}/{figure}.log",
        benchmark:
            f"results/benchmarks/plot_{figure}/{figure}.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            "../envs/percolation-tms.yaml"
        shell:
            "python -m percolation_tms plot {params.figure} --inputs {input}"
            " --out {output.png} > {log} 2>&1"


rule plot_sae_mmcs:
    input:
        expand(
            [
                rules.sae_synthetic.output.metrics,
                rules.sae_synthetic.output.recovery,
                rules.sae_synthetic.output.config,
            ],
            kind=SAE_SYNTHETIC["kinds"],
        ),
    output:
        png=report(
            "results/figures/sae/sae_mmcs.png",
            caption="../report/sae_mmcs.rst",
            category="Sparse autoencoders",
            subcategory="Known dictionary",
            labels={"figure": "sae_mmcs"},
        ),
        pdf="results/figures/sae/sae_mmcs.pdf",
    log:
        "results/logs/plot_sae_mmcs/sae_mmcs.log",
    benchmark:
        "results/benchmarks/plot_sae_mmcs/sae_mmcs.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/percolation-tms.yaml"
    shell:
        "python -m percolation_tms plot sae_mmcs --inputs {input}"
        " --out {output.png} > {log} 2>&1"
