"""How much the trainable metrics depend on their own training choices (section 5: "The resulting
metric depends on these choices"): the weight mask at every q of a grid and for each score
initialisation, with W_sparse counted in either sub-network, and the bottleneck metric for several
retraining budgets."""

from __future__ import annotations

import pandas as pd

from .aggregate import KEYS, own_and_other
from .sparsity import modularity_analytic

MASK_KEYS = ["score_init", "q", "attribution"]


def specialization_table(raw: pd.DataFrame, keys: list[str], training: pd.DataFrame) -> pd.DataFrame:
    """Per model, setting (``keys``) and sub-network: M(n, n), M(n, 1 - n), M_spec(n), the metric's
    accuracy where it has one, Q, and whether the model performs well."""
    table = own_and_other(raw, KEYS + keys)
    table = table.merge(training[KEYS + ["performs_well"]], on=KEYS, how="left")
    table.insert(2, "Q", table["p"].map(modularity_analytic))
    return table.sort_values(keys + KEYS + ["sub_network"]).reset_index(drop=True)


def curves(table: pd.DataFrame, keys: list[str], exclude_poor_models: bool = False) -> pd.DataFrame:
    """Mean and standard deviation over seeds of M_spec (the mean of both sub-networks of a model)
    and of the metric's accuracy, per setting and p."""
    if exclude_poor_models:
        table = table[table["performs_well"].astype(bool)]
    per_model = table.groupby(keys + KEYS, as_index=False)[["specialization", "accuracy_on_own_digit"]].mean()
    grouped = per_model.groupby(keys + ["p"])
    summary = grouped[["specialization", "accuracy_on_own_digit"]].agg(["mean", "std"])
    summary.columns = [f"{name}_{statistic}" for name, statistic in summary.columns]
    summary["n_seeds"] = grouped["seed"].nunique()
    return summary.reset_index()
