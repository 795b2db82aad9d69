"""Named variants of the study: merging, naming, the comparison tables, and the workflow's plan."""

import copy

import numpy as np
import pandas as pd
import pytest
import yaml
from background import Workspace, prepared
from conftest import REPO, copy_project, snakemake, snakemake_in_background

from extreme_sparsity import comparison, variants

DEFAULTS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def with_variants(studies, common=None, comparisons=None):
    config = copy.deepcopy(DEFAULTS)
    config["variants"] = {"common": common or {}, "studies": studies, "comparisons": comparisons or {}}
    return config


def test_variant_is_base_then_common_then_its_own_keys():
    config = with_variants(
        {"lstm": {"model": {"cell": "lstm"}, "n_seeds": 1}},
        common={"n_seeds": 2, "model": {"n_steps": 3}},
    )
    before = copy.deepcopy(config)
    (name, variant), = variants.variant_configs(config).items()
    assert name == "lstm"
    assert variant["model"]["cell"] == "lstm" and variant["model"]["n_steps"] == 3  # own key, then common
    assert variant["model"]["n_hidden"] == DEFAULTS["model"]["n_hidden"]  # untouched keys from the base
    assert variant["n_seeds"] == 1  # the variant's own value wins over common
    assert variant["variants"] == variants.NO_VARIANTS  # a variant runs no variants itself
    assert config == before  # nothing modified in place


def test_empty_variant_is_the_base_with_common():
    (variant,) = variants.variant_configs(with_variants({"paper": None}, common={"n_seeds": 2})).values()
    expected = copy.deepcopy(DEFAULTS)
    expected["n_seeds"] = 2
    assert variant == expected


@pytest.mark.parametrize("name", ["2bits", "with-dash", "a b", ""])
def test_variant_names_must_make_rule_names(name):
    with pytest.raises(ValueError, match="variant name"):
        variants.variant_configs(with_variants({name: {}}))


def test_variants_do_not_nest():
    with pytest.raises(ValueError, match="do not nest"):
        variants.variant_configs(with_variants({"a": {"variants": {"studies": {}}}}))


def test_variants_of_the_same_data_share_the_first_ones_data_set():
    """The data set depends on mnist_root, data and task only: a cell or training change shares it,
    another task, split or MNIST folder does not; the first variant of each data set prepares it."""
    configs = variants.variant_configs(with_variants({
        "paper": None,
        "lstm": {"model": {"cell": "lstm"}, "training": {"batch_size": 64}},
        "digit": {"task": {"bits": "digit"}},
        "digit_lstm": {"task": {"bits": "digit"}, "model": {"cell": "lstm"}},
        "elsewhere": {"mnist_root": "other"},
        "fewer_validation": {"data": {"validation_images": 3000}},
    }))
    assert variants.shared_data(configs) == {"lstm": "paper", "digit_lstm": "digit"}
    assert variants.DATA_KEYS == ("mnist_root", "data", "task")


def test_result_sources_name_the_model_source_for_copies_and_the_data_source_for_the_data_set():
    copied = {"b": ["train_model", "correlation_metric"]}
    sources = variants.result_sources(copied, {"b": "a"}, {"b": "a", "c": "a"})
    assert sources == [
        ("b", "train_model", "a"), ("b", "correlation_metric", "a"), ("b", "prepare_dataset", "a"),
        ("c", "prepare_dataset", "a"),
    ]


def test_comparisons_default_to_all_variants_and_refuse_unknown_names():
    assert variants.comparisons(with_variants({"a": {}, "b": {}})) == {"all": ["a", "b"]}
    assert variants.comparisons(with_variants({})) == {}
    named = with_variants({"a": {}, "b": {}}, comparisons={"pair": ["b", "a"]})
    assert variants.comparisons(named) == {"pair": ["b", "a"]}
    with pytest.raises(ValueError, match=r"names \['c'\], which are not variants"):
        variants.comparisons(with_variants({"a": {}}, comparisons={"x": ["a", "c"]}))


