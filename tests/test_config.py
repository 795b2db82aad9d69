"""The schema rejects bad configuration before any job runs, naming the key and what is allowed."""

import copy

import pytest
import yaml
from conftest import REPO, copy_project, snakemake

from extreme_sparsity.plumbing import settings
from extreme_sparsity.plumbing.config_errors import config_errors

SCHEMA = REPO / "config" / "schema.yaml"
DEFAULTS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def with_change(path: str, value):
    config = copy.deepcopy(DEFAULTS)
    *parents, last = path.split(".")
    node = config
    for key in parents:
        node = node[key]
    node[last] = value
    return config


BAD = [
    ("sparsity.values", [0.0], "sparsity.values[0]", "> 0"),
    ("sparsity.values", [1.5], "sparsity.values[0]", "<= 1"),
    ("sparsity.values", ["0.1"], "sparsity.values[0]", "number"),
    ("sparsity.values", [], "sparsity.values", "at least 1 item"),
    ("weight_mask_metric.q", 1.0, "weight_mask_metric.q", "< 1"),
    ("weight_mask_metric.q", 0, "weight_mask_metric.q", "> 0"),
    ("training.epochs.plain", -1, "training.epochs.plain", ">= 1"),
    ("training.epochs.bottleneck", 0, "training.epochs.bottleneck", ">= 1"),
    ("model.n_hidden", 0, "model.n_hidden", ">= 1"),
    ("training.learning_rate", 0.5, "training.learning_rate", "allowed keys"),
    ("metrics", ["bottleneck", "wieght_mask"], "metrics[1]", "weight_mask"),
    ("n_seeds", 2.5, "n_seeds", "integer"),
    ("weight_mask_metric.q", "calibrated", "weight_mask_metric.q", "auto"),
    ("weight_mask_metric.q_grid", [], "weight_mask_metric.q_grid", "at least 1 item"),
    ("metrics", [], "metrics", "at least 1 item"),
    ("weight_mask_metric.trials", 0, "weight_mask_metric.trials", ">= 1"),
    ("training.stopping.rule", "early", "training.stopping.rule", "fixed, validation_target"),
    ("training.checkpoint_selection", "best_test_loss", "training.checkpoint_selection", "best_validation"),
    ("performance.min_accuracy", 1.2, "performance.min_accuracy", "<= 1"),
    ("claims.confidence", 1.0, "claims.confidence", "< 1"),
    ("data.validation_images", 10, "data.validation_images", ">= 100"),
    ("task.bits", 4, "task.bits", "1, 2, 3, digit"),
    ("model.cell", "transformer", "model.cell", "rnn, leaky, lstm, gru"),
    ("model.leak_rate", 0, "model.leak_rate", "> 0"),
    ("time_course.metrics", ["weight_mask"], "time_course.metrics[0]", "bottleneck, correlation"),
    ("variants.comparisons", {"cells": []}, "variants.comparisons.cells", "at least 1 item"),
]


def layered(base: dict, changes: dict) -> dict:
    """``changes`` merged into ``base`` key by key, as snakemake merges a --configfile."""
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        merged[key] = layered(merged.get(key, {}), value) if isinstance(value, dict) else value
    return merged


@pytest.mark.parametrize("name", ["quick.yaml", "table1.yaml", "equation3_long.yaml", "variants.yaml"])
def test_every_shipped_config_is_valid_on_the_defaults(name):
    """README: each named config is layered on config/config.yaml (--configfile)."""
    assert config_errors(DEFAULTS, SCHEMA) == []
    changes = yaml.safe_load((REPO / "config" / name).read_text())
    assert config_errors(layered(DEFAULTS, changes), SCHEMA) == []


def test_table1_is_the_paper_as_printed():
    table1 = layered(DEFAULTS, yaml.safe_load((REPO / "config" / "table1.yaml").read_text()))
    assert table1["model"]["sparse_input"] == "direct"  # equation (3)
    assert table1["training"]["epochs"] == {"plain": 5, "bottleneck": 7}  # Table 1
    assert table1["training"]["stopping"]["rule"] == "fixed" and table1["training"]["checkpoint_selection"] == "last"
    assert table1["training"]["optimizer"] == "adadelta" and table1["training"]["lr"] == 0.5
    assert table1["weight_mask_metric"]["q"] == 0.05  # section 3.2
    assert table1["weight_mask_metric"]["epochs"] == 1 and table1["weight_mask_metric"]["lr"] == 0.1
    assert table1["bottleneck_metric"]["epochs"] == 5 and table1["deep_r"]["lr_range"] == [0.1, 0.01]


