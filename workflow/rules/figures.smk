# Figures: `percolation-tms plot NAME` draws one figure (PNG, and a PDF beside it) from the
# files the stages wrote. Every figure has a rule of its own (plot_<name>), made in the two
# loops below (figures per dataset setting, figures per run), and a caption of its own
# (workflow/report/<name>.rst) for the report. The figure lists and input functions are in
# common.smk.

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


# The figures drawn once per run: name -> (the files it reads, its folder under
# results/figures/, its report category and subcategory).
TOY_RUN_FILES = expand(
    [
        rules.train_toy_synthetic.output.weights,
        rules.train_toy_synthetic.output.measurements,
        rules.train_toy_synthetic.output.metrics,
    ],
    model=TOY_SYNTHETIC["models"],
)
TOY_PERCOLATION_RUN_FILES = expand(
    [
        rules.train_toy_percolation.output.weights,
        rules.train_toy_percolation.output.measurements,
        rules.train_toy_percolation.output.metrics,
    ],
    model=TOY_PERCOLATION["models"],
    **dataset_columns([TOY_DATASET]),
)
SAE_SWEEP_FILES = expand(
    [
        rules.train_sae.output.metrics,
        rules.train_sae.output.recovery_by_depth,
        rules.train_sae.output.recovery_by_frequency,
    ],
    kind=SAE_PERCOLATION["kinds"],
    **dataset_columns([SAE_DATASET]),
)
SAE_SYNTHETIC_FILES = expand(
    [
        rules.sae_synthetic.output.metrics,
        rules.sae_synthetic.output.recovery,
        rules.sae_synthetic.output.config,
    ],
    kind=SAE_SYNTHETIC["kinds"],
)
RUN_FIGURES = {
    **{
        figure: (TOY_RUN_FILES, "toymodels", "Toy models", "Synthetic features")
        for figure in TOY_FIGURES
    },
    "tms_phase_diagram": (
        rules.phase_diagram.output,
        "toymodels",
        "Toy models",
        "Phase diagram",
    ),
    "percolation_superposition": (
        TOY_PERCOLATION_RUN_FILES,
        "toymodels",
        "Toy models",
        "Percolation features",
    ),
    **{
        figure: (SAE_SWEEP_FILES, "sae", "Sparse autoencoders", "Percolation dataset")
        for figure in SAE_FIGURES
    },
    "sae_mmcs": (SAE_SYNTHETIC_FILES, "sae", "Sparse autoencoders", "Known dictionary"),
}


for figure, (inputs, folder, category, subcategory) in RUN_FIGURES.items():

    rule:
        name:
            f"plot_{figure}"
        input:
            inputs,
        output:
            png=report(
                f"results/figures/{folder}/{figure}.png",
                caption=f"../report/{figure}.rst",
                category=category,
                subcategory=subcategory,
                labels={"figure": figure},
            ),
            pdf=f"results/figures/{folder}/{figure}.pdf",
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
