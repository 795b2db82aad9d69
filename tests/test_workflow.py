"""End to end: the small study (tests/small_study.yaml on config/quick.yaml) through snakemake, in a
private copy of the project."""

import pandas as pd
import pytest
from conftest import snakemake

from extreme_sparsity import claims
from extreme_sparsity.plumbing.checkpoint import load_model

pytestmark = pytest.mark.slow


def test_every_architecture_p_and_seed_is_trained(small_run):
    project, _, _ = small_run
    models = sorted(project.glob("results/models/*/p=*/seed=*/model.pt"))
    assert len(models) == 2 * 2 * 1  # architectures x p x seeds
    for path in models:
        history = pd.read_csv(path.parent / "history.csv")
        architecture = path.parts[-4]
        # small_study.yaml: 4 epochs; the defaults keep the epoch of lowest validation loss
        assert history["epoch"].tolist() == [1, 2, 3, 4]
        best = history["validation_loss"].idxmin()
        assert history["selected"].tolist() == [index == best for index in history.index]
        assert set(history["architecture"]) == {architecture}
        model, saved = load_model(path)
        assert saved["test_accuracy"] == pytest.approx(history["test_accuracy"].iloc[best])
        assert saved["validation_accuracy"] == pytest.approx(history["validation_accuracy"].iloc[best])
        assert model.config.bottleneck == (5 if architecture == "bottleneck" else 0)
        active = saved["active_connections"]["into_subnetwork_0"]
        assert len(active) == model.config.n_active == model.sparse.active()[0].sum()
        assert not (path.parent / "resume.pt").exists()
    log = (project / "results" / "logs" / "prepare_dataset.log").read_text()
    assert log.startswith("train: kept") and "validation: kept" in log
    kept = pd.read_csv(project / "results" / "aggregate" / "training.csv")
    assert kept["performs_well"].tolist() == (kept["validation_accuracy"] >= 0.8).tolist()


def test_every_metric_is_measured_with_its_trials(small_run):
    project, _, _ = small_run
    tables = sorted(project.glob("results/metrics/*/p=*/seed=*.csv"))
    assert len(tables) == 3 * 2 * 1  # metrics x p x seeds
    # config/quick.yaml: 2 trials of each trainable metric; the supermask control has one
    trials = {"bottleneck": 2, "bottleneck_loss": 2, "weight_mask": 2, "weight_mask_control": 1, "correlation": 1, "cka": 1}
    for path in tables:
        frame = pd.read_csv(path)
        metric = path.parts[-3]
        assert frame["p"].iloc[0] == float(path.parent.name.removeprefix("p="))
        assert frame["architecture"].iloc[0] == ("bottleneck" if metric == "bottleneck" else "plain")
        assert frame.groupby("metric")["trial"].nunique().to_dict() == {m: trials[m] for m in set(frame["metric"])}
        values = frame[frame["quantity"].isin(["M", "distance", "loss"])]
        assert len(values) == sum(4 * trials[m] for m in set(frame["metric"]))
        specialization = frame[frame["quantity"] == "specialization"]
        assert specialization["value"].between(-1, 1).all()
        assert "torch=" in frame["software"].iloc[0]
    weight_mask = pd.read_csv(next(project.glob("results/metrics/weight_mask/p=*/seed=0.csv")))
    assert set(weight_mask["metric"]) == {"weight_mask", "weight_mask_control"}
    correlation = pd.read_csv(next(project.glob("results/metrics/correlation/p=*/seed=0.csv")))
    assert set(correlation["metric"]) == {"correlation", "cka"}


def test_weight_masks_use_the_calibrated_q(small_run):
    project, _, _ = small_run
    calibration = pd.read_csv(project / "results" / "calibration" / "mask_q.csv")
    assert calibration["q"].tolist() == [0.01, 0.05] and calibration["chosen"].sum() == 1
    chosen = calibration.loc[calibration["chosen"], "q"].item()
    expected = calibration.loc[calibration["meets_criterion"], "q"].max() if calibration["meets_criterion"].any() else 0.01
    assert chosen == expected
    table = pd.read_csv(project / "results" / "aggregate" / "metrics.csv")
    assert set(table.loc[table["metric"].str.startswith("weight_mask"), "q"]) == {chosen}
    # the calibration's sweep at the chosen q is trial 0 of the metric job: the same masks
    sweep = pd.read_csv(project / "results" / "mask_sweep" / "kaiming_uniform" / "p=0.0001" / "seed=0.csv")
    at_q = sweep[(sweep["q"] == chosen) & (sweep["attribution"] == "target") & (sweep["quantity"] == "M")]
    metric = pd.read_csv(project / "results" / "metrics" / "weight_mask" / "p=0.0001" / "seed=0.csv")
    first = metric[(metric["metric"] == "weight_mask") & (metric["trial"] == 0) & (metric["quantity"] == "M")]
    assert at_q["value"].tolist() == first["value"].tolist()


def test_claims_table_has_every_claim_with_a_verdict(small_run):
    project, _, _ = small_run
    table = pd.read_csv(project / "results" / "aggregate" / "claims.csv")
    assert set(table["claim"]) == set(claims.CLAIM_IDS)
    assert set(table["result"]) <= {"holds", "fails"}
    assert table.loc[table["claim"] == "g", "result"].item() == "holds"  # Q of the trained graphs is equation (5)
    noise = pd.read_csv(project / "results" / "aggregate" / "trial_noise.csv")
    assert set(noise["metric"]) == {"bottleneck", "bottleneck_loss", "weight_mask"}
    assert (noise["n_trials"] == 2).all()


def test_second_run_has_nothing_to_do(small_run):
    project, args, _ = small_run
    again = snakemake(project, *args)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_sensitivity_target_adds_its_study_without_touching_the_default_one(small_run):
    project, args, _ = small_run
    before = {path for path in (project / "results").rglob("*") if path.is_file()}
    try:
        snakemake(project, "sensitivity", *args)
        curves = pd.read_csv(project / "results" / "sensitivity" / "curves.csv")
        masks = curves[curves["metric"] == "weight_mask"]
        assert set(masks["q"]) == {0.01, 0.05} and set(masks["score_init"]) == {"kaiming_uniform", "uniform"}
        assert set(masks["attribution"]) == {"target", "source"}
        assert set(curves.loc[curves["metric"] == "bottleneck", "epochs"]) == {1, 5}
        assert (curves["n_seeds"] == 1).all() and len(masks) == 2 * 2 * 2 * 2  # q x init x attribution x p
        assert (project / "results" / "figures" / "sensitivity.png").stat().st_size > 10_000
        again = snakemake(project, *args)
        assert "Nothing to be done" in again.stdout + again.stderr
    finally:
        # leave the shared project as the default run made it (other tests compare its files)
        for path in {path for path in (project / "results").rglob("*") if path.is_file()} - before:
            path.unlink()
