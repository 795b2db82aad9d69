"""The attribution study: paired factor effects, the per-cell table, shared models, the shipped
configs, its plan and a tiny end-to-end run."""

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from background import Workspace, prepared
from conftest import REPO, copy_project, snakemake, snakemake_in_background

from extreme_sparsity import attribution, variants

DEFAULTS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
ATTRIBUTION = yaml.safe_load((REPO / "config" / "attribution.yaml").read_text())


def metrics_rows(values: dict, metric="bottleneck", architecture="bottleneck", selected=None, performs_well=None):
    """A metrics.csv: values[(p, seed)] = (M_spec(0), M_spec(1))."""
    rows = []
    for (p, seed), pair in values.items():
        for n, spec in enumerate(pair):
            rows.append({
                "architecture": architecture, "p": p, "seed": seed, "metric": metric, "sub_network": n,
                "specialization": spec,
                "performs_well": True if performs_well is None else performs_well[(p, seed)],
                "selected": True if selected is None else selected[(p, seed)],
            })
    return pd.DataFrame(rows)


def training_rows(accuracy: dict, architecture="bottleneck"):
    return pd.DataFrame([
        {"architecture": architecture, "p": p, "seed": seed, "test_accuracy": value, "performs_well": value >= 0.8}
        for (p, seed), value in accuracy.items()
    ])


SEEDS = range(6)
RNG = np.random.default_rng(0)
BASE = {(p, seed): tuple(RNG.uniform(0, 0.5, 2)) for p in (1e-4, 1.0) for seed in SEEDS}


def test_table_gives_both_ends_the_rise_and_the_sparsest_accuracy():
    values = {(1e-4, 0): (0.6, 0.4), (1e-4, 1): (0.8, 0.2), (1.0, 0): (0.1, 0.1), (1.0, 1): (0.3, 0.1)}
    accuracy = {(1e-4, 0): 0.9, (1e-4, 1): 0.7, (1.0, 0): 0.9, (1.0, 1): 0.9}
    table = attribution.attribution_table({"a": (metrics_rows(values), training_rows(accuracy), False)})
    (row,) = table.to_dict("records")
    assert row["S_sparsest"] == pytest.approx(0.5)  # (0.5 + 0.5) / 2
    assert row["S_dense"] == pytest.approx(0.15)  # (0.1 + 0.2) / 2
    assert row["rise"] == pytest.approx(0.35)
    assert row["S_sparsest_n0"] == pytest.approx(0.7) and row["S_sparsest_n1"] == pytest.approx(0.3)
    assert row["share_performing_well_sparsest"] == 0.5 and row["mean_test_accuracy_sparsest"] == pytest.approx(0.8)


def test_table_counts_only_the_models_the_cell_counts():
    values = {(1e-4, 0): (0.6, 0.6), (1e-4, 1): (0.2, 0.2), (1.0, 0): (0.0, 0.0), (1.0, 1): (0.0, 0.0)}
    selected = {(1e-4, 0): True, (1e-4, 1): False, (1.0, 0): True, (1.0, 1): True}
    poor = {(1e-4, 0): False, (1e-4, 1): True, (1.0, 0): True, (1.0, 1): True}
    training = training_rows({key: 0.9 for key in values})
    by_selection = attribution.attribution_table({"a": (metrics_rows(values, selected=selected), training, False)})
    assert by_selection["S_sparsest"].item() == pytest.approx(0.6) and by_selection["n_models_sparsest"].item() == 1
    ignoring_poor = attribution.attribution_table({"a": (metrics_rows(values, performs_well=poor), training, False)})
    assert ignoring_poor["S_sparsest"].item() == pytest.approx(0.4)  # exclude_poor_models false: both count
    excluding_poor = attribution.attribution_table({"a": (metrics_rows(values, performs_well=poor), training, True)})
    assert excluding_poor["S_sparsest"].item() == pytest.approx(0.2)


def cells_with_shift(shift_sparsest: float, shift_dense: float = 0.0):
    shifted = {
        (p, seed): tuple(value + (shift_sparsest if p < 1 else shift_dense) for value in pair)
        for (p, seed), pair in BASE.items()
    }
    training = training_rows({key: 0.9 for key in BASE})
    return {"from": (metrics_rows(BASE), training, False), "to": (metrics_rows(shifted), training, False)}


