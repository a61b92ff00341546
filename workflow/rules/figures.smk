# Figures: `percolation-tms plot NAME` draws one figure (PNG, and a PDF beside it) from the
# files the stages wrote. Every figure of the registry (percolation_tms.figures.registry) has a
# rule of its own (plot_<name>), made in the two loops below (figures per dataset setting,
# figures per run), and a caption of its own (workflow/report/<name>.rst) for the report. The
# files a figure reads are the group FIGURE_INPUTS[figure.inputs], filled by the stage's rule
# file.

for figure in PER_SETTING_FIGURES:

    rule:
        name:
            f"plot_{figure}"
        input:
            FIGURE_INPUTS[FIGURES[figure].inputs],
        output:
            png=report(
                f"results/figures/{FIGURES[figure].folder}/{{mode}}/size{{size}}_dim{{dim}}/{figure}.png",
                caption=f"../report/{figure}.rst",
                category=FIGURES[figure].category,
                subcategory=FIGURES[figure].subcategory,
                labels={"figure": figure, "mode": "{mode}", "N": "{size}", "d": "{dim}"},
            ),
            pdf=f"results/figures/{FIGURES[figure].folder}/{{mode}}/size{{size}}_dim{{dim}}/{figure}.pdf",
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


for figure in RUN_FIGURES:

    rule:
        name:
            f"plot_{figure}"
        input:
            FIGURE_INPUTS[FIGURES[figure].inputs],
        output:
            png=report(
                f"results/figures/{FIGURES[figure].folder}/{figure}.png",
                caption=f"../report/{figure}.rst",
                category=FIGURES[figure].category,
                subcategory=FIGURES[figure].subcategory,
                labels={"figure": figure},
            ),
            pdf=f"results/figures/{FIGURES[figure].folder}/{figure}.pdf",
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
