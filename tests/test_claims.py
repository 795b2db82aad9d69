"""The claim checks (extreme_sparsity.claims) on synthetic study tables whose answers are known by hand."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from extreme_sparsity.claims import CLAIM_IDS, COLUMNS, check_claims, rise_fraction, spearman
from extreme_sparsity.metrics import architecture_of

GRID = [float(f"{p:.4g}") for p in np.logspace(-4, 0, 10)]  # 1e-4, 2.783e-4, ..., 0.01668, ..., 0.3594, 1
SETTINGS = {
    "bootstrap_samples": 200, "confidence": 0.95, "seed": 0, "min_rank_correlation": 0.5, "near_level": 0.25,
    "late_p": 0.01, "weight_mask_p": 0.11, "mostly": 0.5, "q_little": 0.35, "min_mean_accuracy": 0.85,
    "min_model_accuracy": 0.80, "supermask_margin": 0.0, "q_tolerance": 0.001,
}


def log_linear(p: float) -> float:
    """Rises linearly in log p from 0 at p = 1 to 1 at p = 1e-4: R(p) = -log10(p) / 4 exactly."""
    return -math.log10(p) / 4


def late(p: float) -> float:
    """Flat at 0 down to p = 0.01, then linear in log p up to 1 at p = 1e-4."""
    return 0.0 if p >= 0.01 else math.log10(0.01 / p) / 2


def early(p: float) -> float:
    """Linear in log p from 0 at p = 1, saturating at 1 from p = 0.1 downwards."""
    return min(1.0, -math.log10(p))


def make_tables(curves: dict[str, Callable[[float], float]], noise: float = 0.0, n_seeds: int = 5,
                p_grid: list[float] = GRID, accuracy: Callable[[str, float, int], float] = lambda a, p, s: 0.95,
                mask_accuracy: dict[str, Callable[[float], float]] | None = None, q_offset: float = 0.0,
                poor: Callable[[str, float, int], bool] = lambda a, p, s: False, seed: int = 1):
    """metrics, training and modularity tables of a study whose specialization follows the given curves.

    Each sub-network's specialization is curve(p) plus Gaussian noise; accuracy gives each model's test accuracy;
    mask_accuracy the own-digit accuracy of weight_mask / weight_mask_control; poor flags models that do not
    perform well; Q_measured is the analytic Q plus q_offset.
    """
    rng = np.random.default_rng(seed)
    mask_accuracy = mask_accuracy or {}
    metric_rows, models = [], set()
    for metric, curve in curves.items():
        architecture = architecture_of(metric)
        for p in p_grid:
            for seed_label in range(n_seeds):
                models.add((architecture, p, seed_label))
                for sub_network in (0, 1):
                    own = mask_accuracy.get(metric)
                    metric_rows.append({
                        "architecture": architecture, "p": p, "seed": seed_label, "metric": metric,
                        "sub_network": sub_network, "specialization": curve(p) + noise * rng.normal(),
                        "accuracy_on_own_digit": own(p) if own else np.nan,
                        "performs_well": not poor(architecture, p, seed_label),
                    })
    models = sorted(models or {("plain", p, s) for p in p_grid for s in range(n_seeds)})
    training = pd.DataFrame([
        {"architecture": a, "p": p, "seed": s, "test_accuracy": accuracy(a, p, s), "performs_well": not poor(a, p, s)}
        for a, p, s in models
    ])
    q = [(1 - p) / (2 * (1 + p)) for _, p, _ in models]
    modularity = pd.DataFrame({
        "architecture": [m[0] for m in models], "p": [m[1] for m in models], "seed": [m[2] for m in models],
        "Q_measured": np.add(q, q_offset), "Q_analytic": q,
    })
    return pd.DataFrame(metric_rows), training, modularity


def check(tables, exclude_poor_models: bool = False, **settings) -> pd.DataFrame:
    return check_claims(*tables, {**SETTINGS, **settings}, exclude_poor_models=exclude_poor_models)


def row(result: pd.DataFrame, claim: str, metric: str = "") -> pd.Series:
    rows = result[(result["claim"] == claim) & (result["metric"] == metric)]
    assert len(rows) == 1, result[["claim", "metric"]]
    return rows.iloc[0]


ALL_CURVES = {"bottleneck": late, "weight_mask": log_linear, "correlation": late, "cka": log_linear,
              "weight_mask_control": lambda p: 0.0}
MASKS = {"weight_mask": lambda p: 0.9, "weight_mask_control": lambda p: 0.6}


@pytest.fixture(scope="module")
def paper_like() -> pd.DataFrame:
    """A study that behaves as the paper says, with a little noise."""
    return check(make_tables(ALL_CURVES, noise=0.02, mask_accuracy=MASKS))


# --- helpers -----------------------------------------------------------------------------------------------


def test_rise_fraction_by_hand():
    curve = pd.Series({1.0: 0.0, 0.001: 1.0, 0.01: 0.6})  # unsorted on purpose
    assert rise_fraction(curve, 0.001) == 1.0
    assert rise_fraction(curve, 1.0) == 0.0
    assert rise_fraction(curve, 0.01) == pytest.approx(0.6)
    assert rise_fraction(curve, 0.1) == pytest.approx(0.3)  # halfway in log p between 0.01 (0.6) and 1 (0)
    assert rise_fraction(curve, 10 ** -2.5) == pytest.approx(0.8)  # halfway between 0.001 (1) and 0.01 (0.6)
    assert math.isnan(rise_fraction(curve, 1e-4))  # outside the grid
    assert math.isnan(rise_fraction(pd.Series({0.01: 0.2, 1.0: 0.2}), 0.1))  # no rise
    assert math.isnan(rise_fraction(pd.Series({0.01: 0.1, 1.0: 0.2}), 0.1))  # a fall is no rise either
    # S(p_min) = 3, S(p_max) = 1: R = (S - 1) / 2
    assert rise_fraction(pd.Series({0.01: 3.0, 0.1: 2.5, 1.0: 1.0}), 0.1) == pytest.approx(0.75)


def test_spearman_by_hand_with_ties():
    # ranks of y: 1, 2, 3.5, 5, 3.5; centred: x -2 -1 0 1 2, y -2 -1 .5 2 .5 -> 8 / sqrt(10 * 9.5)
    assert spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) == pytest.approx(8 / math.sqrt(95))
    assert spearman([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    assert spearman([1, 10, 100], [1, 2, 1000]) == pytest.approx(1.0)  # ranks only
    assert math.isnan(spearman([1, 2, 3], [4, 4, 4]))
    assert math.isnan(spearman([1], [2]))


# --- the output ----------------------------------------------------------------------------------------------


def test_one_row_per_claim_with_the_documented_columns(paper_like):
    assert list(paper_like.columns) == COLUMNS
    assert set(paper_like["claim"]) == set(CLAIM_IDS)
    expected = [("a", "bottleneck"), ("a", "weight_mask"), ("a", "correlation"), ("b", "bottleneck"),
                ("b", "correlation"), ("c1", "weight_mask"), ("c2", "weight_mask"), ("d", "bottleneck"),
                ("d", "weight_mask"), ("d", "correlation"), ("e1", ""), ("e2", ""), ("f", "weight_mask"), ("g", "")]
    assert list(zip(paper_like["claim"], paper_like["metric"])) == expected
    assert set(paper_like["result"]) <= {"holds", "fails"}
    assert (paper_like["n_models"] > 0).all()


def test_a_paper_like_study_satisfies_every_claim(paper_like):
    failing = paper_like[paper_like["result"] != "holds"]
    assert failing.empty, failing.to_string()


def test_noise_in_the_specialization_widens_the_intervals(paper_like):
    bootstrapped = paper_like[paper_like["claim"].isin(["a", "b", "c1", "c2", "d", "e1", "f"])]
    assert (bootstrapped["ci_low"] <= bootstrapped["ci_high"]).all()
    noisy = paper_like[paper_like["claim"].isin(["b", "c1", "c2", "d"])]  # accuracies are noiseless here
    assert (noisy["ci_high"] - noisy["ci_low"] > 0).all()
    assert paper_like.set_index("claim").loc[["e2", "g"], ["ci_low", "ci_high"]].isna().all().all()


# --- (a) ---------------------------------------------------------------------------------------------------


def test_a_holds_for_a_rising_curve_and_fails_for_a_falling_one():
    result = check(make_tables({"bottleneck": log_linear, "weight_mask": lambda p: 1 - log_linear(p)}))
    rising, falling = row(result, "a", "bottleneck"), row(result, "a", "weight_mask")
    assert rising["value"] == pytest.approx(-1.0) and rising["result"] == "holds"
    assert rising["threshold"] == -0.5 and rising["rule"] == "holds if ci_high <= -0.5"
    assert falling["value"] == pytest.approx(1.0) and falling["result"] == "fails"


def test_a_fails_when_noise_hides_the_trend():
    flat = row(check(make_tables({"correlation": lambda p: 0.0}, noise=0.05)), "a", "correlation")
    assert flat["ci_high"] > -0.5 and flat["result"] == "fails"


def test_a_is_decided_by_the_interval_not_the_point_value():
    weak = row(check(make_tables({"bottleneck": lambda p: 0.1 * log_linear(p)}, noise=0.08)), "a", "bottleneck")
    assert weak["value"] <= -0.5 < weak["ci_high"]  # a weak rise drowned in noise: seeds disagree
    assert weak["result"] == "fails"


def test_a_constant_curve_cannot_be_evaluated_and_fails():
    flat = row(check(make_tables({"correlation": lambda p: 0.3})), "a", "correlation")
    assert math.isnan(flat["value"]) and flat["result"] == "fails" and "not evaluable" in flat["detail"]


# --- (b) ---------------------------------------------------------------------------------------------------


def test_b_holds_for_a_curve_flat_until_p_001():
    result = check(make_tables({"bottleneck": late, "correlation": late}, noise=0.01))
    for metric in ("bottleneck", "correlation"):
        late_row = row(result, "b", metric)
        assert late_row["value"] == pytest.approx(0.0, abs=0.03)
        assert late_row["ci_high"] <= 0.25 and late_row["result"] == "holds"


def test_b_fails_for_a_curve_rising_from_p_1_with_the_hand_computed_rise():
    result = check(make_tables({"bottleneck": log_linear}))
    early_row = row(result, "b", "bottleneck")
    # the largest R among grid points 0.01 <= p < 1 is at the smallest of them, p = 0.01668
    assert early_row["value"] == pytest.approx(-math.log10(0.01668) / 4)
    assert early_row["result"] == "fails"


def test_b_takes_the_largest_rise_between_p_001_and_p_max():
    bump = {1e-4: 1.0, 0.01: 0.0, 0.1: 0.4, 1.0: 0.0}
    result = check(make_tables({"bottleneck": bump.get}, p_grid=list(bump)))
    assert row(result, "b", "bottleneck")["value"] == pytest.approx(0.4)


def test_b_holds_at_the_threshold_itself():
    level = {1e-4: 1.0, 0.01: 0.25, 1.0: 0.0}  # R(0.01) = 0.25, exact in binary
    at_threshold = row(check(make_tables({"correlation": level.get}, p_grid=list(level))), "b", "correlation")
    assert at_threshold["value"] == at_threshold["ci_high"] == 0.25 and at_threshold["result"] == "holds"


def test_b_reads_r_at_p_001_when_it_is_a_grid_point():
    grid = [1e-4, 1e-3, 0.01, 0.1, 1.0]
    assert row(check(make_tables({"correlation": log_linear}, p_grid=grid)), "b", "correlation")["value"] == (
        pytest.approx(0.5))


# --- (c1) and (c2) -----------------------------------------------------------------------------------------


def test_c1_holds_when_the_weight_mask_rises_earlier_with_the_hand_computed_gap():
    result = check(make_tables({"weight_mask": log_linear, "bottleneck": late}))
    # 0.01 is halfway in log p between 0.005995 (late: log10(0.01 / 0.005995) / 2) and 0.01668 (late: 0)
    late_at_001 = math.log10(0.01 / 0.005995) / 2 / 2
    earlier = row(result, "c1", "weight_mask")
    assert earlier["value"] == pytest.approx(0.5 - late_at_001, abs=1e-3)
    assert earlier["result"] == "holds"


def test_c1_compares_with_the_larger_of_the_other_measures():
    result = check(make_tables({"weight_mask": log_linear, "bottleneck": late, "correlation": early}))
    earlier = row(result, "c1", "weight_mask")
    assert earlier["value"] == pytest.approx(0.5 - 1.0) and earlier["result"] == "fails"


def test_c1_fails_when_the_weight_mask_rises_late():
    result = check(make_tables({"weight_mask": late, "correlation": log_linear}, noise=0.01))
    earlier = row(result, "c1", "weight_mask")
    assert earlier["value"] < 0 and earlier["ci_low"] <= 0 and earlier["result"] == "fails"


def test_c1_is_decided_by_the_lower_bound():
    curves = {"weight_mask": lambda p: 0.5 * late(p) + 0.02 * log_linear(p), "bottleneck": lambda p: 0.5 * late(p)}
    slight = row(check(make_tables(curves, noise=0.05)), "c1", "weight_mask")
    assert slight["ci_low"] <= 0 < slight["value"]  # a slight lead that the seeds do not agree on
    assert slight["result"] == "fails" and slight["rule"] == "holds if ci_low > 0"


def test_c1_fails_when_another_measure_has_no_rise():
    result = check(make_tables({"weight_mask": log_linear, "bottleneck": late, "correlation": lambda p: 0.2}))
    undefined = row(result, "c1", "weight_mask")
    assert math.isnan(undefined["value"]) and undefined["result"] == "fails"
    assert "correlation: S(p_min) - S(p_max) <= 1e-12: no rise" in undefined["detail"]


def test_c2_holds_for_a_log_linear_mask_and_fails_for_an_early_one():
    grid = [1e-4, 1e-3, 0.01, 0.11, 0.3, 1.0]
    mostly_late = row(check(make_tables({"weight_mask": log_linear}, p_grid=grid)), "c2", "weight_mask")
    assert mostly_late["value"] == pytest.approx(-math.log10(0.11) / 4) and mostly_late["result"] == "holds"
    too_early = row(check(make_tables({"weight_mask": early}, p_grid=grid, noise=0.01)), "c2", "weight_mask")
    assert too_early["value"] == pytest.approx(-math.log10(0.11), abs=0.03)
    assert too_early["ci_high"] > 0.5 and too_early["result"] == "fails"


# --- (d) ---------------------------------------------------------------------------------------------------


def test_d_reads_the_rise_at_the_p_of_q_035():
    p = 0.3 / 1.7  # Q = 0.35 in equation (5); between grid points 0.1292 and 0.3594
    result = check(make_tables({"bottleneck": log_linear, "correlation": early}))
    little = row(result, "d", "bottleneck")
    assert little["value"] == pytest.approx(-math.log10(p) / 4) and little["result"] == "holds"
    much = row(result, "d", "correlation")
    assert much["value"] == pytest.approx(-math.log10(p)) and much["result"] == "fails"


def test_d_fails_when_q_035_lies_outside_the_grid():
    result = check(make_tables({"bottleneck": log_linear}, p_grid=[1e-4, 1e-3, 0.01, 0.1]))
    outside = row(result, "d", "bottleneck")
    assert outside["result"] == "fails" and "outside the grid" in outside["detail"]


# --- (e1) and (e2) -----------------------------------------------------------------------------------------


def test_e1_holds_for_good_models_and_fails_for_a_poor_setting():
    good = row(check(make_tables({"bottleneck": log_linear})), "e1")
    assert good["value"] == pytest.approx(0.95) and good["result"] == "holds"
    assert good["ci_low"] == pytest.approx(0.95) and good["ci_high"] == pytest.approx(0.95)

    def accuracy(architecture, p, seed):  # at p = 1e-4 the seeds average 0.8
        return 0.7 + 0.05 * seed if p == 1e-4 else 0.95

    poor = row(check(make_tables({"bottleneck": log_linear}, accuracy=accuracy)), "e1")
    assert poor["value"] == pytest.approx(0.8) and poor["result"] == "fails"
    assert poor["ci_low"] < 0.8 < poor["ci_high"]


def test_e2_fails_on_one_model_below_the_threshold_and_counts_it():
    def accuracy(architecture, p, seed):
        return 0.79 if (p, seed) == (1.0, 3) else 0.9

    result = check(make_tables({"bottleneck": log_linear}, accuracy=accuracy))
    worst = row(result, "e2")
    assert worst["value"] == pytest.approx(0.79) and worst["result"] == "fails"
    assert worst["detail"].startswith("1 models below 0.8")
    assert math.isnan(worst["ci_low"]) and math.isnan(worst["ci_high"])
    assert row(result, "e1")["result"] == "holds"  # one poor model barely moves the mean
    fine = row(check(make_tables({"bottleneck": log_linear}, accuracy=lambda a, p, s: 0.8)), "e2")
    assert fine["value"] == pytest.approx(0.8) and fine["result"] == "holds" and fine["detail"].startswith("0 models")


def test_e1_e2_fail_when_an_accuracy_is_missing():
    metrics, training, modularity = make_tables({"bottleneck": log_linear})
    training.loc[0, "test_accuracy"] = np.nan
    result = check((metrics, training, modularity))
    for claim in ("e1", "e2"):
        assert row(result, claim)["result"] == "fails"
        assert "1 models have no test accuracy" in row(result, claim)["detail"]


# --- (f) ---------------------------------------------------------------------------------------------------


def test_f_holds_when_trained_masks_win_with_the_smallest_gap_over_p():
    masks = {"weight_mask": lambda p: 0.9, "weight_mask_control": lambda p: 0.5 + 0.3 * p}  # gap 0.4 - 0.3 p
    result = check(make_tables({"weight_mask": log_linear, "weight_mask_control": log_linear}, mask_accuracy=masks))
    beats = row(result, "f", "weight_mask")
    assert beats["value"] == pytest.approx(0.1) and beats["result"] == "holds"


def test_f_fails_when_the_control_is_as_good():
    masks = {"weight_mask": lambda p: 0.9, "weight_mask_control": lambda p: 0.95}
    result = check(make_tables({"weight_mask": log_linear, "weight_mask_control": log_linear}, mask_accuracy=masks))
    beats = row(result, "f", "weight_mask")
    assert beats["value"] == pytest.approx(-0.05) and beats["result"] == "fails"


def test_f_averages_the_two_sub_networks_of_a_model():
    masks = {"weight_mask": lambda p: 0.9, "weight_mask_control": lambda p: 0.75}
    metrics, training, modularity = make_tables({"weight_mask": log_linear, "weight_mask_control": log_linear},
                                                mask_accuracy=masks)
    second = (metrics["metric"] == "weight_mask") & (metrics["sub_network"] == 1)
    metrics.loc[second, "accuracy_on_own_digit"] = 0.7  # the model's masks average 0.8
    beats = row(check((metrics, training, modularity)), "f", "weight_mask")
    assert beats["value"] == pytest.approx(0.05)


# --- (g) ---------------------------------------------------------------------------------------------------


def test_g_holds_for_the_analytic_q_and_fails_when_off_by_2e_3():
    exact = row(check(make_tables({"bottleneck": log_linear})), "g")
    assert exact["value"] == pytest.approx(0.0, abs=1e-12) and exact["result"] == "holds"
    off = row(check(make_tables({"bottleneck": log_linear}, q_offset=2e-3)), "g")
    assert off["value"] == pytest.approx(2e-3) and off["result"] == "fails"
    assert math.isnan(off["ci_low"]) and off["rule"] == "holds if value <= 0.001"


def test_g_fails_when_a_measured_q_is_missing():
    metrics, training, modularity = make_tables({"bottleneck": log_linear})
    modularity.loc[3, "Q_measured"] = np.nan
    missing = row(check((metrics, training, modularity)), "g")
    assert missing["result"] == "fails" and "1 models lack Q_measured" in missing["detail"]


# --- exclusion, determinism, degenerate tables -------------------------------------------------------------


def test_excluding_poor_models_touches_the_metric_claims_but_not_e1_e2():
    def poor(architecture, p, seed):
        return seed == 0

    def accuracy(architecture, p, seed):
        return 0.5 if seed == 0 else 0.95

    clean = make_tables({"bottleneck": late}, n_seeds=4)
    tables = make_tables({"bottleneck": late}, n_seeds=4, poor=poor, accuracy=accuracy)
    metrics = tables[0].copy()
    garbage = (metrics["seed"] == 0) & (metrics["p"] >= 0.01) & (metrics["p"] < 1)
    metrics.loc[garbage, "specialization"] = 2.0  # the poor models seem to specialize early
    kept = check((metrics, *tables[1:]), exclude_poor_models=True)
    kept_all = check((metrics, *tables[1:]))
    reference = check((clean[0][clean[0]["seed"] != 0], *clean[1:]))

    for claim in ("a", "b", "d"):
        assert row(kept, claim, "bottleneck")["value"] == pytest.approx(row(reference, claim, "bottleneck")["value"])
        assert row(kept, claim, "bottleneck")["n_models"] == 30
        assert row(kept_all, claim, "bottleneck")["n_models"] == 40
    assert row(kept, "b", "bottleneck")["result"] == "holds"
    assert row(kept_all, "b", "bottleneck")["value"] == pytest.approx(0.5)  # S = 2 / 4 before p = 0.01
    assert row(kept_all, "b", "bottleneck")["result"] == "fails"
    for claim, value in (("e1", (0.5 + 3 * 0.95) / 4), ("e2", 0.5)):  # the poor models still count here
        assert row(kept, claim)["value"] == row(kept_all, claim)["value"] == pytest.approx(value)
        assert row(kept, claim)["n_models"] == 40 and row(kept, claim)["result"] == "fails"


def test_excluding_every_model_of_a_metric_fails_its_claims_without_raising():
    tables = make_tables({"bottleneck": late, "correlation": late}, poor=lambda a, p, s: a == "bottleneck")
    result = check(tables, exclude_poor_models=True)
    for claim in ("a", "b", "d"):
        gone = row(result, claim, "bottleneck")
        assert gone["result"] == "fails" and gone["n_models"] == 0 and "not evaluable" in gone["detail"]


def test_the_bootstrap_is_deterministic_for_a_seed():
    tables = make_tables({"bottleneck": late, "weight_mask": log_linear}, noise=0.05)
    first, again, other = check(tables, seed=7), check(tables, seed=7), check(tables, seed=8)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["ci_low"].dropna(), other["ci_low"].dropna())
    pd.testing.assert_series_equal(first["value"], other["value"])


def test_a_noiseless_table_gives_intervals_of_zero_width_around_the_value():
    result = check(make_tables(ALL_CURVES, mask_accuracy=MASKS))
    bootstrapped = result.dropna(subset=["ci_low"])
    assert set(bootstrapped["claim"]) == {"a", "b", "c1", "c2", "d", "e1", "f"}
    assert np.allclose(bootstrapped["ci_low"], bootstrapped["value"], atol=1e-12)
    assert np.allclose(bootstrapped["ci_high"], bootstrapped["value"], atol=1e-12)


def test_missing_metrics_omit_their_rows():
    no_correlation = check(make_tables({"bottleneck": late, "weight_mask": log_linear}))
    assert "correlation" not in set(no_correlation["metric"])
    assert "f" not in set(no_correlation["claim"])  # no control masks

    mask_only = check(make_tables({"weight_mask": log_linear, "weight_mask_control": log_linear}, mask_accuracy=MASKS))
    assert list(mask_only["claim"]) == ["a", "c2", "d", "e1", "e2", "f", "g"]

    no_mask = check(make_tables({"correlation": late, "weight_mask_control": log_linear}, mask_accuracy=MASKS))
    assert not {"c1", "c2", "f"} & set(no_mask["claim"])

    unrelated = check(make_tables({"cka": log_linear}))
    assert list(unrelated["claim"]) == ["e1", "e2", "g"]


def test_a_metric_on_the_wrong_architecture_is_not_counted():
    metrics, training, modularity = make_tables({"correlation": log_linear})
    moved = metrics.assign(architecture="bottleneck")
    assert "correlation" not in set(check((moved, training, modularity))["metric"])
    stray = moved.assign(specialization=1.0)  # correlation rows on the bottleneck architecture must be ignored
    mixed = check((pd.concat([metrics, stray], ignore_index=True), training, modularity))
    assert row(mixed, "b", "correlation")["value"] == pytest.approx(-math.log10(0.01668) / 4)
    assert row(mixed, "b", "correlation")["n_models"] == 50


# --- best k of n models and the loss-based bottleneck metric ------------------------------------------------


def test_only_selected_rows_count_in_the_metric_claims_but_not_in_e1_e2():
    def accuracy(architecture, p, seed):
        return 0.5 if seed == 0 else 0.95

    clean = make_tables({"bottleneck": late, "weight_mask": log_linear}, n_seeds=4)
    metrics, training, modularity = make_tables({"bottleneck": late, "weight_mask": log_linear}, n_seeds=4,
                                                accuracy=accuracy)
    left_out = (metrics["seed"] == 0) & (metrics["metric"] == "bottleneck")
    metrics.loc[left_out & (metrics["p"] >= 0.01) & (metrics["p"] < 1), "specialization"] = 2.0
    selected = metrics.assign(selected=~left_out)
    result, all_counted = check((selected, training, modularity)), check((metrics, training, modularity))
    reference = check((clean[0][~left_out], *clean[1:]))
    for claim, metric, n_models in (("a", "bottleneck", 30), ("b", "bottleneck", 30), ("d", "bottleneck", 30),
                                    ("a", "weight_mask", 40), ("d", "weight_mask", 40)):
        assert row(result, claim, metric)["value"] == pytest.approx(row(reference, claim, metric)["value"])
        assert row(result, claim, metric)["n_models"] == n_models
    assert row(result, "b", "bottleneck")["result"] == "holds"
    assert row(all_counted, "b", "bottleneck")["result"] == "fails"
    for claim in ("e1", "e2"):  # every trained model is still judged
        assert row(result, claim)["value"] == row(all_counted, claim)["value"]
        assert row(result, claim)["n_models"] == 40 + 40
    both_filters = check((selected.assign(performs_well=selected["seed"] != 1), training, modularity),
                         exclude_poor_models=True)
    assert row(both_filters, "a", "bottleneck")["n_models"] == 20 and row(both_filters, "a", "weight_mask")["n_models"] == 30


def test_the_loss_based_bottleneck_metric_is_judged_like_the_bottleneck_metric_and_leaves_c1_alone():
    curves = {"bottleneck": late, "weight_mask": log_linear, "correlation": late}
    without = check(make_tables(curves, noise=0.02))
    with_loss = check(make_tables({**curves, "bottleneck_loss": early}, noise=0.02))
    assert {"a", "b", "d"} <= set(with_loss.loc[with_loss["metric"] == "bottleneck_loss", "claim"])
    assert row(with_loss, "a", "bottleneck_loss")["n_models"] == 50
    assert row(with_loss, "b", "bottleneck_loss")["result"] == "fails"  # it rises early
    assert row(with_loss, "c1", "weight_mask")["statistic"] == row(without, "c1", "weight_mask")["statistic"]
    assert row(with_loss, "c1", "weight_mask")["result"] == "holds"
