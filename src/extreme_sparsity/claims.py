"""Check the paper's claims on a finished study's tables (sections 2.3, 3.2, 4, 5 and A.4).

Each claim becomes one row: a statistic computed on the tables, a bootstrap interval over seeds and the
rule that decides whether the claim holds. A claim that cannot be evaluated fails with the reason in
``detail``: a false claim is a result, never an exception. Pure numpy/pandas (no torch), so that the
plotting environment can run it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .metrics import architecture_of
from .sparsity import modularity_analytic, sparsity_of_modularity

CLAIM_IDS = ("a", "b", "c1", "c2", "d", "e1", "e2", "f", "g")
COLUMNS = [
    "claim", "metric", "statement", "statistic", "value", "ci_low", "ci_high",
    "threshold", "rule", "result", "n_models", "detail",
]
# bottleneck_loss (the loss-based bottleneck specialization the authors plotted) is judged like the
# bottleneck metric in (a), (b) and (d); (c1) compares the weight mask with the paper's measures only.
RISING_METRICS = ("bottleneck", "bottleneck_loss", "weight_mask", "correlation")
LATE_METRICS = ("bottleneck", "bottleneck_loss", "correlation")
EARLIER_THAN = ("bottleneck", "correlation")
WEIGHT_MASK = "weight_mask"
CONTROL = "weight_mask_control"
MODEL_KEYS = ["architecture", "p", "seed"]
NO_RISE = 1e-12


# --- small helpers -----------------------------------------------------------------------------------------


def _nanmax(values: np.ndarray) -> float:
    """Max over the finite entries; NaN when there are none (a seed missing at a p adds nothing there)."""
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else float("nan")


def _nanmin(values: np.ndarray) -> float:
    """Min over the finite entries; NaN when there are none."""
    finite = values[np.isfinite(values)]
    return float(finite.min()) if finite.size else float("nan")


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing the mean of the ranks they span."""
    unique, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    return (last - (counts - 1) / 2.0)[inverse.ravel()]


def spearman(x, y) -> float:
    """Spearman's rank correlation: Pearson on average ranks. Pairs with a NaN are dropped; NaN when
    either side is constant or fewer than two pairs remain (claim (a), sections 4 and 5)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 2:
        return float("nan")
    rx, ry = _average_ranks(x), _average_ranks(y)
    dx, dy = rx - rx.mean(), ry - ry.mean()
    norm = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    return float((dx * dy).sum() / norm) if norm > 0 else float("nan")


def _rise_at(grid: np.ndarray, values: np.ndarray, p: float) -> float:
    """R(p) on a sorted grid; S is interpolated linearly in log p between the two neighbouring points."""
    if grid.size == 0 or not grid[0] <= p <= grid[-1]:
        return float("nan")
    rise = values[0] - values[-1]
    if not rise > NO_RISE:
        return float("nan")
    exact = np.flatnonzero(grid == p)
    # A grid point is read directly so that a NaN neighbour cannot leak into it through the slope.
    level = values[exact[0]] if exact.size else np.interp(np.log(p), np.log(grid), values)
    return float((level - values[-1]) / rise)


def rise_fraction(curve: pd.Series, p: float) -> float:
    """Rise fraction R(p) = (S(p) - S(p_max)) / (S(p_min) - S(p_max)) of a specialization curve S indexed
    by p (section 4): 0 at p_max, 1 at p_min, NaN without a rise or for p outside the grid."""
    curve = curve.sort_index()
    return _rise_at(curve.index.to_numpy(dtype=float), curve.to_numpy(dtype=float), float(p))


def _rise_problem(grid: np.ndarray, values: np.ndarray, p: float) -> str:
    """Why R(p) is undefined, in words ("" when it is defined)."""
    if grid.size == 0:
        return "no models"
    if not grid[0] <= p <= grid[-1]:
        return f"p = {p:g} lies outside the grid [{grid[0]:g}, {grid[-1]:g}]"
    if not values[0] - values[-1] > NO_RISE:
        return "S(p_min) - S(p_max) <= 1e-12: no rise"
    return ""


def _n_models(frame: pd.DataFrame) -> int:
    """Distinct (architecture, p, seed) in a table."""
    return int(len(frame[MODEL_KEYS].drop_duplicates())) if len(frame) else 0


# --- the bootstrap over seeds ------------------------------------------------------------------------------


def _seed_counts(seeds: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Multiplicity of every seed label: row 0 is the original data (each seed once), rows 1.. the resamples.
    One draw serves every statistic of the call, which keeps paired comparisons paired."""
    n = seeds.size
    counts = np.zeros((samples + 1, n))
    counts[0] = 1.0
    if n:
        draws = rng.integers(0, n, size=(samples, n))
        np.add.at(counts, (np.arange(1, samples + 1)[:, None], draws), 1.0)
    return counts


