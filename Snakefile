# Extreme sparsity gives rise to functional specialization (Béna & Goodman): the whole study.
# Stages: dataset -> training -> (mask calibration) -> metrics -> aggregation and claims -> figures.
# `snakemake sensitivity` adds the sensitivity study; `snakemake variants` runs the named variants
# of config["variants"] and compares them, `snakemake attribution` also their factors' effects
# (config/attribution.yaml). A config that declares variants runs them by default. See README.md.

from snakemake.utils import min_version

# The workflow uses Snakemake 9's command line, profiles and executor plugins.
min_version("9.0")


configfile: "config/config.yaml"


# Software of every job under --sdm apptainer: built from containers/ (docs/cluster.md).
container: "containers/extreme-sparsity.sif"


report: "workflow/report/workflow.rst"


include: "workflow/study.smk"
include: "workflow/rules/variants.smk"
include: "workflow/rules/attribution.smk"


rule all:
    """The study of this config; a config that declares variants runs them instead (and, when it
    declares attribution factors, the attribution): `snakemake study` runs the base study.
    """
    default_target: True
    input:
        (
            rules.attribution.input
            if ATTRIBUTION["factors"]
            else rules.variants.input if VARIANT_CONFIGS else rules.study.input
        ),
