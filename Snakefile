from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/percolation.smk"
include: "workflow/rules/toymodels.smk"
include: "workflow/rules/sae.smk"
include: "workflow/rules/persianrug.smk"
include: "workflow/rules/basins.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        get_final_output(),
    default_target: True