def test_paired_effect_of_a_constant_shift_has_no_seed_noise():
    """Every seed moves by exactly 0.1 at 1/N^2 and 0.02 at p = 1: a paired bootstrap gives exactly
    those numbers with a zero-width interval, though the seeds themselves spread over 0..0.5."""
    effects = attribution.paired_effects(
        cells_with_shift(0.1, 0.02), [{"name": "f", "from": "from", "to": "to"}], 500, 0.95, 0
    ).set_index("quantity")
    assert effects.loc["S_sparsest", "effect"] == pytest.approx(0.1)
    assert effects.loc["S_sparsest", "ci_low"] == pytest.approx(0.1) and effects.loc["S_sparsest", "ci_high"] == pytest.approx(0.1)
    assert effects.loc["rise", "effect"] == pytest.approx(0.08)
    assert effects.loc["rise", "ci_high"] - effects.loc["rise", "ci_low"] == pytest.approx(0, abs=1e-12)
    assert not effects["interval_includes_zero"].any() and (effects["n_seeds"] == len(SEEDS)).all()


def test_unrelated_cells_give_an_interval_that_includes_zero():
    rng = np.random.default_rng(1)
    noise = {key: tuple(rng.uniform(0, 0.5, 2)) for key in BASE}
    training = training_rows({key: 0.9 for key in BASE})
    cells = {"from": (metrics_rows(BASE), training, False), "to": (metrics_rows(noise), training, False)}
    effects = attribution.paired_effects(cells, [{"name": "f", "from": "from", "to": "to"}], 2000, 0.95, 0)
    row = effects.set_index("quantity").loc["S_sparsest"]
    assert row["ci_low"] < row["effect"] < row["ci_high"]
    assert row["ci_high"] - row["ci_low"] > 0.1  # seed noise of independent draws is wide


def test_shared_models_need_equal_training_settings():
    config = copy.deepcopy(DEFAULTS)
    config["variants"]["studies"] = {"a": None, "b": {"weight_mask_metric": {"q": 0.05}}, "c": {"model": {"decision": "max_abs"}}}
    configs = variants.variant_configs(config)
    config["variants"]["shared_models"] = {"b": "a"}
    assert variants.shared_models(config, configs) == {"b": "a"}
    config["variants"]["shared_models"] = {"c": "a"}
    with pytest.raises(ValueError, match="differ in model"):
        variants.shared_models(config, configs)
    config["variants"]["shared_models"] = {"b": "x"}
    with pytest.raises(ValueError, match="'x' is not a variant"):
        variants.shared_models(config, configs)
    config["variants"]["shared_models"] = {"b": "a", "a": "b"}
    with pytest.raises(ValueError, match="reuses models itself"):
        variants.shared_models(config, configs)


def shipped_cells():
    config = copy.deepcopy(DEFAULTS)
    config["variants"].update(ATTRIBUTION["variants"])
    config["attribution"] = ATTRIBUTION["attribution"]
    return config, variants.variant_configs(config)


def assert_layered(cell: dict, layer: dict, where=""):
    for key, value in layer.items():
        if isinstance(value, dict):
            assert_layered(cell[key], value, f"{where}{key}.")
        else:
            assert cell[key] == value, f"{where}{key}: {cell[key]!r} != {value!r}"


@pytest.mark.parametrize("cell, file", [("authors", "authors.yaml"), ("table1", "table1.yaml")])
def test_shipped_cells_are_the_shipped_configs(cell, file):
    """The attribution's `authors` and `table1` cells are config/authors.yaml and config/table1.yaml."""
    config, configs = shipped_cells()
    assert_layered(configs[cell], yaml.safe_load((REPO / "config" / file).read_text()))


ADOPTED_READINGS = {
    ("training", "checkpoint_selection"): ("best_validation", "lowest_validation_loss"),
    ("performance", "best_k"): (None, 5),
    ("deep_r", "init_magnitude"): ("uniform", "half_normal"),
    ("weight_mask_metric", "q_train"): (None, 0.1),
}


