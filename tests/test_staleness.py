"""After a finished quick run, a change reruns exactly what depends on it (dry-run job lists)."""

import contextlib
import os
import re
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
    """``args`` plus one more config file holding ``override`` (applied after config/quick.yaml)."""
    (project / name).write_text(yaml.safe_dump(override))
    position = args.index("config/quick.yaml") + 1
    return (*args[:position], name, *args[position:])


def test_finished_run_is_up_to_date(quick_run):
    project, args, _ = quick_run
    assert planned_jobs(project, args) == []


def test_editing_a_figure_script_reruns_only_that_figure(quick_run):
    project, args, _ = quick_run
    with edited(project / "workflow" / "scripts" / "plot_specialization.py", "\n# a new comment\n"):
        assert rules_of(planned_jobs(project, args)) == {"plot_specialization": 1}


def test_editing_plot_parameters_reruns_only_that_figure(quick_run):
    project, args, _ = quick_run
    figures = yaml.safe_load((project / "config" / "config.yaml").read_text())["figures"]
    figures["accuracy"]["dpi"] = 120
    assert rules_of(planned_jobs(project, with_override(project, args, "dpi.yaml", {"figures": figures}))) == {"plot_accuracy": 1}


def test_editing_a_metric_module_reruns_that_metric_and_what_uses_it(quick_run):
    project, args, _ = quick_run
    module = project / "src" / "extreme_sparsity" / "metrics" / "correlation.py"
    with edited(module, "\n# a new comment\n"):
        jobs = rules_of(planned_jobs(project, args))
    assert jobs == {
        "correlation_metric": 6, "aggregate_metrics": 1, "plot_specialization": 1, "plot_raw_metrics": 1, "check_claims": 1,
    }


def test_editing_the_model_reruns_training_and_everything_downstream(quick_run):
    project, args, _ = quick_run
    with edited(project / "src" / "extreme_sparsity" / "model.py", "\n# a new comment\n"):
        jobs = rules_of(planned_jobs(project, args))
    assert jobs["train_model"] == 12 and jobs["structural_modularity"] == 1
    assert jobs["bottleneck_metric"] == jobs["weight_mask_metric"] == jobs["correlation_metric"] == 6
    assert jobs["mask_sweep"] == 2 and jobs["calibrate_mask_q"] == jobs["check_claims"] == 1
    assert FIGURES | {"plot_calibration"} <= set(jobs) and "prepare_dataset" not in jobs


def test_changing_a_training_parameter_reruns_training_and_everything_downstream(quick_run):
    project, args, _ = quick_run
    jobs = rules_of(planned_jobs(project, with_override(project, args, "lr.yaml", {"training": {"lr": 0.4}})))
    assert jobs["train_model"] == 12 and jobs["correlation_metric"] == 6 and FIGURES <= set(jobs)
    assert "prepare_dataset" not in jobs


def test_adding_a_seed_runs_the_new_jobs_and_recalibrates_q(quick_run):
    project, args, _ = quick_run
    jobs = planned_jobs(project, with_override(project, args, "seed.yaml", {"n_seeds": 3}))
    new = [(rule, wildcards) for rule, wildcards in jobs if wildcards.get("seed") == "2"]
    old = [(rule, wildcards) for rule, wildcards in jobs if wildcards.get("seed") not in (None, "2")]
    assert rules_of(new) == {
        "train_model": 6, "bottleneck_metric": 3, "weight_mask_metric": 3, "correlation_metric": 3, "mask_sweep": 1,
    }
    # q is calibrated on every seed's sparsest model: a new seed recalibrates it, and the
    # weight-mask jobs of the other seeds rerun at the new q (README, "What reruns when")
    assert rules_of(old) == {"weight_mask_metric": 6}
    assert set(rules_of(jobs)) - set(rules_of(new)) == {
        "summarize_training", "aggregate_metrics", "structural_modularity", "calibrate_mask_q", "plot_calibration",
        "check_claims",
    } | FIGURES


def test_adding_a_sparsity_runs_only_the_new_jobs(quick_run):
    project, args, _ = quick_run
    override = {"sparsity": {"grid_size": 3, "values": [0.0001, 0.01, 1.0, 0.1]}}
    jobs = planned_jobs(project, with_override(project, args, "p.yaml", override))
    per_model = [(rule, wildcards) for rule, wildcards in jobs if "p" in wildcards]
    assert {wildcards["p"] for _, wildcards in per_model} == {"0.1"}
    assert rules_of(per_model) == {"train_model": 4, "bottleneck_metric": 2, "weight_mask_metric": 2, "correlation_metric": 2}
    assert set(rules_of(jobs)) - set(rules_of(per_model)) == {
        "summarize_training", "aggregate_metrics", "structural_modularity", "check_claims",
    } | FIGURES


def test_changing_the_q_grid_recalibrates_and_reruns_only_the_weight_masks(quick_run):
    project, args, _ = quick_run
    jobs = rules_of(planned_jobs(project, with_override(project, args, "grid.yaml", {"weight_mask_metric": {"q_grid": [0.01, 0.03]}})))
    assert jobs == {
        "mask_sweep": 2, "calibrate_mask_q": 1, "plot_calibration": 1, "weight_mask_metric": 6, "aggregate_metrics": 1,
        "check_claims": 1, "plot_specialization": 1, "plot_raw_metrics": 1,
    }


def test_a_fixed_q_reruns_the_weight_masks_without_recalibrating(quick_run):
    project, args, _ = quick_run
    jobs = rules_of(planned_jobs(project, with_override(project, args, "q.yaml", {"weight_mask_metric": {"q": 0.05}})))
    assert jobs == {"weight_mask_metric": 6, "aggregate_metrics": 1, "check_claims": 1, "plot_specialization": 1, "plot_raw_metrics": 1}


def test_claim_thresholds_rerun_only_the_claims(quick_run):
    project, args, _ = quick_run
    claims = yaml.safe_load((project / "config" / "config.yaml").read_text())["claims"]
    claims["near_level"] = 0.3
    assert rules_of(planned_jobs(project, with_override(project, args, "claims.yaml", {"claims": claims}))) == {"check_claims": 1}


def test_the_accuracy_threshold_reruns_tables_figures_and_claims_but_no_model_or_metric(quick_run):
    project, args, _ = quick_run
    jobs = rules_of(planned_jobs(project, with_override(project, args, "well.yaml", {"performance": {"min_accuracy": 0.5}})))
    assert jobs == {
        "summarize_training": 1, "aggregate_metrics": 1, "check_claims": 1, "plot_specialization": 1, "plot_raw_metrics": 1,
        "plot_accuracy": 1,
    }
