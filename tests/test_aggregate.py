"""Tables: the kept epoch and performs_well, trials and their mean, trial noise against seed noise,
and means over seeds with and without the models that do not perform well. Values by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from extreme_sparsity import aggregate

KEYS = {"architecture": "plain", "p": 0.01}


def history_rows(seed, validation, selected):
    return [
        {**KEYS, "seed": seed, "epoch": epoch + 1, "stop_reason": "r", "train_accuracy": 0.5, "validation_accuracy": v,
         "test_accuracy": v - 0.01, "test_share_subnetwork_0": 0.3, "test_share_subnetwork_1": 0.7, "selected": epoch + 1 == selected}
        for epoch, v in enumerate(validation)
    ]


def test_training_summary_keeps_the_selected_epoch_and_flags_poor_models():
    histories = pd.DataFrame(history_rows(0, [0.6, 0.85, 0.82], selected=2) + history_rows(1, [0.5, 0.79], selected=2))
    kept = aggregate.training_summary(histories, min_accuracy=0.8)
    assert kept["epoch"].tolist() == [2, 2] and kept["epochs_trained"].tolist() == [3, 2]
    assert kept["validation_accuracy"].tolist() == [0.85, 0.79]
    assert kept["performs_well"].tolist() == [True, False]


def metric_raw(values: dict) -> pd.DataFrame:
    """values[(seed, trial)] = (M00, M01, M10, M11): tidy rows of the weight-mask metric at q = 0.02."""
    rows = []
    for (seed, trial), (m00, m01, m10, m11) in values.items():
        table = {(0, 0): m00, (0, 1): m01, (1, 0): m10, (1, 1): m11}
        for (n, k), value in table.items():
            rows.append({**KEYS, "seed": seed, "q": 0.02, "metric": "weight_mask", "trial": trial, "quantity": "M", "sub_network": n, "digit": k, "value": value})
        for n in range(2):
            own, other = table[(n, n)], table[(n, 1 - n)]
            rows.append({**KEYS, "seed": seed, "q": 0.02, "metric": "weight_mask", "trial": trial, "quantity": "specialization",
                         "sub_network": n, "digit": n, "value": (own - other) / (own + other)})
    return pd.DataFrame(rows)


def training_table(poor_seed=None):
    return pd.DataFrame([
        {**KEYS, "seed": seed, "test_share_subnetwork_0": 0.4, "test_share_subnetwork_1": 0.6, "performs_well": seed != poor_seed}
        for seed in (0, 1)
    ])


RAW = metric_raw({
    (0, 0): (0.9, 0.2, 0.1, 0.8), (0, 1): (0.7, 0.2, 0.3, 0.8),
    (1, 0): (0.6, 0.6, 0.4, 0.4), (1, 1): (0.6, 0.6, 0.4, 0.4),
})


def test_trials_are_kept_and_averaged_per_model():
    trials = aggregate.metric_trials_table(RAW, training_table())
    assert len(trials) == 2 * 2 * 2 and set(trials["q"]) == {0.02}
    row = trials[(trials["seed"] == 0) & (trials["trial"] == 1) & (trials["sub_network"] == 0)].iloc[0]
    assert (row["M_own"], row["M_other"]) == (0.7, 0.2)
    assert row["decision_share"] == 0.4
    table = aggregate.metrics_table(trials)
    mine = table[(table["seed"] == 0) & (table["sub_network"] == 0)].iloc[0]
    spec = [(0.9 - 0.2) / 1.1, (0.7 - 0.2) / 0.9]
    assert mine["n_trials"] == 2 and mine["M_own"] == pytest.approx(0.8)
    assert mine["specialization"] == pytest.approx(np.mean(spec))
    assert mine["specialization_trial_sd"] == pytest.approx(np.std(spec, ddof=1))


def test_trial_noise_against_seed_noise_by_hand():
    trials = aggregate.metric_trials_table(RAW, training_table())
    noise = aggregate.trial_noise(trials).iloc[0]
    s0 = {0: [(0.9 - 0.2) / 1.1, (0.7 - 0.2) / 0.9], 1: [(0.8 - 0.1) / 0.9, (0.8 - 0.3) / 1.1]}  # seed 0, per sub-network
    s1 = {0: [0.0, 0.0], 1: [0.0, 0.0]}
    within = math.sqrt(np.mean([np.var(s0[0], ddof=1), np.var(s0[1], ddof=1), 0.0, 0.0]))
    between = math.sqrt(np.mean([np.var([np.mean(s0[n]), np.mean(s1[n])], ddof=1) for n in (0, 1)]))
    assert noise["trial_sd"] == pytest.approx(within) and noise["seed_sd"] == pytest.approx(between)
    assert noise["trial_sd_of_mean"] == pytest.approx(within / math.sqrt(2))
    assert noise["trials_needed"] == math.ceil(9 * (within / between) ** 2)
    pooled = aggregate.trial_noise(trials).iloc[1]  # one p only: the pooled row repeats it
    assert np.isnan(pooled["p"]) and pooled["trial_sd"] == pytest.approx(within) and pooled["seed_sd"] == pytest.approx(between)


def test_trial_noise_of_single_trials_is_an_empty_table_with_its_columns(tmp_path):
    """With one trial per model there is no spread between trials: no row, but a CSV that any
    reader can open (a run of tests/small_study.yaml writes it)."""
    trials = aggregate.metric_trials_table(RAW, training_table())
    single = trials[trials["trial"] == trials["trial"].min()]
    noise = aggregate.trial_noise(single)
    assert noise.empty and list(noise.columns) == aggregate.NOISE_COLUMNS
    noise.to_csv(tmp_path / "noise.csv", index=False)
    assert list(pd.read_csv(tmp_path / "noise.csv").columns) == aggregate.NOISE_COLUMNS


def test_means_over_seeds_count_poor_models_unless_excluded():
    table = aggregate.metrics_table(aggregate.metric_trials_table(RAW, training_table(poor_seed=1)))
    both = lambda summary: summary[summary["sub_network"] == "both"].iloc[0]  # noqa: E731
    counted, excluded = both(aggregate.summary_table(table)), both(aggregate.summary_table(table, exclude_poor_models=True))
    seed0 = table[table["seed"] == 0]["specialization"].mean()
    assert counted["specialization_mean"] == pytest.approx(seed0 / 2)  # seed 1 has M_spec 0
    assert counted["n_seeds"] == 2 and counted["n_poor_models"] == 1
    assert excluded["specialization_mean"] == pytest.approx(seed0) and excluded["n_seeds"] == 1
    assert excluded["n_poor_models"] == 1


# --- best k of n models (performance.best_k) ---------------------------------------------------------------

PLAIN_METRICS = ["weight_mask", "weight_mask_control", "correlation", "cka"]


def selection_tables():
    """Training of 2 architectures x 2 p x 4 seeds (validation accuracies with a tie) and one metric row
    per model and metric on the model's architecture."""
    validation = {  # (architecture, p): validation accuracy of seeds 0..3
        ("plain", 0.01): [0.90, 0.95, 0.85, 0.95], ("plain", 1.0): [0.70, 0.60, 0.80, 0.75],
        ("bottleneck", 0.01): [0.50, 0.91, 0.92, 0.93], ("bottleneck", 1.0): [0.88, 0.88, 0.88, 0.88],
    }
    training = pd.DataFrame([
        {"architecture": a, "p": p, "seed": seed, "validation_accuracy": v, "test_accuracy": v - 0.02}
        for (a, p), values in validation.items() for seed, v in enumerate(values)
    ])
    metrics = pd.DataFrame([
        {"architecture": a, "p": p, "seed": seed, "metric": metric, "sub_network": 0}
        for a, p, seed in training[["architecture", "p", "seed"]].itertuples(index=False)
        for metric in (PLAIN_METRICS if a == "plain" else ["bottleneck", "bottleneck_loss"])
    ])
    return metrics, training


