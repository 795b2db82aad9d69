"""End to end: the quick config through snakemake, in a private copy of the project."""

import pandas as pd
import pytest
import torch

from extreme_sparsity.checkpoint import load_model
from conftest import snakemake

pytestmark = pytest.mark.slow


def test_quick_config_trains_every_architecture_p_and_seed(quick_run):
    project, _, _ = quick_run
    models = sorted(project.glob("results/models/*/p=*/seed=*/model.pt"))
    assert len(models) == 2 * 3 * 2
    for path in models:
        history = pd.read_csv(path.parent / "history.csv")
        architecture = path.parts[-4]
        assert history["epoch"].tolist() == [1, 2]
        assert history["selected"].tolist() == [False, True]
        assert set(history["architecture"]) == {architecture}
        model, saved = load_model(path)
        assert saved["test_accuracy"] == pytest.approx(history["test_accuracy"].iloc[-1])
        assert model.config.bottleneck == (5 if architecture == "bottleneck" else 0)
        active = saved["active_connections"]["into_subnetwork_0"]
        assert len(active) == model.config.n_active == model.sparse.active()[0].sum()
        assert not (path.parent / "resume.pt").exists()
    assert (project / "results" / "logs" / "prepare_dataset.log").read_text().startswith("train: kept")


def test_quick_config_measures_every_metric(quick_run):
    project, _, _ = quick_run
    tables = sorted(project.glob("results/metrics/*/p=*/seed=*.csv"))
    assert len(tables) == 3 * 3 * 2
    for path in tables:
        frame = pd.read_csv(path)
        metric = path.parts[-3]
        assert frame["p"].iloc[0] == float(path.parent.name.removeprefix("p="))
        assert frame["architecture"].iloc[0] == ("bottleneck" if metric == "bottleneck" else "plain")
        values = frame[frame["quantity"].isin(["M", "distance"])]
        assert len(values) == 4 * values["metric"].nunique()
        specialization = frame[frame["quantity"] == "specialization"]
        assert specialization["value"].between(-1, 1).all() and len(specialization) == 2 * values["metric"].nunique()
        assert "torch=" in frame["software"].iloc[0]
    weight_mask = pd.read_csv(next(project.glob("results/metrics/weight_mask/p=*/seed=0.csv")))
    assert set(weight_mask["metric"]) == {"weight_mask", "weight_mask_control"}
    correlation = pd.read_csv(next(project.glob("results/metrics/correlation/p=*/seed=0.csv")))
    assert set(correlation["metric"]) == {"correlation", "cka"}


def test_second_run_has_nothing_to_do(quick_run):
    project, args, _ = quick_run
    again = snakemake(project, *args)
    assert "Nothing to be done" in again.stdout + again.stderr
