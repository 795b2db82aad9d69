# One study: dataset -> training -> (mask calibration) -> metrics -> aggregation and claims -> figures,
# for the configuration in `config`. The Snakefile runs it for the paper's configuration and, as
# snakemake modules with their own results folder, for each named variant (workflow/rules/variants.smk).


include: "rules/common.smk"
include: "rules/dataset.smk"
include: "rules/training.smk"
include: "rules/calibration.smk"
include: "rules/metrics.smk"
include: "rules/aggregate.smk"
include: "rules/figures.smk"
include: "rules/sensitivity.smk"
include: "rules/time_course.smk"


rule study:
    """Every table and figure of this configuration's study."""
    input:
        rules.plot_specialization.output,
        rules.plot_raw_metrics.output,
        rules.plot_accuracy.output,
        rules.plot_modularity.output,
        # with a fixed q nothing depends on the calibration sweeps: `snakemake plot_calibration` draws them
        rules.plot_calibration.output
        if config["weight_mask_metric"]["q"] == "auto"
        else [],
        rules.aggregate_metrics.output.summary,
        rules.check_claims.output,
        time_course_outputs(),
