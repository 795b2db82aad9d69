# Extreme sparsity gives rise to functional specialization (Béna & Goodman): the whole study.
# Stages: dataset -> training -> (mask calibration) -> metrics -> aggregation and claims -> figures.
# `snakemake sensitivity` adds the sensitivity study. See README.md.


configfile: "config/config.yaml"


# Software of every job under --sdm apptainer: built from containers/ (README "Running on a cluster").
container: "containers/extreme-sparsity.sif"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/calibration.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/sensitivity.smk"


rule all:
    default_target: True
    input:
        rules.plot_specialization.output,
        rules.plot_raw_metrics.output,
        rules.plot_accuracy.output,
        rules.plot_modularity.output,
        rules.plot_calibration.output,
        rules.aggregate_metrics.output.summary,
        rules.check_claims.output,