def _seed_matrix(frame: pd.DataFrame, rows: list[str], value: str, seeds: np.ndarray) -> pd.DataFrame:
    """Values laid out as one row per group (e.g. per p) and one column per seed label; NaN where missing."""
    if frame.empty:
        return pd.DataFrame(columns=seeds, dtype=float)
    return frame.groupby(rows + ["seed"])[value].mean().unstack("seed").reindex(columns=seeds)


def _resampled_means(matrix: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per resample (rows of counts) the seed-weighted mean of every group (rows of matrix): a seed drawn
    twice counts twice, a seed missing in a group adds nothing there; NaN where no drawn seed is present."""
    present = np.isfinite(matrix).astype(float)
    totals = counts @ np.where(present > 0, matrix, 0.0).T
    weights = counts @ present.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weights > 0, totals / np.where(weights > 0, weights, 1.0), np.nan)


def _interval(statistics: np.ndarray, confidence: float) -> tuple[float, float]:
    """Two-sided percentile interval of the resampled statistics (row 0, the original data, left out)."""
    resampled = statistics[1:]
    if resampled.size == 0 or not np.isfinite(resampled).any():
        return float("nan"), float("nan")
    low, high = np.nanpercentile(resampled, [100 * (1 - confidence) / 2, 100 * (1 + confidence) / 2])
    return float(low), float(high)


@dataclass
class Curve:
    """Specialization curve of one metric: the p grid and S(p) for the original data and every resample."""

    grid: np.ndarray
    values: np.ndarray  # (1 + resamples) x len(grid)
    n_models: int


def model_specialization(metrics: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per model of a metric, s = mean specialization of its two sub-networks (equation 8)."""
    rows = metrics[(metrics["metric"] == metric) & (metrics["architecture"] == architecture_of(metric))]
    return rows.groupby(MODEL_KEYS, as_index=False)["specialization"].mean()


def specialization_curve(metrics: pd.DataFrame, metric: str, seeds: np.ndarray, counts: np.ndarray) -> Curve:
    """S(p), the mean of s over seeds at every p of the metric's grid, for the data and every resample."""
    models = model_specialization(metrics, metric)
    matrix = _seed_matrix(models, ["p"], "specialization", seeds)
    grid = matrix.index.to_numpy(dtype=float)
    return Curve(grid, _resampled_means(matrix.to_numpy(dtype=float), counts), _n_models(models))


def _per_resample(function: Callable[[int], float], values: np.ndarray) -> np.ndarray:
    """A statistic evaluated on the original data (row 0 of values) and on every resample (the other rows)."""
    return np.array([function(index) for index in range(values.shape[0])], dtype=float)


# --- judging -----------------------------------------------------------------------------------------------


@dataclass
class Rule:
    """Which number is compared, how, and with what: e.g. ci_high <= -0.5."""

    bound: str  # "value", "ci_low" or "ci_high"
    operator: str  # "<=", ">" or ">="
    threshold: float

    def text(self) -> str:
        return f"holds if {self.bound} {self.operator} {self.threshold:g}"

    def holds(self, number: float) -> bool:
        compare = {"<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}[self.operator]
        return bool(np.isfinite(number) and compare(number, self.threshold))


def _row(claim: str, metric: str, statement: str, statistic: str, statistics: np.ndarray | float, rule: Rule,
         n_models: int, confidence: float, why_undefined: str = "", with_interval: bool = True) -> dict:
    """One output row: point value, interval, verdict and the reason for a verdict that could not be reached."""
    statistics = np.atleast_1d(np.asarray(statistics, dtype=float))
    value = float(statistics[0])
    low, high = _interval(statistics, confidence) if with_interval else (float("nan"), float("nan"))
    decisive = {"value": value, "ci_low": low, "ci_high": high}[rule.bound]
    notes = []
    if not np.isfinite(value):
        notes.append(f"not evaluable: {why_undefined or 'statistic is NaN'}")
    elif not np.isfinite(decisive):
        notes.append(f"not evaluable: {rule.bound} is NaN")
    undefined = int((~np.isfinite(statistics[1:])).sum()) if with_interval else 0
    if undefined and np.isfinite(value):
        notes.append(f"{undefined} of {statistics.size - 1} resamples undefined")
    return {
        "claim": claim, "metric": metric, "statement": statement, "statistic": statistic, "value": value,
        "ci_low": low, "ci_high": high, "threshold": rule.threshold, "rule": rule.text(),
        "result": "holds" if rule.holds(decisive) else "fails", "n_models": int(n_models), "detail": "; ".join(notes),
    }


# --- the claims --------------------------------------------------------------------------------------------


def claim_rises(metric: str, curve: Curve, settings: dict) -> dict:
    """(a) Each measure rises as p falls (section 4; section 5: "increases monotonically")."""
    statistics = _per_resample(lambda i: spearman(curve.grid, curve.values[i]), curve.values)
    why = "fewer than two p, or S(p) constant" if np.isfinite(curve.values[0]).sum() else "no models"
    return _row("a", metric, "Specialization rises as p falls (sections 4, 5)", "Spearman rho(p, S)", statistics,
                Rule("ci_high", "<=", -settings["min_rank_correlation"]), curve.n_models, settings["confidence"], why)


def claim_late_rise(metric: str, curve: Curve, settings: dict) -> dict:
    """(b) Bottleneck and correlation stay near their p = 1 level until p < 0.01, Q > 0.49 (section 4)."""
    late_p, grid = settings["late_p"], curve.grid
    late = grid[(grid >= late_p) & (grid < grid[-1])] if grid.size else grid

    def statistic(index: int) -> float:
        return _nanmax(np.array([_rise_at(grid, curve.values[index], p) for p in late]))

    # late_p itself may lie below the grid here: only the grid points above it matter.
    why = "no models" if not grid.size else _rise_problem(grid, curve.values[0], grid[-1])
    if not why and not late.size:
        why = f"no grid point with {late_p:g} <= p < p_max"
    statement = f"Stays near its p = 1 level until p < {late_p:g}, Q > {modularity_analytic(late_p):.2f} (section 4)"
    return _row("b", metric, statement,
                f"max R(p) over grid points {late_p:g} <= p < p_max", _per_resample(statistic, curve.values),
                Rule("ci_high", "<=", settings["near_level"]), curve.n_models, settings["confidence"], why)


def claim_mask_earlier(curves: dict[str, Curve], settings: dict) -> dict:
    """(c1) The weight mask rises earlier than the bottleneck and correlation metrics (section 4)."""
    late_p = settings["late_p"]
    mask, others = curves[WEIGHT_MASK], {m: c for m, c in curves.items() if m in EARLIER_THAN}

    def statistic(index: int) -> float:
        other = np.max([_rise_at(c.grid, c.values[index], late_p) for c in others.values()])  # NaN propagates
        return _rise_at(mask.grid, mask.values[index], late_p) - other

    problems = [f"{m}: {_rise_problem(c.grid, c.values[0], late_p)}" for m, c in {WEIGHT_MASK: mask, **others}.items()
                if _rise_problem(c.grid, c.values[0], late_p)]
    others_text = " / ".join(others)
    return _row("c1", WEIGHT_MASK, "The weight mask rises earlier than the other measures (section 4)",
                f"R_weight_mask({late_p:g}) - max R({late_p:g}) of {others_text}",
                _per_resample(statistic, mask.values), Rule("ci_low", ">", 0.0),
                mask.n_models + sum(c.n_models for c in others.values()), settings["confidence"], "; ".join(problems))


def claim_mask_mostly_late(curve: Curve, settings: dict) -> dict:
    """(c2) ... but the weight mask rises mostly for Q > 0.4, p < 0.11 (section 4)."""
    p = settings["weight_mask_p"]
    statistics = _per_resample(lambda i: _rise_at(curve.grid, curve.values[i], p), curve.values)
    statement = f"The weight mask rises mostly for p < {p:g}, Q > {modularity_analytic(p):.2f} (section 4)"
    return _row("c2", WEIGHT_MASK, statement, f"R({p:g})",
                statistics, Rule("ci_high", "<=", settings["mostly"]), curve.n_models, settings["confidence"],
                _rise_problem(curve.grid, curve.values[0], p))


def claim_little_at_q(metric: str, curve: Curve, settings: dict) -> dict:
    """(d) At Q = 0.35 every measure shows little to no specialization (section 4)."""
    q = settings["q_little"]
    p = sparsity_of_modularity(q)
    statistics = _per_resample(lambda i: _rise_at(curve.grid, curve.values[i], p), curve.values)
    return _row("d", metric, f"Little to no specialization at Q = {q:g} (section 4)", f"R(p of Q = {q:g}) = R({p:.4g})",
                statistics, Rule("ci_high", "<=", settings["near_level"]), curve.n_models, settings["confidence"],
                _rise_problem(curve.grid, curve.values[0], p))


def _missing_accuracy(training: pd.DataFrame) -> str:
    """Models whose test accuracy is missing, in words ("" when none): such a table cannot vouch for them."""
    missing = int(training["test_accuracy"].isna().sum())
    return f"{missing} models have no test accuracy" if missing else ""


def claim_mean_accuracy(training: pd.DataFrame, seeds: np.ndarray, counts: np.ndarray, settings: dict) -> dict:
    """(e1) Every (architecture, p) performs well on the global task on average over seeds (A.4, fig. 4)."""
    matrix = _seed_matrix(training, ["architecture", "p"], "test_accuracy", seeds).to_numpy(dtype=float)
    means = _resampled_means(matrix, counts)
    statistics = np.array([_nanmin(row) for row in means]) if matrix.size else np.full(counts.shape[0], np.nan)
    missing = _missing_accuracy(training)
    if missing:
        statistics[0] = np.nan
    return _row("e1", "", "Every model performs well: mean test accuracy per (architecture, p) (A.4)",
                "min over (architecture, p) of mean test accuracy", statistics,
                Rule("value", ">=", settings["min_mean_accuracy"]), _n_models(training), settings["confidence"],
                missing or "no models")


def claim_worst_model(training: pd.DataFrame, settings: dict) -> dict:
    """(e2) Every single trained model performs well on the global task (A.4, fig. 4)."""
    accuracy = training["test_accuracy"].to_numpy(dtype=float)
    missing = _missing_accuracy(training)
    value = float("nan") if missing or accuracy.size == 0 else float(accuracy.min())
    threshold = settings["min_model_accuracy"]
    row = _row("e2", "", "Every model performs well: worst single model (A.4)", "min test accuracy over models",
               value, Rule("value", ">=", threshold), _n_models(training), settings["confidence"],
               missing or "no models", with_interval=False)
    below = f"{int((accuracy < threshold).sum())} models below {threshold:g}"
    row["detail"] = "; ".join(filter(None, [below, row["detail"]]))
    return row


def mask_accuracy_gap(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per model, d = mean own-digit accuracy of the trained masks minus that of the supermask control (3.2)."""
    def per_model(metric: str) -> pd.Series:
        rows = metrics[(metrics["metric"] == metric) & (metrics["architecture"] == architecture_of(metric))]
        return rows.groupby(MODEL_KEYS)["accuracy_on_own_digit"].mean()

    gap = (per_model(WEIGHT_MASK) - per_model(CONTROL)).rename("gap").dropna()
    return gap.reset_index()


def claim_beats_supermask(metrics: pd.DataFrame, seeds: np.ndarray, counts: np.ndarray, settings: dict) -> dict:
    """(f) Masks found on trained networks beat masks found on untrained ones, supermasks (section 3.2)."""
    gaps = mask_accuracy_gap(metrics)
    matrix = _seed_matrix(gaps, ["p"], "gap", seeds).to_numpy(dtype=float)
    means = _resampled_means(matrix, counts)
    statistics = np.array([_nanmin(row) for row in means]) if matrix.size else np.full(counts.shape[0], np.nan)
    return _row("f", WEIGHT_MASK, "Trained masks beat the supermask control (section 3.2)",
                "min over p of mean accuracy gap, trained - control mask", statistics,
                Rule("ci_low", ">", settings["supermask_margin"]), _n_models(gaps), settings["confidence"],
                "no model has both mask accuracies")


def claim_modularity(modularity: pd.DataFrame, settings: dict) -> dict:
    """(g) Q of every trained adjacency (equation 4) equals equation (5) (section 2.3, A.1)."""
    error = (modularity["Q_measured"] - modularity["Q_analytic"]).abs().to_numpy(dtype=float)
    missing = int((~np.isfinite(error)).sum())
    value = float(error.max()) if error.size and not missing else float("nan")
    why = f"{missing} models lack Q_measured or Q_analytic" if missing else "no models"
    return _row("g", "", "Q of the trained adjacency equals equation (5) (section 2.3)",
                "max |Q_measured - Q_analytic|", value, Rule("value", "<=", settings["q_tolerance"]),
                _n_models(modularity), settings["confidence"], why, with_interval=False)


# --- entry point -------------------------------------------------------------------------------------------


def present_metrics(metrics: pd.DataFrame, candidates: tuple[str, ...]) -> list[str]:
    """The candidate metrics with rows on their architecture, in the order given."""
    found = set(metrics.loc[metrics["architecture"] == metrics["metric"].map(architecture_of), "metric"])
    return [metric for metric in candidates if metric in found]


def drop_poor_models(metrics: pd.DataFrame) -> pd.DataFrame:
    """Metric rows of models that do not perform well, dropped (A.4: specialization of a poor model means little)."""
    return metrics[~metrics["performs_well"].eq(False)]


def keep_selected(metrics: pd.DataFrame) -> pd.DataFrame:
    """Metric rows outside the best-k selection (column ``selected``, where the table has it), dropped."""
    return metrics[metrics["selected"].astype(bool)] if "selected" in metrics else metrics


def check_claims(metrics: pd.DataFrame, training: pd.DataFrame, modularity: pd.DataFrame, settings: dict,
                 exclude_poor_models: bool = False) -> pd.DataFrame:
    """Every claim of the paper checked on a finished study: one row per claim and metric, columns COLUMNS.

    metrics, training and modularity are the study's tidy tables; settings the config section ``claims``.
    Only the ``selected`` metric rows count (best k of the seeds, aggregate.best_k_selection), and
    exclude_poor_models drops the metric rows with performs_well False; neither touches (e1) and (e2),
    which judge every trained model itself (A.4). A rising metric, or the control masks, without rows on its
    architecture omits its claims; a claim that cannot be evaluated fails, with the reason in ``detail``.
    """
    rising = present_metrics(metrics, RISING_METRICS)  # decided before exclusion: excluding cannot hide a claim
    has_control = bool(present_metrics(metrics, (CONTROL,)))
    used = keep_selected(drop_poor_models(metrics) if exclude_poor_models else metrics)
    seeds = np.array(sorted(set(metrics["seed"]) | set(training["seed"])))
    counts = _seed_counts(seeds, int(settings["bootstrap_samples"]), np.random.default_rng(settings["seed"]))
    curves = {metric: specialization_curve(used, metric, seeds, counts) for metric in rising}

    rows = [claim_rises(metric, curves[metric], settings) for metric in rising]
    rows += [claim_late_rise(metric, curves[metric], settings) for metric in rising if metric in LATE_METRICS]
    if WEIGHT_MASK in curves and any(metric in curves for metric in EARLIER_THAN):
        rows.append(claim_mask_earlier(curves, settings))
    if WEIGHT_MASK in curves:
        rows.append(claim_mask_mostly_late(curves[WEIGHT_MASK], settings))
    rows += [claim_little_at_q(metric, curves[metric], settings) for metric in rising]
    rows.append(claim_mean_accuracy(training, seeds, counts, settings))
    rows.append(claim_worst_model(training, settings))
    if WEIGHT_MASK in rising and has_control:
        rows.append(claim_beats_supermask(used, seeds, counts, settings))
    rows.append(claim_modularity(modularity, settings))
    return pd.DataFrame(rows, columns=COLUMNS)