def test_defaults_cell_is_the_defaults_without_the_adopted_readings():
    """The study's `defaults` cell is config/config.yaml but for the authors' readings the defaults
    took from the study's candidates (docs/fidelity.md), which it measures one at a time."""
    config, configs = shipped_cells()
    cell = copy.deepcopy(configs["defaults"])
    for (section, key), (in_cell, in_defaults) in ADOPTED_READINGS.items():
        assert cell[section][key] == in_cell and DEFAULTS[section][key] == in_defaults
        cell[section][key] = in_defaults
    for section in ("model", "training", "task", "deep_r", "performance", "bottleneck_metric", "correlation_metric"):
        assert cell[section] == DEFAULTS[section], section
    assert {k: v for k, v in cell["weight_mask_metric"].items() if k != "trials"} == {
        k: v for k, v in DEFAULTS["weight_mask_metric"].items() if k != "trials"
    }


def test_shipped_attribution_is_consistent():
    config, configs = shipped_cells()
    shared = variants.shared_models(config, configs)
    assert set(shared) == {"best_5", "authors", "table1", "defaults_q_005", "defaults_best_5", "defaults_q_train_01"}
    section = variants.attribution_settings(config, configs)
    assert section["reference"] == "defaults" and section["paper"] == "table1"
    for factor in section["factors"]:
        assert factor["from"] != factor["to"]
    assert {cell["n_seeds"] for cell in configs.values()} == {10}
    grids = {tuple(cell["sparsity"]["values"]) for cell in configs.values()}
    assert grids == {(0.0001, 1.0)}  # 1/N^2 and 1 kept


def test_a_variant_that_reuses_models_copies_the_metrics_it_measures_alike():
    config = copy.deepcopy(DEFAULTS)
    config["variants"]["studies"] = {
        "a": None, "same": {"performance": {"best_k": 1}}, "q": {"weight_mask_metric": {"q": 0.05}},
        "readout": {"bottleneck_metric": {"epochs": 2}},
    }
    config["variants"]["shared_models"] = {"same": "a", "q": "a", "readout": "a"}
    configs = variants.variant_configs(config)
    copied = variants.copied_rules(configs, variants.shared_models(config, configs))
    every = ["train_model", "bottleneck_metric", "correlation_metric", "weight_mask_metric", "mask_sweep"]
    assert copied == {
        "same": every,
        "q": ["train_model", "bottleneck_metric", "correlation_metric"],
        "readout": ["train_model", "correlation_metric", "weight_mask_metric", "mask_sweep"],
    }
    assert variants.computing(copied, "weight_mask_metric") == ["q"]
    assert variants.computing(copied, "bottleneck_metric") == ["readout"]


def test_unknown_variant_in_a_factor_is_refused():
    config, configs = shipped_cells()
    config["attribution"]["factors"] = [{"name": "x", "from": "defaults", "to": "nowhere"}]
    with pytest.raises(ValueError, match="'nowhere', which is not a variant"):
        variants.attribution_settings(config, configs)


def test_attribution_plan_trains_paired_seeds_once_per_training_cell(tmp_path, mnist_root):
    """Dry run of the shipped attribution: every cell plans seeds 0-9 at each p; cells that share
    models copy them from their source rather than train."""
    project = copy_project(tmp_path)
    result = snakemake(
        project, "-n", "--cores", "1", "--configfile", "config/attribution.yaml", "--config", f"mnist_root={mnist_root}",
        "--", "attribution",
    )
    output = result.stdout
    config, configs = shipped_cells()
    shared = variants.shared_models(config, configs)
    for cell in configs:
        for seed in range(10):
            assert f"results/variants/{cell}/models/plain/p=0.0001/seed={seed}/model.pt" in output
    for cell, source in shared.items():
        block = output.split(f"rule {cell}_train_model:")[1].split("\n\n")[0]
        assert f"results/variants/{source}/models/" in block  # input: the source's checkpoint
    # best 5 of 10 only aggregates: every metric table is its source's (so no calibration sweeps
    # either); q = 0.05 measures anew only the weight mask (and needs no calibration sweeps)
    copied = {
        ("defaults_best_5", "bottleneck_metric"): "defaults/metrics/bottleneck/",
        ("defaults_best_5", "weight_mask_metric"): "defaults/metrics/weight_mask/",
        ("defaults_q_005", "correlation_metric"): "defaults/metrics/correlation/",
    }
    for (cell, rule), source in copied.items():
        block = output.split(f"rule {cell}_{rule}:")[1].split("\n\n")[0]
        assert f"input: results/variants/{source}" in block
    block = output.split("rule defaults_q_005_weight_mask_metric:")[1].split("\n\n")[0]
    assert "input: results/variants/defaults_q_005/models/plain/" in block
    assert "rule defaults_q_005_mask_sweep:" not in output and "rule defaults_best_5_mask_sweep:" not in output
    for name in ("attribution_tables", "plot_attribution", "compare_variants"):
        assert f"rule {name}:" in output or f"localrule {name}:" in output


