"""From per-job files to tidy tables: one row per architecture x p x seed x metric x sub-network."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .sparsity import modularity_analytic, modularity_from_adjacency

KEYS = ["architecture", "p", "seed"]


def training_summary(histories: pd.DataFrame) -> pd.DataFrame:
    """The kept epoch of every model: test accuracy and the share of decisions of each sub-network."""
    kept = histories[histories["selected"]].copy()
    kept["Q"] = kept["p"].map(modularity_analytic)
    columns = KEYS + ["Q", "epoch", "train_accuracy", "test_accuracy", "test_share_subnetwork_0", "test_share_subnetwork_1"]
    return kept[columns].sort_values(KEYS).reset_index(drop=True)


def metrics_table(raw: pd.DataFrame, training: pd.DataFrame) -> pd.DataFrame:
    """Tidy metric table: per (architecture, p, seed, metric, sub-network n) the raw M(n, n) and
    M(n, 1 - n), the specialization M_spec(n), the metric's accuracy on digit n where it has one,
    the share of decisions n takes in the global model, and Q (equation 5)."""
    raw = raw.copy()
    raw["sub_network"] = pd.to_numeric(raw["sub_network"], errors="coerce")
    values = raw[raw["quantity"].isin(["M", "distance"])]
    own = values[values["sub_network"] == values["digit"]]
    other = values[values["sub_network"] != values["digit"]]
    index = KEYS + ["metric", "sub_network"]
    table = own.set_index(index)[["quantity", "value"]].rename(columns={"value": "M_own"})
    table["M_other"] = other.set_index(index)["value"]
    spec = raw[raw["quantity"] == "specialization"].set_index(index)["value"]
    table["specialization"] = spec
    accuracy = raw[raw["quantity"] == "accuracy"].assign(sub_network=lambda f: f["digit"]).set_index(index)["value"]
    table["accuracy_on_own_digit"] = accuracy
    table = table.reset_index()
    shares = training.melt(
        id_vars=KEYS, value_vars=["test_share_subnetwork_0", "test_share_subnetwork_1"], var_name="sub_network", value_name="decision_share"
    )
    shares["sub_network"] = shares["sub_network"].str[-1].astype(int)
    table = table.merge(shares, on=KEYS + ["sub_network"], how="left")
    table.insert(2, "Q", table["p"].map(modularity_analytic))
    table["sub_network"] = table["sub_network"].astype(int)
    return table.sort_values(index).reset_index(drop=True)


def summary_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds, per sub-network and for the mean of both ("both")."""
    values = ["M_own", "M_other", "specialization", "accuracy_on_own_digit", "decision_share"]
    both = metrics.groupby(KEYS + ["Q", "metric", "quantity"], as_index=False)[values].mean()
    both["sub_network"] = "both"
    combined = pd.concat([metrics.assign(sub_network=metrics["sub_network"].astype(str)), both], ignore_index=True)
    grouped = combined.groupby(["architecture", "metric", "quantity", "p", "Q", "sub_network"])
    summary = grouped[values].agg(["mean", "std"])
    summary.columns = [f"{name}_{statistic}" for name, statistic in summary.columns]
    summary["n_seeds"] = grouped["seed"].nunique()
    return summary.reset_index()


def modularity_row(architecture: str, p: float, seed: int, adjacency: np.ndarray, groups: np.ndarray) -> dict:
    """Q of one trained model from its adjacency (equation 9) beside the analytic value (equation 5)."""
    return {
        "architecture": architecture,
        "p": p,
        "seed": seed,
        "Q_measured": modularity_from_adjacency(adjacency, groups),
        "Q_analytic": modularity_analytic(p),
    }
