"""Attribution: how much each protocol choice moves the specialization at extreme sparsity.

Each cell is a variant of the study (config["variants"]); a factor is a pair of cells (from, to)
that differ in one choice. S(cell, metric, p) is the mean over seeds of the mean M_spec of both
sub-networks, counting the models the cell's own aggregation counts (best-k selection, poor
models left out where its config says so). A factor's effect is S_to - S_from at the sparsest p
and on the rise S(sparsest p) - S(p = 1), with a bootstrap interval that resamples the seeds of
both cells together: every cell trains seeds 0..n-1 from the same initial draws, so the
difference is paired.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .aggregate import counted

METRIC_ORDER = ("bottleneck", "bottleneck_loss", "weight_mask", "correlation", "cka", "weight_mask_control")
TABLE_COLUMNS = [
    "cell", "metric", "architecture", "p_sparsest", "S_sparsest", "S_dense", "rise", "n_models_sparsest",
    "share_performing_well_sparsest", "mean_test_accuracy_sparsest", "S_sparsest_n0", "S_sparsest_n1",
]
EFFECT_COLUMNS = [
    "factor", "from", "to", "metric", "quantity", "effect", "ci_low", "ci_high", "interval_includes_zero",
    "n_seeds",
]


def per_seed(metrics: pd.DataFrame, exclude_poor_models: bool) -> pd.DataFrame:
    """One row per (metric, architecture, p, seed): S = the mean M_spec of both sub-networks, each
    sub-network's M_spec, and whether the cell's aggregation counts that model."""
    frame = metrics.assign(counted=counted(metrics, exclude_poor_models))
    keys = ["metric", "architecture", "p", "seed"]
    wide = frame.pivot_table(index=keys, columns="sub_network", values="specialization", aggfunc="mean")
    wide.columns = [f"S_n{int(n)}" for n in wide.columns]
    wide["S"] = wide[["S_n0", "S_n1"]].mean(axis=1)
    wide["counted"] = frame.groupby(keys)["counted"].all()
    return wide.reset_index()


def cell_curves(seeds: pd.DataFrame) -> pd.DataFrame:
    """Per (metric, architecture, p): the mean over counted seeds of S and of each sub-network's M_spec."""
    counted = seeds[seeds["counted"]]
    curves = counted.groupby(["metric", "architecture", "p"])[["S", "S_n0", "S_n1"]].mean()
    curves["n_models"] = counted.groupby(["metric", "architecture", "p"])["seed"].nunique()
    return curves.reset_index()


def attribution_table(cells: dict[str, tuple[pd.DataFrame, pd.DataFrame, bool]]) -> pd.DataFrame:
    """One row per cell and metric. ``cells``: name -> (metrics.csv, training.csv, exclude_poor_models)."""
    rows = []
    for cell, (metrics, training, exclude) in cells.items():
        curves = cell_curves(per_seed(metrics, exclude))
        for (metric, architecture), curve in curves.groupby(["metric", "architecture"]):
            curve = curve.sort_values("p")
            sparsest, dense = curve.iloc[0], curve.iloc[-1]
            trained = training[(training["architecture"] == architecture) & (training["p"] == sparsest["p"])]
            rows.append({
                "cell": cell, "metric": metric, "architecture": architecture, "p_sparsest": sparsest["p"],
                "S_sparsest": sparsest["S"], "S_dense": dense["S"], "rise": sparsest["S"] - dense["S"],
                "n_models_sparsest": int(sparsest["n_models"]),
                "share_performing_well_sparsest": trained["performs_well"].astype(bool).mean(),
                "mean_test_accuracy_sparsest": trained["test_accuracy"].mean(),
                "S_sparsest_n0": sparsest["S_n0"], "S_sparsest_n1": sparsest["S_n1"],
            })
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    return table.sort_values(["metric", "cell"], key=_metric_then_name).reset_index(drop=True)


def _metric_then_name(column: pd.Series) -> pd.Series:
    if column.name == "metric":
        return column.map(lambda metric: METRIC_ORDER.index(metric) if metric in METRIC_ORDER else len(METRIC_ORDER))
    return column


def paired_effects(
    cells: dict[str, tuple[pd.DataFrame, pd.DataFrame, bool]], factors: list[dict], n_bootstrap: int,
    confidence: float, seed: int,
) -> pd.DataFrame:
    """Each factor's effect (to - from) on S at the sparsest p and on the rise, per metric, with a
    percentile bootstrap interval over seeds drawn once for both cells (paired)."""
    seeds_of = {cell: per_seed(metrics, exclude) for cell, (metrics, _, exclude) in cells.items()}
    rows = []
    for factor in factors:
        first, second = seeds_of[factor["from"]], seeds_of[factor["to"]]
        for metric in [m for m in METRIC_ORDER if m in set(first["metric"]) & set(second["metric"])]:
            common = sorted(set(first.loc[first["metric"] == metric, "seed"]) & set(second.loc[second["metric"] == metric, "seed"]))
            draws = np.random.default_rng(seed).choice(len(common), size=(n_bootstrap, len(common)))
            multiplicity = np.stack([np.bincount(draw, minlength=len(common)) for draw in draws])
            estimates = {}
            for quantity in ("S_sparsest", "rise"):
                point_to, boot_to = _bootstrapped(second, metric, common, multiplicity, quantity)
                point_from, boot_from = _bootstrapped(first, metric, common, multiplicity, quantity)
                estimates[quantity] = (point_to - point_from, boot_to - boot_from)
            for quantity, (effect, boot) in estimates.items():
                boot = boot[np.isfinite(boot)]
                low, high = np.quantile(boot, [(1 - confidence) / 2, (1 + confidence) / 2]) if len(boot) else (np.nan, np.nan)
                rows.append({
                    "factor": factor["name"], "from": factor["from"], "to": factor["to"], "metric": metric,
                    "quantity": quantity, "effect": effect, "ci_low": low, "ci_high": high,
                    "interval_includes_zero": bool(low <= 0 <= high), "n_seeds": len(common),
                })
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


def _bootstrapped(seeds: pd.DataFrame, metric: str, common: list[int], multiplicity: np.ndarray, quantity: str):
    """(point estimate, bootstrap estimates) of S at the sparsest p or of the rise, for one cell:
    means over the counted models among the drawn seeds."""
    frame = seeds[seeds["metric"] == metric]
    ends = sorted(frame["p"].unique())
    means = {}
    for end, p in (("sparsest", ends[0]), ("dense", ends[-1])):
        at_p = frame[frame["p"] == p].set_index("seed").reindex(common)
        weight = at_p["counted"].fillna(False).astype(float).to_numpy()
        value = at_p["S"].fillna(0.0).to_numpy() * weight
        with np.errstate(invalid="ignore", divide="ignore"):
            means[end] = (value.sum() / weight.sum(), (multiplicity @ value) / (multiplicity @ weight))
    if quantity == "S_sparsest":
        return means["sparsest"]
    return means["sparsest"][0] - means["dense"][0], means["sparsest"][1] - means["dense"][1]