@pytest.mark.parametrize("path, value, key, allowed", BAD)
def test_bad_value_is_named_with_what_is_allowed(path, value, key, allowed):
    messages = config_errors(with_change(path, value), SCHEMA)
    assert len(messages) == 1
    assert messages[0].startswith(f"config key {key}:") and allowed in messages[0]


def test_max_epochs_below_the_minimum_is_refused_before_any_job():
    """Training would refuse it only once a job runs; the config check names both keys first."""
    config = with_change("training.stopping.max_epochs.bottleneck", 3)
    assert config_errors(config, SCHEMA) == [
        "config key training.stopping.max_epochs.bottleneck: 3 is below training.epochs.bottleneck = 7 "
        "(allowed: at least the minimum number of epochs)"
    ]
    config["training"]["stopping"]["rule"] = "fixed"  # max_epochs plays no part then
    assert config_errors(config, SCHEMA) == []


def test_default_grid_has_ten_log_spaced_values():
    values = [float(p) for p in settings.sparsities(DEFAULTS)]
    assert len(values) == 10 and values[0] == 1e-4 and values[-1] == 1.0
    assert settings.seeds(DEFAULTS) == list(range(10))


def test_snakemake_refuses_bad_config_before_any_job(tmp_path):
    project = copy_project(tmp_path)
    (project / "bad.yaml").write_text("sparsity:\n  grid_size: 3\n  values: [0.5, 0]\n")
    result = snakemake(project, "--cores", "1", "--configfile", "bad.yaml", refused=True)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "config key sparsity.values[1]: 0 is less than or equal to the minimum of 0" in output
    assert not (project / "results").exists() and "Select jobs to execute" not in output


def test_schema_offers_exactly_the_registered_cells_and_tasks():
    """A cell or task added to its registry must be offered by the schema, and nothing else."""
    from extreme_sparsity import cells, task

    schema = yaml.safe_load(SCHEMA.read_text())["properties"]
    assert schema["model"]["properties"]["cell"]["enum"] == list(cells.CELLS)
    assert schema["task"]["properties"]["bits"]["enum"] == list(task.TASKS)


def test_every_set_of_allowed_values_in_the_code_is_the_schemas():
    """The schema states what a key allows; each registry or tuple the code checks against agrees."""
    from extreme_sparsity import deep_r, metrics, model, sparsity, training
    from extreme_sparsity.metrics import masking
    from extreme_sparsity.plumbing import settings

    schema = yaml.safe_load(SCHEMA.read_text())["properties"]

    def enum(*path):
        node = {"properties": schema}
        for key in path:
            node = node["properties"][key]
        return set(node["items"]["enum"] if "items" in node else node["enum"])

    pairs = {
        ("model", "decision"): model.DECISIONS,
        ("model", "sparse_input"): model.SPARSE_INPUTS,
        ("architectures",): settings.ARCHITECTURES,
        ("training", "optimizer"): training.OPTIMIZERS,
        ("training", "stopping", "rule"): training.STOPPING_RULES,
        ("training", "checkpoint_selection"): training.SELECTIONS,
        ("deep_r", "init_magnitude"): deep_r.INITS,
        ("deep_r", "noise_annealing"): sparsity.NOISE_ANNEALING,
        ("metrics",): metrics.METRICS,
        ("performance", "best_k_metrics"): metrics.METRICS,
        ("weight_mask_metric", "score_init"): masking.SCORE_INITS,
        ("weight_mask_metric", "sparse_owner"): masking.SPARSE_OWNERS,
        ("sensitivity", "score_inits"): masking.SCORE_INITS,
    }
    for path, allowed in pairs.items():
        assert enum(*path) == set(allowed), f"{'.'.join(path)}: schema {sorted(enum(*path))}, code {sorted(allowed)}"
    assert set(metrics.ARCHITECTURE_OF.values()) == set(settings.ARCHITECTURES)
    assert set(metrics.METRICS) <= set(metrics.ARCHITECTURE_OF)
