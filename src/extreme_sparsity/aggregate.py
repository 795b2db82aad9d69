"""From per-job files to tidy tables: one row per architecture x p x seed x metric x sub-network."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .sparsity import modularity_analytic, modularity_from_adjacency

KEYS = ["architecture", "p", "seed"]
# A metric written beside another by the same job follows it in the best-k selection.
PARENT_METRICS = {"bottleneck_loss": "bottleneck", "weight_mask_control": "weight_mask", "cka": "correlation"}
MEASURED = ["M", "distance", "loss"]  # quantities of the tables M[n, k]


def best_k_selection(metrics: pd.DataFrame, training: pd.DataFrame, k: int | None, selected_metrics) -> pd.Series:
    """``selected`` of every metric row: per (architecture, p), only the k models with the highest
    validation accuracy of the kept epoch (ties: lower seed first) count for the metrics named in
    ``selected_metrics``, and for the metrics that follow them (PARENT_METRICS); every other row,
    and every row when k is None, is selected. The test accuracy plays no part.
    """
    if k is None:
        return pd.Series(True, index=metrics.index, name="selected")
    ranked = training.sort_values(["validation_accuracy", "seed"], ascending=[False, True], na_position="last")
    best = ranked[ranked.groupby(["architecture", "p"]).cumcount() < k][KEYS].assign(best=True)
    is_best = metrics[KEYS].merge(best, on=KEYS, how="left")["best"].eq(True).to_numpy()
    listed = metrics["metric"].map(lambda metric: PARENT_METRICS.get(metric, metric)).isin(list(selected_metrics))
    return pd.Series(~listed.to_numpy() | is_best, index=metrics.index, name="selected")


def counted(frame: pd.DataFrame, exclude_poor_models: bool = False) -> pd.Series:
    """Whether each row counts in a mean over seeds: it is ``selected`` (best k, where the table has
    the column) and, when ``exclude_poor_models``, its model performs well."""
    keep = frame["selected"].astype(bool) if "selected" in frame else pd.Series(True, index=frame.index)
    if exclude_poor_models and "performs_well" in frame:
        keep = keep & ~frame["performs_well"].eq(False)
    return keep


def training_summary(histories: pd.DataFrame, min_accuracy: float) -> pd.DataFrame:
    """The kept epoch of every model: validation and test accuracy, the share of decisions of each
    sub-network, and ``performs_well`` (validation accuracy >= ``min_accuracy``; A.4)."""
    kept = histories[histories["selected"]].copy()
    kept["Q"] = kept["p"].map(modularity_analytic)
    kept["epochs_trained"] = histories.groupby(KEYS)["epoch"].transform("max")[kept.index]
    kept["performs_well"] = kept["validation_accuracy"] >= min_accuracy
    columns = KEYS + [
        "Q", "epoch", "epochs_trained", "stop_reason", "train_accuracy", "validation_accuracy", "test_accuracy",
        "test_share_subnetwork_0", "test_share_subnetwork_1", "performs_well",
    ]
    return kept[columns].sort_values(KEYS).reset_index(drop=True)


def own_and_other(raw: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per ``keys`` + sub-network n, from tidy metric rows: M(n, n) and M(n, 1 - n), M_spec(n), and
    the metric's accuracy on digit n where it has one."""
    raw = raw.copy()
    raw["sub_network"] = pd.to_numeric(raw["sub_network"], errors="coerce")
    values = raw[raw["quantity"].isin(MEASURED)]
    own = values[values["sub_network"] == values["digit"]]
    other = values[values["sub_network"] != values["digit"]]
    index = keys + ["sub_network"]
    table = own.set_index(index)[["quantity", "value"]].rename(columns={"value": "M_own"})
    table["M_other"] = other.set_index(index)["value"]
    table["specialization"] = raw[raw["quantity"] == "specialization"].set_index(index)["value"]
    accuracy = raw[raw["quantity"] == "accuracy"].assign(sub_network=lambda f: f["digit"]).set_index(index)["value"]
    table["accuracy_on_own_digit"] = accuracy
    table = table.reset_index()
    table["sub_network"] = table["sub_network"].astype(int)
    return table


def metric_trials_table(raw: pd.DataFrame, training: pd.DataFrame) -> pd.DataFrame:
    """Tidy metric table, every trial: per (architecture, p, seed, metric, trial, sub-network n) the
    raw M(n, n) and M(n, 1 - n), the specialization M_spec(n), the metric's accuracy on digit n where
    it has one, the q of the weight mask, the share of decisions n takes in the global model,
    whether the model performs well, and Q (equation 5)."""
    trial_keys = KEYS + ["metric", "trial"]
    table = own_and_other(raw, trial_keys)
    q = raw.assign(q=raw.get("q", np.nan)).groupby(trial_keys)["q"].first().reset_index()
    table = table.merge(q, on=trial_keys, how="left")
    shares = training.melt(
        id_vars=KEYS, value_vars=["test_share_subnetwork_0", "test_share_subnetwork_1"], var_name="sub_network",
        value_name="decision_share",
    )
    shares["sub_network"] = shares["sub_network"].str[-1].astype(int)
    table = table.merge(shares, on=KEYS + ["sub_network"], how="left")
    table = table.merge(training[KEYS + ["performs_well"]], on=KEYS, how="left")
    table.insert(2, "Q", table["p"].map(modularity_analytic))
    return table.sort_values(KEYS + ["metric", "trial", "sub_network"]).reset_index(drop=True)


