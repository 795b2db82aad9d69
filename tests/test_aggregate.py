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