# the best 2 by validation accuracy, ties to the lower seed; the test accuracy never enters
BEST_2 = {("plain", 0.01): {1, 3}, ("plain", 1.0): {2, 3}, ("bottleneck", 0.01): {2, 3}, ("bottleneck", 1.0): {0, 1}}


def selected_seeds(metrics, selected):
    return {key: set(frame.loc[selected[frame.index], "seed"]) for key, frame in metrics.groupby(["architecture", "p"])}


def test_best_k_keeps_the_k_best_models_by_validation_accuracy_for_listed_metrics_only():
    metrics, training = selection_tables()
    selected = aggregate.best_k_selection(metrics, training, 2, ["bottleneck", "weight_mask"])
    assert selected.dtype == bool and selected.index.equals(metrics.index)
    listed = metrics["metric"].isin(["bottleneck", "bottleneck_loss", "weight_mask", "weight_mask_control"])
    assert selected[~listed].all()  # correlation and cka: every model
    for metric in ("bottleneck", "bottleneck_loss", "weight_mask", "weight_mask_control"):
        rows = metrics[metrics["metric"] == metric]
        expected = {key: seeds for key, seeds in BEST_2.items() if key[0] == rows["architecture"].iloc[0]}
        assert selected_seeds(rows, selected) == expected, metric

    poisoned = training.assign(test_accuracy=training["test_accuracy"].to_numpy()[::-1])  # reversed test accuracies
    pd.testing.assert_series_equal(aggregate.best_k_selection(metrics, poisoned, 2, ["bottleneck", "weight_mask"]), selected)
    shuffled = training.sample(frac=1.0, random_state=0)  # row order plays no part either
    pd.testing.assert_series_equal(aggregate.best_k_selection(metrics, shuffled, 2, ["bottleneck", "weight_mask"]), selected)

    assert aggregate.best_k_selection(metrics, training, None, ["bottleneck"]).all()
    assert aggregate.best_k_selection(metrics, training, 4, ["bottleneck", "weight_mask", "correlation"]).all()
    only_correlation = aggregate.best_k_selection(metrics, training, 1, ["correlation"])
    assert set(metrics.loc[~only_correlation, "metric"]) == {"correlation", "cka"}
    assert selected_seeds(metrics[metrics["metric"] == "cka"], only_correlation) == {("plain", 0.01): {1}, ("plain", 1.0): {2}}