def test_stacked_tables_keep_every_row_with_its_variant():
    first = pd.DataFrame({"p": [0.1, 1.0], "value": [1, 2]})
    second = pd.DataFrame({"p": [0.1], "value": [3]})
    table = comparison.stacked([first, second], ["a", "b"])
    assert table.columns.tolist() == ["variant", "p", "value"]
    assert table["variant"].tolist() == ["a", "a", "b"] and table["value"].tolist() == [1, 2, 3]
    with pytest.raises(ValueError):
        comparison.stacked([first], ["a", "b"])


def test_comparison_summary_is_mean_and_sd_over_seeds_per_variant():
    rows = []
    for variant, values in (("a", [0.2, 0.4]), ("b", [0.9, 0.5])):
        for seed, value in enumerate(values):
            for n in (0, 1):
                rows.append({
                    "variant": variant, "architecture": "plain", "p": 0.01, "seed": seed, "Q": 0.4,
                    "metric": "correlation", "quantity": "M", "sub_network": n, "performs_well": seed == 0 or variant == "a",
                    "M_own": 0.0, "M_other": 0.0, "specialization": value + n, "accuracy_on_own_digit": np.nan,
                    "decision_share": 0.5,
                })
    summary = comparison.comparison_summary(pd.DataFrame(rows), {"a": False, "b": True})
    cell = summary.set_index(["variant", "sub_network"])
    assert cell.loc[("a", "0"), "specialization_mean"] == pytest.approx(0.3)
    assert cell.loc[("a", "1"), "specialization_std"] == pytest.approx(np.std([1.2, 1.4], ddof=1))
    assert cell.loc[("a", "both"), "specialization_mean"] == pytest.approx(0.8)  # (0.7 + 0.9) / 2
    # variant b leaves its poor model (seed 1) out, as its config says, and counts it
    assert cell.loc[("b", "0"), "specialization_mean"] == pytest.approx(0.9)
    assert cell.loc[("b", "0"), "n_poor_models"] == 1 and cell.loc[("b", "0"), "n_seeds"] == 1


def _plan(project, *args):
    """Dry run: the jobs snakemake would run, as {rule: count}, and the whole output."""
    output = snakemake(project, "-n", "--cores", "1", *args).stdout  # --config last: it takes every value after it
    counts = {}
    in_table = False
    for line in output.splitlines():
        if line.startswith("job") and "count" in line:
            in_table = True
            continue
        if in_table:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
                counts[parts[0]] = int(parts[1])
            elif parts and parts[0] == "total":
                break
    return counts, output


VARIANTS_YAML = """
variants:
  common: {n_seeds: 1, sparsity: {values: [0.01]}}
  studies:
    paper: null
    lstm: {model: {cell: lstm}}
"""


def test_a_config_with_variants_plans_its_variants_and_study_plans_the_base_study(tmp_path, mnist_root):
    """docs/beyond.md: `snakemake study` runs the base study only; `snakemake variants`,
    and `snakemake` with a config that declares variants, every variant, each under
    results/variants/<name>/, with the resources and SLURM group the study's rule declares. Never
    the base study unasked."""
    project = copy_project(tmp_path)
    (project / "v.yaml").write_text(VARIANTS_YAML)
    config = ("--configfile", "config/quick.yaml", "v.yaml", "--config", f"mnist_root={mnist_root}")
    paper_study, _ = _plan(project, "study", *config)
    assert paper_study["train_model"] == 12 and not any(name.startswith(("paper_", "lstm_")) for name in paper_study)
    by_default, _ = _plan(project, *config)
    assert "train_model" not in by_default and by_default["lstm_train_model"] == 2
    planned, output = _plan(project, "variants", "--profile", "slurm", *config)
    for variant in ("paper", "lstm"):
        assert planned[f"{variant}_train_model"] == 2  # 2 architectures x 1 p x 1 seed (common)
        assert planned[f"{variant}_prepare_dataset"] == 1
        assert f"results/variants/{variant}/models/plain/p=0.01/seed=0/model.pt" in output
        assert f"results/variants/{variant}/logs/train_model/plain/p=0.01/seed=0.log" in output
    assert planned["compare_variants"] == planned["plot_variant_comparison"] == 1
    assert "results/comparisons/all/specialization.png" in output
    train_jobs = output.split("rule lstm_train_model:")[1].split("\n\n")[0]
    assert "mem_mb=2000" in train_jobs and "runtime=15" in train_jobs  # declared by the study's rule
    metrics_group = output.split("Group job metrics")[1].split("Group job")[0]
    for rule in ("lstm_bottleneck_metric", "lstm_weight_mask_metric", "paper_correlation_metric"):
        assert f"rule {rule}:" in metrics_group  # the study's rules' groups


