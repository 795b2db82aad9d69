"""Specialization over time: the metrics on the states h_t of every step t = 1..T."""

import numpy as np
import pandas as pd
import pytest
import torch
from defaults import bottleneck_settings, correlation_settings, model_config

from extreme_sparsity import aggregate
from extreme_sparsity.metrics import bottleneck, correlation, metric_rows
from extreme_sparsity.model import build_model


def model(cell="rnn", bottleneck_size=0, sparsity=0.05):
    config = model_config(sparsity, n_hidden=20, n_steps=4, bottleneck=bottleneck_size, cell=cell,
                          sparse_input="through_recurrent")
    return build_model(config, seed=3)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_correlation_at_the_last_step_is_the_correlation_metric(small_splits, cell):
    _, _, test = small_splits
    settings = correlation_settings(max_samples=400)
    network = model(cell)
    steps = correlation.correlation_time_course(network, test, settings, seed=7)
    assert len(steps) == 4
    final, final_cka = correlation.correlation_metric(network, test, settings, seed=7)
    np.testing.assert_array_equal(steps[-1][0], final)
    np.testing.assert_array_equal(steps[-1][1], final_cka)
    assert not np.allclose(steps[0][0], final)  # the steps are not all the same state


def test_the_first_step_does_not_see_the_other_subnetwork(small_splits):
    """h_1 = f(W_ih x + b) from h_0 = 0: the sparse connections first act at t = 2."""
    _, _, test = small_splits
    settings = correlation_settings(max_samples=400)
    coupled = model(sparsity=1.0)
    uncoupled = model(sparsity=1.0)
    with torch.no_grad():
        uncoupled.sparse.phi.zero_()
    with_sparse = correlation.correlation_time_course(coupled, test, settings, seed=1)
    without = correlation.correlation_time_course(uncoupled, test, settings, seed=1)
    np.testing.assert_array_equal(with_sparse[0][0], without[0][0])
    assert not np.allclose(with_sparse[1][0], without[1][0])


def test_bottleneck_at_the_last_step_is_the_bottleneck_metric(small_splits):
    train, _, test = small_splits
    settings = bottleneck_settings(epochs=1, trials=2)
    network = model(bottleneck_size=5)
    steps = bottleneck.bottleneck_time_course(network, train, test, settings, seed=5)
    assert len(steps) == 4 and all(len(trials) == 2 for trials in steps)
    for last, final in zip(steps[-1], bottleneck.bottleneck_metric(network, train, test, settings, seed=5)):
        np.testing.assert_array_equal(last, final)


def test_time_course_table_averages_trials_per_step():
    rows = []
    for t, trials in ((1, [[[0.9, 0.1], [0.2, 0.8]], [[0.7, 0.1], [0.2, 0.6]]]), (2, [[[0.5, 0.5], [0.5, 0.5]]])):
        for trial, values in enumerate(trials):
            rows += [{**row, "t": t} for row in metric_rows("bottleneck", np.array(values), trial=trial)]
    raw = pd.DataFrame(rows).assign(architecture="bottleneck", p=0.01, seed=0)
    training = pd.DataFrame([{"architecture": "bottleneck", "p": 0.01, "seed": 0, "performs_well": True}])
    table = aggregate.time_course_table(raw, training).set_index(["t", "sub_network"])
    # t = 1, n = 0: M(0, 0) = (0.9 + 0.7) / 2, M(0, 1) = 0.1; M_spec = mean of (0.8/1.0, 0.6/0.8)
    assert table.loc[(1, 0), "M_own"] == pytest.approx(0.8) and table.loc[(1, 0), "M_other"] == pytest.approx(0.1)
    assert table.loc[(1, 0), "specialization"] == pytest.approx((0.8 / 1.0 + 0.6 / 0.8) / 2)
    assert table.loc[(2, 1), "specialization"] == pytest.approx(0.0)
    summary = aggregate.time_course_summary(table.reset_index())
    assert set(summary["t"]) == {1, 2} and (summary["n_seeds"] == 1).all()
