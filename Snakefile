# Extreme sparsity gives rise to functional specialization (Béna & Goodman): the whole study.
# Stages: dataset -> training -> metrics -> aggregation -> figures. See README.md.


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/metrics.smk"


rule all:
    default_target: True
    input:
        all_trained_models(),
        all_metric_tables(),