def test_bad_key_in_a_variant_is_refused_with_the_variant_name(tmp_path):
    project = copy_project(tmp_path)
    (project / "v.yaml").write_text("variants:\n  studies:\n    lstm: {model: {cel: lstm}}\n")
    result = snakemake(project, "variants", "-n", "--cores", "1", "--configfile", "v.yaml", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Invalid configuration of variant 'lstm'" in output and "config key model.cel: unknown key" in output
    assert not (project / "results").exists()


SMOKE = """
variants:
  common:
    n_seeds: 1
    sparsity: {values: [0.01]}
    training: {epochs: {plain: 1, bottleneck: 1}, stopping: {max_epochs: {plain: 1, bottleneck: 1}}}
    bottleneck_metric: {trials: 1, epochs: 1}
    weight_mask_metric: {q: 0.05, trials: 1}
  studies:
    rnn: {time_course: {enabled: true}}
    leaky: {model: {cell: leaky, leak_rate: 0.3}}
    lstm: {model: {cell: lstm}}
    gru: {model: {cell: gru}, time_course: {enabled: true}}
    digit: {task: {bits: digit}}
  comparisons:
    cells: [rnn, leaky, lstm, gru]
    bandwidth: [rnn, digit]
"""


VARIANTS = {"rnn": "rnn", "leaky": "leaky", "lstm": "lstm", "gru": "gru", "digit": "rnn"}  # the smoke run's, by cell


@prepared("workflows", rank=5)
def smoke_run(workspace: Workspace):
    """Every cell and the whole-digit task as variants, one model each, on the tiny MNIST."""
    from conftest import write_tiny_mnist

    mnist = write_tiny_mnist(workspace.folder / "tiny_mnist")
    project = copy_project(workspace.folder / "project")
    (project / "smoke.yaml").write_text(SMOKE)
    snakemake_in_background(workspace, project, "variants", "--cores", "2", "--configfile", "config/quick.yaml", "smoke.yaml",
                            "--config", f"mnist_root={mnist}")
    return project


@pytest.mark.slow
def test_every_cell_runs_the_whole_study_as_a_variant(smoke_run):
    """A quick-config smoke run per cell: checkpoints of that cell, every metric, each variant's claims;
    one data set per distinct data settings, linked by the variants that share it."""
    from extreme_sparsity.plumbing.checkpoint import load_model

    for variant, cell in VARIANTS.items():
        results = smoke_run / "results" / "variants" / variant
        for architecture in ("plain", "bottleneck"):
            model, saved = load_model(results / "models" / architecture / "p=0.01" / "seed=0" / "model.pt")
            assert model.config.cell == cell and int(model.sparse.active()[0].sum()) == model.config.n_active
        assert model.config.leak_rate == (0.3 if variant == "leaky" else 0.5)
        metrics = pd.read_csv(results / "aggregate" / "metrics.csv")
        assert set(metrics["metric"]) == {"bottleneck", "bottleneck_loss", "weight_mask", "weight_mask_control", "correlation", "cka"}
        assert metrics["specialization"].between(-1, 1).all()
        assert (results / "aggregate" / "claims.csv").is_file() and (results / "figures" / "figure2_specialization.png").is_file()
        assert (results / "figures" / "time_course.png").is_file() == (variant in ("rnn", "gru"))
        assert not (results / "mask_sweep").exists()  # fixed q: no calibration sweeps
    assert not (smoke_run / "results" / "models").exists()  # the paper study itself did not run
    data = {variant: smoke_run / "results" / "variants" / variant / "data" / "paired_mnist.h5" for variant in VARIANTS}
    assert not data["rnn"].is_symlink() and not data["digit"].is_symlink()  # the first of each data set prepares it
    for variant in ("leaky", "lstm", "gru"):  # the same data settings as rnn: a link to its file
        assert data[variant].is_symlink() and data[variant].resolve() == data["rnn"].resolve()


@pytest.mark.slow
def test_a_variant_of_the_task_trains_on_its_own_targets(smoke_run):
    import h5py

    from extreme_sparsity import task

    with h5py.File(smoke_run / "results" / "variants" / "digit" / "data" / "paired_mnist.h5") as handle:
        assert handle.attrs["task_bits"] == "digit"
        digits, target = handle["train"]["digits"][()], handle["train"]["target"][()]
    assert np.array_equal(target, np.where((digits[:, 0] + digits[:, 1]) % 10 < 5, digits[:, 0], digits[:, 1]))
    with h5py.File(smoke_run / "results" / "variants" / "rnn" / "data" / "paired_mnist.h5") as handle:
        assert handle.attrs["task_bits"] == "1"
        assert np.array_equal(handle["train"]["digits"][()], digits)  # same pairs, other targets
        assert np.array_equal(handle["train"]["target"][()], task.global_target(digits[:, 0], digits[:, 1]))


@pytest.mark.slow
def test_time_course_at_the_last_step_equals_the_metric_tables(smoke_run):
    for variant in ("rnn", "gru"):
        results = smoke_run / "results" / "variants" / variant / "aggregate"
        final = pd.read_csv(results / "metrics.csv")
        course = pd.read_csv(results / "time_course.csv")
        assert sorted(course["t"].unique()) == [1, 2, 3, 4, 5]
        keys = ["metric", "sub_network"]
        last = course[course["t"] == 5].set_index(keys)["specialization"].sort_index()
        expected = final[final["metric"].isin(last.index.get_level_values(0))].set_index(keys)["specialization"]
        assert set(last.index.get_level_values(0)) == {"bottleneck", "bottleneck_loss", "correlation", "cka"}
        # the time course trains its steps' readouts in one batch, the metric its trials alone: one
        # computation in float32, summed in another order (Intel's kernels round it differently)
        pd.testing.assert_series_equal(last, expected.sort_index(), check_exact=False, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_each_comparison_draws_its_variants(smoke_run):
    comparisons = smoke_run / "results" / "comparisons"
    for name, members in (("cells", ["rnn", "leaky", "lstm", "gru"]), ("bandwidth", ["rnn", "digit"])):
        summary = pd.read_csv(comparisons / name / "summary.csv")
        assert summary["variant"].unique().tolist() == members
        claims = pd.read_csv(comparisons / name / "claims.csv")
        assert claims["variant"].unique().tolist() == members
        for figure in ("specialization.png", "accuracy.png"):
            assert (comparisons / name / figure).stat().st_size > 10_000
    # the comparison's tables are the variants' own, row for row
    metrics = pd.read_csv(comparisons / "bandwidth" / "metrics.csv")
    digit = pd.read_csv(smoke_run / "results" / "variants" / "digit" / "aggregate" / "metrics.csv")
    pd.testing.assert_frame_equal(metrics[metrics["variant"] == "digit"].drop(columns="variant").reset_index(drop=True), digit)


@pytest.mark.slow
def test_a_finished_variant_study_reruns_nothing_and_an_edit_reruns_only_its_variant(smoke_run):
    """Caching and staleness per variant (docs/beyond.md)."""
    output = snakemake(smoke_run, "variants", "-n", "--cores", "1", "--configfile", "config/quick.yaml", "smoke.yaml").stdout
    assert "Nothing to be done" in output
    (smoke_run / "edit.yaml").write_text("variants:\n  studies:\n    lstm: {model: {cell: lstm, n_steps: 4}}\n")
    planned, _ = _plan(smoke_run, "variants", "--configfile", "config/quick.yaml", "smoke.yaml", "edit.yaml")
    trained = {rule for rule in planned if rule.endswith("_train_model")}
    assert trained == {"lstm_train_model"} and planned["lstm_train_model"] == 2
    assert planned["compare_variants"] == planned["plot_variant_comparison"] == 1  # cells only
