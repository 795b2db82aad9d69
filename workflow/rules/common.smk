# Config validation, wildcard constraints and the input functions the rules share.

import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# The package beside this workflow (src/) is imported here and, through snakemake's script
# search path, by every job in any software environment (venv, conda, apptainer, SLURM); the
# modules declared as rule inputs below are therefore the code that runs.
PACKAGE = Path(workflow.basedir) / "src" / "extreme_sparsity"
sys.path.insert(0, str(PACKAGE.parent))

from extreme_sparsity.plumbing import priorities, settings
from extreme_sparsity.plumbing.code_inputs import package_files_imported_by
from extreme_sparsity.plumbing.config_errors import config_errors
from extreme_sparsity.metrics import architecture_of

SCHEMA = Path(workflow.basedir) / "config" / "schema.yaml"
try:
    validate(config, schema=SCHEMA)
except WorkflowError:
    raise WorkflowError(
        "Invalid configuration, nothing was run:\n  "
        + "\n  ".join(config_errors(config, SCHEMA))
    ) from None


wildcard_constraints:
    architecture="plain|bottleneck",
    p=r"[0-9][0-9.e+-]*",
    seed=r"\d+",
    score_init="kaiming_uniform|uniform",


def code_of(script):
    """The package modules a rule's script imports (transitively): declared as inputs, so that
    editing one of them reruns exactly the rules that run it. Relative to the working directory,
    as every other input: a project moved elsewhere, results and .snakemake with it, reruns nothing.
    """
    return [
        os.path.relpath(path)
        for path in package_files_imported_by(
            Path(workflow.basedir) / "workflow" / "scripts" / script, PACKAGE
        )
    ]


# Memory (MB) and time (minutes) requests, sized from the rules' benchmark files on a 2-core x86
# VM (peak memory 0.8-1.4 GB per job; training 1-2 s per epoch, 5 to 60 epochs at paper scale)
# with ~1.5x the memory and >5x the time (slower cores, shared file systems, a busy node).
def per_attempt(amount):
    """A resource that grows with each retry (attempt 1, 2, 3): a job killed for memory or time
    is resubmitted with twice, then three times, as much."""
    return lambda wildcards, attempt: amount * attempt


def training_priority(wildcards):
    return priorities.training(
        wildcards.architecture, wildcards.p, settings.sparsities(config)
    )


def trained_model(architecture, p, seed):
    return f"results/models/{architecture}/p={p}/seed={seed}/model.pt"


def config_section(*keys):
    """config[key1][key2]... with dictionary keys sorted at every level: snakemake compares params
    by their text, so that reordering keys in a config file must not look like a new value.
    """
    section = config
    for key in keys:
        section = section[key]
    return _sorted_keys(section)


def _sorted_keys(value):
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    return value


def bottleneck_settings():
    """The bottleneck metric's settings: its section and the models' init_bound."""
    return _sorted_keys(settings.bottleneck_settings(config))


def metric_settings(wildcards):
    """Input function: the settings of the job's metric (wildcard ``metric``)."""
    if wildcards.metric == "bottleneck":
        return bottleneck_settings()
    return config_section(f"{wildcards.metric}_metric")


def trained_model_of(architecture):
    """Input function: the checkpoint of ``architecture`` at the job's p and seed."""
    return lambda wildcards: trained_model(architecture, wildcards.p, wildcards.seed)


def metric_table(metric, p, seed):
    return f"results/metrics/{metric}/p={p}/seed={seed}.csv"


def all_metric_tables():
    return [
        metric_table(metric, p, seed)
        for metric in config["metrics"]
        for p in settings.sparsities(config)
        for seed in settings.seeds(config)
    ]


def all_histories():
    return [str(Path(path).with_name("history.csv")) for path in all_trained_models()]


def all_trained_models():
    return [
        trained_model(architecture, p, seed)
        for architecture in config["architectures"]
        for p in settings.sparsities(config)
        for seed in settings.seeds(config)
    ]


# Section 3.2's choice of q: the weight mask at every q of the grid on the sparsest models.
MASK_CALIBRATION_KEYS = ("q", "q_grid", "min_own_share")


def mask_sweep_table(score_init, p, seed):
    return f"results/mask_sweep/{score_init}/p={p}/seed={seed}.csv"


def calibration_sweeps():
    """The sweeps that calibrate q: the study's score initialisation, sparsest p, every seed."""
    score_init = config["weight_mask_metric"]["score_init"]
    sparsest = settings.sparsities(config)[0]
    return [
        mask_sweep_table(score_init, sparsest, seed) for seed in settings.seeds(config)
    ]


def calibrated_q():
    """The calibration table when q is ``auto`` (the weight-mask jobs read q from it), else nothing."""
    return (
        "results/calibration/mask_q.csv"
        if config["weight_mask_metric"]["q"] == "auto"
        else []
    )


def mask_settings(*left_out):
    """The weight-mask section without ``left_out`` keys: what one kind of mask job depends on."""
    section = config_section("weight_mask_metric")
    return {key: value for key, value in section.items() if key not in left_out}


# The sensitivity target (not part of the default study).
def sensitivity_seeds():
    return settings.seeds(config)[: config["sensitivity"]["n_seeds"]]


def sensitivity_sweeps():
    return [
        mask_sweep_table(score_init, p, seed)
        for score_init in config["sensitivity"]["score_inits"]
        for p in settings.sparsities(config)
        for seed in sensitivity_seeds()
    ]


def sensitivity_budget_tables():
    return [
        f"results/sensitivity/bottleneck/p={p}/seed={seed}.csv"
        for p in settings.sparsities(config)
        for seed in sensitivity_seeds()
    ]


# Specialization over time (not part of the default study).
def time_course_tables():
    return [
        f"results/metrics/time_course/{metric}/p={p}/seed={seed}.csv"
        for metric in config["time_course"]["metrics"]
        if architecture_of(metric) in config["architectures"]
        for p in settings.sparsities(config)
        for seed in settings.seeds(config)
    ]


def time_course_outputs():
    """The time-course figure and tables when config["time_course"] is enabled, else nothing."""
    if not config["time_course"]["enabled"]:
        return []
    return [
        "results/figures/time_course.png",
        "results/aggregate/time_course_summary.csv",
    ]


def variant_result(variant, path):
    return f"results/variants/{variant}/{path}"


def results_of_variants(path):
    """Input function: ``path`` (under a variant's results/) of every variant of the comparison."""
    return lambda wildcards: [
        variant_result(variant, path) for variant in COMPARISONS[wildcards.comparison]
    ]