TINY = """
variants:
  common:
    n_seeds: 2
    sparsity: {values: [0.0001, 1.0]}
    training: {epochs: {plain: 1, bottleneck: 1}, stopping: {max_epochs: {plain: 1, bottleneck: 1}}}
    metrics: [bottleneck, correlation]  # the weight mask's cells: the shipped plan's dry run above
    bottleneck_metric: {trials: 1, epochs: 1}
  studies:
    base: null
    decay: {training: {lr_decay: 0.5}, deep_r: {lr_decay: 0.5}}
    best_1: {performance: {best_k: 1}}
  shared_models: {best_1: base}
  comparisons: {}
attribution:
  reference: base
  paper: decay
  factors:
    - {name: decay, from: base, to: decay}
    - {name: best_1, from: base, to: best_1}
"""


@prepared("workflows", rank=4)
def tiny_attribution(workspace: Workspace) -> Path:
    """The TINY attribution study run to its `attribution` target on the tiny MNIST: the project."""
    from conftest import write_tiny_mnist

    tiny = write_tiny_mnist(workspace.folder / "mnist")
    project = copy_project(workspace.folder / "project")
    (project / "tiny.yaml").write_text(TINY)
    snakemake_in_background(workspace, project, "--cores", "2", "--configfile", "config/quick.yaml", "tiny.yaml",
                            "--config", f"mnist_root={tiny}", "--", "attribution")
    return project


@pytest.mark.slow
def test_tiny_attribution_runs_end_to_end(tiny_attribution):
    results = tiny_attribution / "results"
    table = pd.read_csv(results / "attribution" / "table.csv")
    effects = pd.read_csv(results / "attribution" / "effects.csv")
    assert set(table["cell"]) == {"base", "decay", "best_1"}
    assert {"bottleneck", "correlation"} <= set(table["metric"])
    assert set(effects["factor"]) == {"decay", "best_1"} and set(effects["quantity"]) == {"S_sparsest", "rise"}
    assert (results / "attribution" / "specialization.png").stat().st_size > 10_000
    # best_1 reuses base's models (copied, not trained) and counts one model per p for its chosen metrics
    base, best = (results / "variants" / name / "models" / "plain" / "p=1" / "seed=1" / "model.pt" for name in ("base", "best_1"))
    assert base.read_bytes() == best.read_bytes()
    for copied in ("metrics/bottleneck/p=1/seed=1.csv", "metrics/correlation/p=0.0001/seed=0.csv"):
        assert (results / "variants" / "best_1" / copied).read_bytes() == (results / "variants" / "base" / copied).read_bytes()
    assert "copied" in (results / "variants" / "best_1" / "logs" / "correlation_metric" / "p=1" / "seed=0.log").read_text()
    counted = table.set_index(["cell", "metric"])["n_models_sparsest"]
    assert counted[("best_1", "bottleneck")] == 1 and counted[("best_1", "correlation")] == 2
    assert counted[("base", "bottleneck")] == 2
    claims = pd.read_csv(results / "comparisons" / "all" / "claims.csv")
    assert set(claims["variant"]) == {"base", "decay", "best_1"}
