"""After a finished run of the small study, a change reruns exactly what depends on it (dry-run job lists):
every row of docs/guarantees.md "What reruns when", each test naming its row."""

import contextlib
import os
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml
from conftest import snakemake

pytestmark = pytest.mark.slow
FIGURES = {"plot_specialization", "plot_raw_metrics", "plot_accuracy", "plot_modularity"}


def planned_jobs(project: Path, args: tuple, *extra: str) -> list[tuple[str, dict]]:
    """(rule, wildcards) of every job a dry run would execute, without the target rule 'all'."""
    output = snakemake(project, *args, *extra, "--dry-run").stdout
    jobs = []
    for block in re.split(r"\n(?=\s*rule \w+:)", output)[1:]:  # jobs of a group are indented
        rule = re.match(r"\s*rule (\w+):", block).group(1)
        found = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        wildcards = dict(item.split("=", 1) for item in found.group(1).split(", ")) if found else {}
        if rule != "all":
            jobs.append((rule, wildcards))
    return jobs


def rules_of(jobs) -> Counter:
    return Counter(rule for rule, _ in jobs)


@contextlib.contextmanager
def edited(path: Path, addition: str):
    """Append ``addition`` to a file, then restore its content and modification time."""
    original, stat = path.read_text(), path.stat()
    path.write_text(original + addition)
    try:
        yield
    finally:
        path.write_text(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def with_override(project: Path, args: tuple, name: str, override: dict) -> tuple:
    """``args`` plus one more config file holding ``override``, applied after the others."""
    (project / name).write_text(yaml.safe_dump(override))
    position = args.index("--config")
    return (*args[:position], name, *args[position:])


def test_finished_run_is_up_to_date(small_run):
    """A finished run has nothing to do (the premise of every row)."""
    project, args, _ = small_run
    assert planned_jobs(project, args) == []


def test_editing_a_figure_script_reruns_only_that_figure(small_run):
    """Row "a figure script, or `figures.<name>` in the config" (the script)."""
    project, args, _ = small_run
    with edited(project / "workflow" / "scripts" / "plot_specialization.py", "\n# a new comment\n"):
        assert rules_of(planned_jobs(project, args)) == {"plot_specialization": 1}


def test_editing_plot_parameters_reruns_only_that_figure(small_run):
    """Row "a figure script, or `figures.<name>` in the config" (the config)."""
    project, args, _ = small_run
    figures = yaml.safe_load((project / "config" / "config.yaml").read_text())["figures"]
    figures["accuracy"]["dpi"] = 120
    assert rules_of(planned_jobs(project, with_override(project, args, "dpi.yaml", {"figures": figures}))) == {"plot_accuracy": 1}


def test_editing_a_metric_module_reruns_that_metric_and_what_uses_it(small_run):
    """Row "a metric module ... or its config section" (the module)."""
    project, args, _ = small_run
    module = project / "src" / "extreme_sparsity" / "metrics" / "correlation.py"
    with edited(module, "\n# a new comment\n"):
        jobs = rules_of(planned_jobs(project, args))
    assert jobs == {
        "correlation_metric": 2, "aggregate_metrics": 1, "plot_specialization": 1, "plot_raw_metrics": 1, "check_claims": 1,
    }


def test_editing_the_model_reruns_training_and_everything_downstream(small_run):
    """Row "`model.py`, `training.py`, `deep_r.py` or the `model`/`training`/`deep_r` config" (a module)."""
    project, args, _ = small_run
    with edited(project / "src" / "extreme_sparsity" / "model.py", "\n# a new comment\n"):
        jobs = rules_of(planned_jobs(project, args))
    assert jobs["train_model"] == 4 and jobs["structural_modularity"] == 1
    assert jobs["bottleneck_metric"] == jobs["weight_mask_metric"] == jobs["correlation_metric"] == 2
    assert jobs["mask_sweep"] == 1 and jobs["calibrate_mask_q"] == jobs["check_claims"] == 1
    assert FIGURES | {"plot_calibration"} <= set(jobs) and "prepare_dataset" not in jobs


def test_changing_a_training_parameter_reruns_training_and_everything_downstream(small_run):
    """Row "`model.py`, `training.py`, `deep_r.py` or the `model`/`training`/`deep_r` config" (the config)."""
    project, args, _ = small_run
    jobs = rules_of(planned_jobs(project, with_override(project, args, "lr.yaml", {"training": {"lr": 0.4}})))
    assert jobs["train_model"] == 4 and jobs["correlation_metric"] == 2 and FIGURES <= set(jobs)
    assert "prepare_dataset" not in jobs


def test_adding_a_seed_runs_the_new_jobs_and_recalibrates_q(small_run):
    """Row "one more seed"."""
    project, args, _ = small_run
    jobs = planned_jobs(project, with_override(project, args, "seed.yaml", {"n_seeds": 2}))
    new = [(rule, wildcards) for rule, wildcards in jobs if wildcards.get("seed") == "1"]
    old = [(rule, wildcards) for rule, wildcards in jobs if wildcards.get("seed") not in (None, "1")]
    assert rules_of(new) == {
        "train_model": 4, "bottleneck_metric": 2, "weight_mask_metric": 2, "correlation_metric": 2, "mask_sweep": 1,
    }
    # q is calibrated on every seed's sparsest model: a new seed recalibrates it, and the
    # weight-mask jobs of the other seeds rerun at the new q (docs/guarantees.md, "What reruns when")
    assert rules_of(old) == {"weight_mask_metric": 2}
    assert set(rules_of(jobs)) - set(rules_of(new)) == {
        "summarize_training", "aggregate_metrics", "structural_modularity", "calibrate_mask_q", "plot_calibration",
        "check_claims",
    } | FIGURES


def test_adding_a_sparsity_runs_only_the_new_jobs(small_run):
    """Row "one more p value"."""
    project, args, _ = small_run
    override = {"sparsity": {"values": [0.0001, 1.0, 0.1]}}
    jobs = planned_jobs(project, with_override(project, args, "p.yaml", override))
    per_model = [(rule, wildcards) for rule, wildcards in jobs if "p" in wildcards]
    assert {wildcards["p"] for _, wildcards in per_model} == {"0.1"}
    assert rules_of(per_model) == {"train_model": 2, "bottleneck_metric": 1, "weight_mask_metric": 1, "correlation_metric": 1}
    assert set(rules_of(jobs)) - set(rules_of(per_model)) == {
        "summarize_training", "aggregate_metrics", "structural_modularity", "check_claims",
    } | FIGURES


def test_changing_the_q_grid_recalibrates_and_reruns_only_the_weight_masks(small_run):
    """Row "`weight_mask_metric.q_grid`"."""
    project, args, _ = small_run
    jobs = rules_of(planned_jobs(project, with_override(project, args, "grid.yaml", {"weight_mask_metric": {"q_grid": [0.01, 0.03]}})))
    assert jobs == {
        "mask_sweep": 1, "calibrate_mask_q": 1, "plot_calibration": 1, "weight_mask_metric": 2, "aggregate_metrics": 1,
        "check_claims": 1, "plot_specialization": 1, "plot_raw_metrics": 1,
    }


def test_a_fixed_q_reruns_the_weight_masks_without_recalibrating(small_run):
    """Row "a fixed `weight_mask_metric.q` instead of `auto`"."""
    project, args, _ = small_run
    jobs = rules_of(planned_jobs(project, with_override(project, args, "q.yaml", {"weight_mask_metric": {"q": 0.05}})))
    assert jobs == {"weight_mask_metric": 2, "aggregate_metrics": 1, "check_claims": 1, "plot_specialization": 1, "plot_raw_metrics": 1}


def test_claim_thresholds_rerun_only_the_claims(small_run):
    """Row "a threshold in `claims`"."""
    project, args, _ = small_run
    claims = yaml.safe_load((project / "config" / "config.yaml").read_text())["claims"]
    claims["near_level"] = 0.3
    assert rules_of(planned_jobs(project, with_override(project, args, "claims.yaml", {"claims": claims}))) == {"check_claims": 1}


def test_the_accuracy_threshold_reruns_tables_figures_and_claims_but_no_model_or_metric(small_run):
    """Row "`performance.min_accuracy` or `exclude_poor_models`" (the first)."""
    project, args, _ = small_run
    jobs = rules_of(planned_jobs(project, with_override(project, args, "well.yaml", {"performance": {"min_accuracy": 0.5}})))
    assert jobs == {
        "summarize_training": 1, "aggregate_metrics": 1, "check_claims": 1, "plot_specialization": 1, "plot_raw_metrics": 1,
        "plot_accuracy": 1,
    }


def _reversed_keys(value):
    if isinstance(value, dict):
        return {key: _reversed_keys(value[key]) for key in reversed(list(value))}
    return value


def test_reordering_the_config_keys_reruns_nothing(small_run):
    """Row "the config's keys reordered": params are compared by their text, with keys sorted."""
    project, args, _ = small_run
    defaults = project / "config" / "config.yaml"
    reordered = yaml.safe_dump(_reversed_keys(yaml.safe_load(defaults.read_text())), sort_keys=False)
    original = yaml.safe_load(defaults.read_text())
    assert list(yaml.safe_load(reordered)) == list(reversed(list(original))) and yaml.safe_load(reordered) == original
    with edited(defaults, ""):
        defaults.write_text(reordered)
        assert planned_jobs(project, args) == []


def test_moving_mnist_reruns_nothing(small_run, workflow_mnist_root, tmp_path):
    """Row "MNIST moved (`mnist_root`)": where MNIST lies is not a parameter of any result."""
    project, args, _ = small_run
    moved = tmp_path / "elsewhere"
    shutil.copytree(Path(workflow_mnist_root) / "MNIST", moved / "MNIST")
    position = args.index(f"mnist_root={workflow_mnist_root}")
    assert planned_jobs(project, (*args[:position], f"mnist_root={moved}", *args[position + 1 :])) == []


def test_relocated_project_reruns_nothing(small_run, tmp_path):
    """Row "the whole project moved or renamed": another absolute path, results and .snakemake with it,
    modification times kept, as `cp -a`, `mv` or rsync -a do) has nothing to do."""
    project, args, _ = small_run
    moved = tmp_path / "moved" / "project"
    shutil.copytree(project, moved, symlinks=True)  # copy2: modification times kept
    jobs = planned_jobs(moved, args)
    assert jobs == [], f"{len(jobs)} jobs planned after the move, e.g. {jobs[:3]}"


# Rows of docs/guarantees.md "What reruns when" that the tests above do not cover; each test names its row.
STUDY = {
    "train_model": 4, "bottleneck_metric": 2, "weight_mask_metric": 2, "correlation_metric": 2, "mask_sweep": 1,
    "calibrate_mask_q": 1, "summarize_training": 1, "aggregate_metrics": 1, "structural_modularity": 1,
    "check_claims": 1, "plot_calibration": 1, **{figure: 1 for figure in FIGURES},
}


def test_a_metric_config_section_reruns_that_metric_and_what_uses_it(small_run):
    """Row "a metric module ... or its config section"."""
    project, args, _ = small_run
    override = {"correlation_metric": {"max_samples": 500}}
    jobs = rules_of(planned_jobs(project, with_override(project, args, "corr.yaml", override)))
    assert jobs == {
        "correlation_metric": 2, "aggregate_metrics": 1, "plot_specialization": 1, "plot_raw_metrics": 1, "check_claims": 1,
    }


def test_the_calibration_criterion_reruns_the_calibration_not_its_sweeps(small_run):
    """Row "`weight_mask_metric.min_own_share`": the sweeps do not depend on the criterion."""
    project, args, _ = small_run
    override = {"weight_mask_metric": {"min_own_share": 0.9}}
    jobs = rules_of(planned_jobs(project, with_override(project, args, "share.yaml", override)))
    assert jobs == {
        "calibrate_mask_q": 1, "plot_calibration": 1, "weight_mask_metric": 2, "aggregate_metrics": 1,
        "check_claims": 1, "plot_specialization": 1, "plot_raw_metrics": 1,
    }


def test_leaving_out_poor_models_reruns_tables_figures_and_claims_only(small_run):
    """Row "`performance.min_accuracy` or `exclude_poor_models`" (the first is tested above)."""
    project, args, _ = small_run
    jobs = rules_of(planned_jobs(project, with_override(project, args, "exclude.yaml", {"performance": {"exclude_poor_models": True}})))
    assert set(jobs) <= {"summarize_training", "aggregate_metrics", "check_claims"} | FIGURES
    assert jobs["aggregate_metrics"] == jobs["check_claims"] == 1
    assert not {"train_model", "bottleneck_metric", "weight_mask_metric", "correlation_metric"} & set(jobs)


@pytest.mark.parametrize("override", [{"task": {"bits": 2}}, {"data": {"seed": 1}}], ids=["task.bits", "data.seed"])
def test_the_task_or_the_data_rebuild_the_dataset_and_everything_downstream(small_run, override):
    """Row "`task.bits`, or `data` (seed, validation images, normalisation)"."""
    project, args, _ = small_run
    jobs = rules_of(planned_jobs(project, with_override(project, args, "data.yaml", override)))
    assert jobs == {"prepare_dataset": 1, **STUDY}


def test_the_cell_retrains_everything_but_the_dataset(small_run):
    """Row "`model.cell` or `model.leak_rate`"."""
    project, args, _ = small_run
    jobs = rules_of(planned_jobs(project, with_override(project, args, "cell.yaml", {"model": {"cell": "leaky"}})))
    assert jobs == STUDY


def test_turning_on_the_time_course_adds_only_its_jobs(small_run):
    """Row "`time_course.enabled: true`"."""
    project, args, _ = small_run
    jobs = rules_of(planned_jobs(project, with_override(project, args, "time.yaml", {"time_course": {"enabled": True}})))
    assert set(jobs) == {"time_course_metric", "aggregate_time_course", "plot_time_course"}
    assert jobs["aggregate_time_course"] == jobs["plot_time_course"] == 1
