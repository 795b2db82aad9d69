# Config validation, wildcard constraints, the result paths and the input functions the rules share.

import os
import sys
from pathlib import Path

import yaml
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


SCHEMA_TREE = yaml.safe_load(SCHEMA.read_text())


def allowed_by_schema(*keys):
    """The values the schema allows for config[key1][key2]... (or each item of that list), as a
    wildcard constraint: the schema is the one place that lists them."""
    node = SCHEMA_TREE
    for key in keys:
        node = node["properties"][key]
    return "|".join(node.get("items", node)["enum"])


wildcard_constraints:
    architecture=allowed_by_schema("architectures"),
    p=r"[0-9][0-9.e+-]*",
    seed=r"\d+",
    score_init=allowed_by_schema("weight_mask_metric", "score_init"),


# The result paths that input functions fill in from the config or that the per-model rules read,
# each written once: the rule that writes one has it as output. (The per-model rules read paths,
# not rules.<name>.output, because a variant may take those rules from its module one at a time:
# workflow/rules/variants.smk.) A path that only other rules read is written in its rule alone and
# read as rules.<name>.output; variants.smk moves every path under a variant's folder.
RESULTS = "results/"
TRAINED_MODEL = "results/models/{architecture}/p={p}/seed={seed}/model.pt"
TRAINING_HISTORY = "results/models/{architecture}/p={p}/seed={seed}/history.csv"
METRIC_TABLE = "results/metrics/{metric}/p={p}/seed={seed}.csv"
MASK_SWEEP_TABLE = "results/mask_sweep/{score_init}/p={p}/seed={seed}.csv"
BOTTLENECK_BUDGET_TABLE = "results/sensitivity/bottleneck/p={p}/seed={seed}.csv"
TIME_COURSE_TABLE = "results/metrics/time_course/{metric}/p={p}/seed={seed}.csv"
PAIRED_DATASET = "results/data/paired_mnist.h5"
CHOSEN_MASK_Q = "results/calibration/mask_q.csv"


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
    return TRAINED_MODEL.format(architecture=architecture, p=p, seed=seed)


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


def all_metric_tables():
    return expand(
        METRIC_TABLE,
        metric=config["metrics"],
        p=settings.sparsities(config),
        seed=settings.seeds(config),
    )


def all_histories():
    return of_every_model(TRAINING_HISTORY)


def all_trained_models():
    return of_every_model(TRAINED_MODEL)


def of_every_model(pattern):
    """``pattern`` at every architecture, p and seed of the study."""
    return expand(
        pattern,
        architecture=config["architectures"],
        p=settings.sparsities(config),
        seed=settings.seeds(config),
    )


# Section 3.2's choice of q: the weight mask at every q of the grid on the sparsest models.
MASK_CALIBRATION_KEYS = ("q", "q_grid", "min_own_share")


def calibration_sweeps():
    """The sweeps that calibrate q: the study's score initialisation, sparsest p, every seed."""
    return expand(
        MASK_SWEEP_TABLE,
        score_init=config["weight_mask_metric"]["score_init"],
        p=settings.sparsities(config)[0],
        seed=settings.seeds(config),
    )


def calibrated_q():
    """The calibration table when q is ``auto`` (the weight-mask jobs read q from it), else nothing."""
    return CHOSEN_MASK_Q if config["weight_mask_metric"]["q"] == "auto" else []


def mask_settings(*left_out):
    """The weight-mask section without ``left_out`` keys: what one kind of mask job depends on."""
    section = config_section("weight_mask_metric")
    return {key: value for key, value in section.items() if key not in left_out}


# The sensitivity target (not part of the default study).
def sensitivity_seeds():
    return settings.seeds(config)[: config["sensitivity"]["n_seeds"]]


def sensitivity_sweeps():
    return expand(
        MASK_SWEEP_TABLE,
        score_init=config["sensitivity"]["score_inits"],
        p=settings.sparsities(config),
        seed=sensitivity_seeds(),
    )


def sensitivity_budget_tables():
    return expand(
        BOTTLENECK_BUDGET_TABLE, p=settings.sparsities(config), seed=sensitivity_seeds()
    )


# Specialization over time (not part of the default study).
def time_course_tables():
    return [
        TIME_COURSE_TABLE.format(metric=metric, p=p, seed=seed)
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
        rules.plot_time_course.output.png,
        rules.aggregate_time_course.output.summary,
    ]


def variant_results(variant):
    """The folder that takes the place of results/ for a variant (workflow/rules/variants.smk)."""
    return f"{RESULTS}variants/{variant}/"


def variant_result(variant, path):
    """The study's ``path`` (under results/) in the variant's results."""
    return variant_results(variant) + Path(path).relative_to(RESULTS).as_posix()


def results_of_variants(path):
    """Input function: the study's ``path`` in the results of every variant of the comparison."""
    return lambda wildcards: [
        variant_result(variant, path) for variant in COMPARISONS[wildcards.comparison]
    ]