def test_means_over_seeds_count_only_selected_rows_and_both_filters_combine():
    trials = aggregate.metric_trials_table(RAW, training_table(poor_seed=0))
    trials["selected"] = trials["seed"] == 0  # seed 0 alone is among the best k (and performs poorly)
    table = aggregate.metrics_table(trials)
    assert table.groupby("seed")["selected"].all().to_dict() == {0: True, 1: False}
    both = lambda summary: summary[summary["sub_network"] == "both"].iloc[0]  # noqa: E731
    summary = both(aggregate.summary_table(table))
    assert summary["specialization_mean"] == pytest.approx(table[table["seed"] == 0]["specialization"].mean())
    assert summary["n_seeds"] == 1 and summary["n_poor_models"] == 1
    per_network = aggregate.summary_table(table).set_index("sub_network")
    assert per_network.loc["0", "M_own_mean"] == pytest.approx((0.9 + 0.7) / 2)  # seed 0, mean of its trials
    assert aggregate.summary_table(table, exclude_poor_models=True).empty  # selected, but poor: nothing counts
    assert aggregate.counted(table).tolist() == (table["seed"] == 0).tolist()


def test_loss_rows_are_a_metric_of_their_own_with_lower_own_loss_more_specialized():
    from extreme_sparsity.metrics.bottleneck import Readouts, readout_rows

    readouts = Readouts(np.array([[0.9, 0.2], [0.3, 0.8]]), np.array([[0.5, 2.0], [1.5, 0.25]]))
    raw = pd.DataFrame(readout_rows(readouts)).assign(architecture="bottleneck", p=0.01, seed=0)
    training = pd.DataFrame([{"architecture": "bottleneck", "p": 0.01, "seed": 0, "test_share_subnetwork_0": 0.5,
                              "test_share_subnetwork_1": 0.5, "performs_well": True}])
    table = aggregate.metrics_table(aggregate.metric_trials_table(raw, training)).set_index(["metric", "sub_network"])
    assert table.loc[("bottleneck", 0), "M_own"] == pytest.approx(0.9)  # the accuracy rows as before
    loss = table.loc["bottleneck_loss"]
    assert (loss["quantity"] == "loss").all()
    assert loss.loc[0, ["M_own", "M_other"]].tolist() == pytest.approx([0.5, 2.0])
    assert loss.loc[1, ["M_own", "M_other"]].tolist() == pytest.approx([0.25, 1.5])
    assert loss["specialization"].tolist() == pytest.approx([1.5 / 2.5, 1.25 / 1.75])
    summary = aggregate.summary_table(table.reset_index())
    assert set(summary["metric"]) == {"bottleneck", "bottleneck_loss"}