def metrics_table(trials: pd.DataFrame) -> pd.DataFrame:
    """The mean over trials of every value, per (architecture, p, seed, metric, sub-network), with
    the number of trials and the standard deviation of M_spec(n) between them; ``selected`` is
    carried over where the trials have it (:func:`best_k_selection`)."""
    keys = KEYS + ["Q", "metric", "quantity", "sub_network", "performs_well"] + (["selected"] if "selected" in trials else [])
    grouped = trials.groupby(keys, dropna=False)
    table = grouped[["q", "M_own", "M_other", "specialization", "accuracy_on_own_digit", "decision_share"]].mean()
    table["n_trials"] = grouped["trial"].nunique()
    table["specialization_trial_sd"] = grouped["specialization"].std()
    return table.reset_index().sort_values(KEYS + ["metric", "sub_network"]).reset_index(drop=True)


def trial_noise(trials: pd.DataFrame) -> pd.DataFrame:
    """Per (architecture, metric, p), and pooled over p: the spread of M_spec(n) between trials on
    one model (pooled standard deviation) against the spread between seeds of the trial means, and
    the trials needed for the first, divided by sqrt(trials), to fall below a third of the second.

    Where every seed gives nearly the same value (e.g. M_spec = 1 at the sparsest p) the ratio of
    two tiny spreads says little, hence the row pooled over p (``p`` empty)."""
    repeated = trials[trials.groupby(KEYS + ["metric"])["trial"].transform("nunique") > 1]
    rows = []
    for (architecture, metric), by_metric in repeated.groupby(["architecture", "metric"]):
        variances = []
        for p, frame in by_metric.groupby("p"):
            per_model = frame.groupby(["seed", "sub_network"])["specialization"]
            within, between = per_model.var().mean(), per_model.mean().groupby("sub_network").var().mean()
            variances.append((within, between))
            rows.append(_noise_row(architecture, metric, p, frame, within, between))
        within, between = np.mean(variances, axis=0)
        rows.append(_noise_row(architecture, metric, np.nan, by_metric, within, between))
    return pd.DataFrame(rows, columns=NOISE_COLUMNS)  # the columns even with one trial (no rows)


NOISE_COLUMNS = [
    "architecture", "metric", "p", "n_trials", "n_seeds", "trial_sd", "seed_sd", "trial_sd_of_mean", "trials_needed",
]


def _noise_row(architecture: str, metric: str, p: float, frame: pd.DataFrame, within: float, between: float) -> dict:
    n_trials = int(frame["trial"].nunique())
    trial_sd, seed_sd = float(np.sqrt(within)), float(np.sqrt(between))
    return {
        "architecture": architecture, "metric": metric, "p": p, "n_trials": n_trials,
        "n_seeds": int(frame["seed"].nunique()), "trial_sd": trial_sd, "seed_sd": seed_sd,
        "trial_sd_of_mean": trial_sd / np.sqrt(n_trials),
        "trials_needed": int(np.ceil(9 * within / between)) if between > 0 else np.nan,
    }


def summary_table(metrics: pd.DataFrame, exclude_poor_models: bool = False) -> pd.DataFrame:
    """Mean and standard deviation over seeds, per sub-network and for the mean of both ("both").

    Only ``selected`` rows count (best k, where the table has the column), and models that do not
    perform well only unless ``exclude_poor_models``; ``n_poor_models`` always says how many of the
    cell's models do not perform well.
    """
    values = ["M_own", "M_other", "specialization", "accuracy_on_own_digit", "decision_share"]
    flags = ["performs_well"] + (["selected"] if "selected" in metrics else [])
    both = metrics.groupby(KEYS + ["Q", "metric", "quantity"] + flags, as_index=False)[values].mean()
    both["sub_network"] = "both"
    combined = pd.concat([metrics.assign(sub_network=metrics["sub_network"].astype(str)), both], ignore_index=True)
    cells = ["architecture", "metric", "quantity", "p", "Q", "sub_network"]
    poor = combined[~combined["performs_well"].astype(bool)].groupby(cells)["seed"].nunique()
    combined = combined[counted(combined, exclude_poor_models)]
    grouped = combined.groupby(cells)
    summary = grouped[values].agg(["mean", "std"])
    summary.columns = [f"{name}_{statistic}" for name, statistic in summary.columns]
    summary["n_seeds"] = grouped["seed"].nunique()
    summary["n_poor_models"] = poor.reindex(summary.index, fill_value=0)
    return summary.reset_index()


def time_course_table(raw: pd.DataFrame, training: pd.DataFrame) -> pd.DataFrame:
    """Per (architecture, p, seed, metric, step t, sub-network n): M(n, n), M(n, 1 - n) and M_spec(n)
    at step t, averaged over the metric's trials, with ``performs_well`` of the model."""
    table = own_and_other(raw, KEYS + ["metric", "t", "trial"])
    values = ["M_own", "M_other", "specialization"]
    table = table.groupby(KEYS + ["metric", "quantity", "t", "sub_network"], as_index=False)[values].mean()
    table = table.merge(training[KEYS + ["performs_well"]], on=KEYS, how="left")
    return table.sort_values(KEYS + ["metric", "t", "sub_network"]).reset_index(drop=True)


def time_course_summary(table: pd.DataFrame, exclude_poor_models: bool = False) -> pd.DataFrame:
    """Mean and standard deviation over seeds of :func:`time_course_table`, per metric, p, t and n
    (the rows that :func:`counted` counts)."""
    grouped = table[counted(table, exclude_poor_models)].groupby(["architecture", "metric", "quantity", "p", "t", "sub_network"])
    summary = grouped[["M_own", "M_other", "specialization"]].agg(["mean", "std"])
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
