# Extreme sparsity gives rise to functional specialization (Béna & Goodman): the whole study.
# Stages: dataset -> training -> (mask calibration) -> metrics -> aggregation and claims -> figures.
# `snakemake sensitivity` adds the sensitivity study; `snakemake variants` runs the named variants
# of config["variants"] and compares them. See README.md.

from snakemake.utils import min_version

# The workflow uses Snakemake 9's command line, profiles and executor plugins.
min_version("9.0")


configfile: "config/config.yaml"


# Software of every job under --sdm apptainer: built from containers/ (README "Running on a cluster").
container: "containers/extreme-sparsity.sif"


report: "workflow/report/workflow.rst"


include: "workflow/study.smk"


rule all:
    default_target: True
    input:
        rules.study.input,


include: "workflow/rules/variants.smk"
include: "workflow/rules/attribution.smk"
