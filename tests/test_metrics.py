"""Known answers for the three metrics on constructed networks, and equation (8)'s edge cases."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from defaults import bottleneck_settings, correlation_settings, mask_settings, model_config, training_config

from extreme_sparsity import optimizers, task, training
from extreme_sparsity.dataset import PairedDigits, load_splits
from extreme_sparsity.metrics import bottleneck, correlation, metric_rows, weight_mask
from extreme_sparsity.model import GlobalModel, build_model
from extreme_sparsity.specialization import specialization, specialization_of_subnetworks

N_HIDDEN, N_INPUTS = 24, 16


def coded_digits(n_samples: int, seed: int) -> PairedDigits:
    """Pairs of digits (task's exclusion applied) whose 'images' are a fixed random code per digit."""
    rng = np.random.default_rng(seed)
    digits = rng.integers(0, 10, (3 * n_samples, 2))
    digits = digits[~task.is_excluded(digits[:, 0], digits[:, 1])][:n_samples]
    codes = np.random.default_rng(99).normal(size=(10, N_INPUTS))
    inputs = torch.tensor(codes[digits], dtype=torch.float32)
    digits = torch.tensor(digits)
    return PairedDigits(inputs, digits, torch.tensor(task.global_target(digits[:, 0].numpy(), digits[:, 1].numpy())))


def swapped(data: PairedDigits) -> PairedDigits:
    """The same pairs with the two images exchanged: each sub-network now sees the other digit."""
    return PairedDigits(data.inputs[:, [1, 0]], data.digits, data.target)


def specialized_model(bottleneck_size: int = 0) -> GlobalModel:
    """Two sub-networks with no connection between them, each reading out its own digit exactly."""
    config = model_config(1 / N_HIDDEN**2, n_hidden=N_HIDDEN, n_inputs=N_INPUTS, bottleneck=bottleneck_size)
    model = GlobalModel(config, torch.Generator().manual_seed(5))
    generator = torch.Generator().manual_seed(6)
    with torch.no_grad():
        model.w_ih.normal_(0, 1 / N_INPUTS**0.5, generator=generator)
        model.w_hh.normal_(0, 0.3 / N_HIDDEN**0.5, generator=generator)
        model.sparse.phi.zero_()  # no inter-connections at all
        codes = torch.tensor(np.random.default_rng(99).normal(size=(10, N_INPUTS)), dtype=torch.float32)
        patterns = model.hidden_states(codes[:, None, :].expand(10, 2, N_INPUTS))  # (digit, n, N)
        if not bottleneck_size:  # least-squares readout: +5 for the own digit, -5 for the others
            targets = 10 * torch.eye(10) - 5
            for n in range(2):
                design = torch.cat([patterns[:, n], torch.ones(10, 1)], dim=1)
                solution = torch.linalg.lstsq(design, targets).solution
                model.w_hr[n] = solution[:-1].T
                model.b_hr[n] = solution[-1]
    return model


@pytest.fixture(scope="module")
def data():
    return coded_digits(3000, seed=1), coded_digits(800, seed=2)


def test_specialization_measure_edge_cases():
    assert specialization(0.0, 0.0) == 0.0
    assert specialization(0.3, 0.3) == 0.0
    assert specialization(0.7, 0.0) == 1.0 and specialization(0.0, 0.7) == -1.0
    assert specialization(0.75, 0.25) == pytest.approx(0.5)
    assert specialization_of_subnetworks([[0.9, 0.1], [0.3, 0.3]]) == pytest.approx([0.8, 0.0])
    with pytest.raises(ValueError, match="2 x 2"):
        specialization_of_subnetworks([0.1, 0.2])


@pytest.mark.parametrize(
    "own, other, expected",
    [
        (0.2, -0.1, 0.3 / 0.3),  # (0.2 + 0.1) / (0.2 + 0.1): own clearly ahead -> 1; eq. 8 as printed gives 3
        (-0.1, 0.2, -1.0),  # eq. 8 as printed gives -3
        (-0.2, -0.1, -0.1 / 0.3),  # both negative: own is the lower one -> negative; eq. 8 as printed gives +1/3
        (0.1, -0.1, 1.0),  # eq. 8 as printed divides by 0
        (-0.3, 0.0, -1.0),
    ],
)
def test_specialization_of_negative_metric_values_stays_in_range_with_the_sign_of_own_minus_other(own, other, expected):
    """Correlations can be negative: equation (8) is then read with |own| + |other| below."""
    assert specialization(own, other) == pytest.approx(expected)
    assert -1.0 <= specialization(own, other) <= 1.0


def test_metric_rows_hold_the_table_and_each_subnetworks_specialization():
    rows = metric_rows("cka", np.array([[0.2, 0.9], [0.6, 0.1]]), quantity="distance", similarity=1 - np.array([[0.2, 0.9], [0.6, 0.1]]))
    values = {(r["quantity"], r["sub_network"], r["digit"]): r["value"] for r in rows}
    assert values[("distance", 0, 1)] == 0.9
    assert values[("specialization", 0, 0)] == pytest.approx((0.8 - 0.1) / 0.9)
    assert values[("specialization", 1, 1)] == pytest.approx((0.9 - 0.4) / 1.3)


def reference_pair_correlation(states: np.ndarray, groups: np.ndarray) -> float:
    """Equation (7) the slow way: np.corrcoef over every pair sharing the group."""
    correlations = np.corrcoef(states)
    same = groups[:, None] == groups[None, :]
    upper = np.triu(np.ones_like(same), k=1).astype(bool)
    return correlations[same & upper].mean()


def test_pair_correlation_matches_the_slow_definition():
    generator = np.random.default_rng(0)
    states = generator.normal(size=(200, 30)) + generator.normal(size=(1, 30))
    groups = generator.integers(0, 7, 200)
    fast = correlation.mean_pair_correlation(torch.tensor(states), torch.tensor(groups))
    assert fast == pytest.approx(reference_pair_correlation(states, groups), abs=1e-12)


def test_correlation_of_specialized_network(data):
    _, test = data
    model = specialized_model()
    values, cka_distance = correlation.correlation_metric(model, test, correlation_settings(max_samples=None), seed=0)
    states = correlation.final_hidden_states(model, test).numpy()
    for n in range(2):
        assert values[n, n] == pytest.approx(1.0)  # same own digit -> the very same state
        other = reference_pair_correlation(states[:, n], test.digits[:, 1 - n].numpy())
        assert values[n, 1 - n] == pytest.approx(other, abs=1e-9)
        assert values[n, 1 - n] < 0.4
        assert cka_distance[n, n] == pytest.approx(0.0, abs=1e-9) and cka_distance[n, 1 - n] > 0.5
    assert min(specialization_of_subnetworks(values)) > 0.5
    swapped_values, _ = correlation.correlation_metric(model, swapped(test), correlation_settings(max_samples=None), seed=0)
    assert swapped_values[0, 1] == pytest.approx(1.0) and swapped_values[1, 0] == pytest.approx(1.0)
    assert max(specialization_of_subnetworks(swapped_values)) < -0.5


def test_correlation_on_a_subset_is_reproducible(data):
    _, test = data
    model = specialized_model()
    settings = correlation_settings(max_samples=300)
    first = correlation.correlation_metric(model, test, settings, seed=4)
    assert np.array_equal(first[0], correlation.correlation_metric(model, test, settings, seed=4)[0])
    assert not np.array_equal(first[1], correlation.correlation_metric(model, test, settings, seed=5)[1])


def test_constant_state_has_zero_correlation():
    states = torch.tensor([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0], [2.0, 4.0, 6.1]])
    value = correlation.mean_pair_correlation(states, torch.tensor([0, 0, 0]))
    assert value == pytest.approx((0 + 0 + np.corrcoef(states[1], states[2])[0, 1]) / 3)


def test_bottleneck_of_specialized_network(data):
    train, test = data
    model = specialized_model(bottleneck_size=10)
    settings = bottleneck_settings(epochs=20, trials=1)
    (values,) = bottleneck.bottleneck_metric(model, train, test, settings, seed=0)
    for n in range(2):
        assert values[n, n] > 0.95  # own digit from 10 bottleneck units
        assert values[n, 1 - n] < 0.2  # other digit: chance is 1/8 (given the own digit, 8 partners remain)
    (swapped_values,) = bottleneck.bottleneck_metric(model, swapped(train), swapped(test), settings, seed=0)
    assert max(specialization_of_subnetworks(swapped_values)) < -0.6


def test_bottleneck_trials_are_independent_retrainings_of_one_model(data):
    train, test = data
    model = specialized_model(bottleneck_size=10)
    settings = bottleneck_settings(epochs=1, trials=3)
    trials = bottleneck.bottleneck_metric(model, train, test, settings, seed=0)
    assert len(trials) == 3 and not np.array_equal(trials[0], trials[1])
    again = bottleneck.bottleneck_metric(model, train, test, settings, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(trials, again))
    # trial t does not depend on how many trials are run
    (first,) = bottleneck.bottleneck_metric(model, train, test, replace(settings, trials=1), seed=0)
    assert np.array_equal(first, trials[0])


def test_bottleneck_metric_needs_the_bottleneck_architecture(data):
    with pytest.raises(ValueError, match="bottleneck architecture"):
        bottleneck.bottleneck_metric(specialized_model(), *data, bottleneck_settings(), seed=0)


MASKS = mask_settings(0.02, epochs=3, q_train=None)  # trained at the q they are read at


def test_weight_mask_keeps_own_subnetwork_weights(data):
    train, test = data
    values, accuracy = weight_mask.weight_mask_metric(specialized_model(), train, test, MASKS, seed=0)
    assert values[0, 0] > 0.95 and values[1, 1] > 0.95
    assert accuracy.min() > 0.9
    swapped_values, _ = weight_mask.weight_mask_metric(specialized_model(), swapped(train), swapped(test), MASKS, seed=0)
    assert max(specialization_of_subnetworks(swapped_values)) < -0.9


def test_mask_layout_excludes_input_weights_and_assigns_sparse_connections():
    model = GlobalModel(model_config(0.05, n_hidden=10, n_inputs=4), torch.Generator().manual_seed(0))
    k = model.config.n_active
    per_subnetwork = 10 * 10 + 10 + 10 * 10 + 10  # W_hh, b_hh, W_hr, b_hr
    target = weight_mask.mask_layout(model, "target")
    assert "w_ih" not in target.eligible and "b_ih" not in target.eligible
    assert target.size == 2 * per_subnetwork + 2 * k
    assert list(target.eligible)[-1] == "sparse.phi"
    assert target.owner[-2 * k :].tolist() == [0] * k + [1] * k  # W_sparse(1->0) counts in sub-network 0
    assert target.owner[:100].tolist() == [0] * 100 and target.owner[100:200].tolist() == [1] * 100  # W_hh
    source = weight_mask.mask_layout(model, "source")
    assert source.owner[-2 * k :].tolist() == [1] * k + [0] * k
    assert weight_mask.mask_layout(model, "unmasked").size == 2 * per_subnetwork


def test_top_mask_keeps_q_and_passes_gradients_straight_through():
    scores = torch.tensor([0.3, -1.0, 2.0, 0.1, 0.5], requires_grad=True)
    mask = weight_mask.top_mask(scores, 0.4)
    assert mask.detach().tolist() == [0.0, 0.0, 1.0, 0.0, 1.0]
    (mask * torch.arange(5.0)).sum().backward()
    assert scores.grad.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert weight_mask.top_mask(scores, 1e-6).sum().item() == 1.0


def test_supermask_control_is_clearly_below_the_trained_network(real_mnist_root, paired_dataset_file):
    train, validation, test = load_splits(paired_dataset_file, 0.1307, 0.3081, "train", "validation", "test")
    network = model_config(0.01)
    config = training_config(0.01, seed=0, epochs=1, deep_r_lr=0.03, stopping="fixed")
    trained = training.train(network, config, train, validation, test, log=lambda _: None).model
    untrained = build_model(network, seed=0)
    settings = mask_settings(0.05)
    _, trained_accuracy = weight_mask.weight_mask_metric(trained, train, test, settings, seed=0)
    _, control_accuracy = weight_mask.weight_mask_metric(untrained, train, test, settings, seed=0)
    assert trained_accuracy.min() > control_accuracy.max() + 0.15


# --- the bottleneck metric by its test loss, and the retraining's lr decay ----------------------------------


def test_loss_specialization_by_hand():
    loss = np.array([[0.5, 2.0], [1.5, 0.25]])  # L[n, k]
    assert bottleneck.loss_specialization(loss) == pytest.approx([(2.0 - 0.5) / 2.5, (1.5 - 0.25) / 1.75])
    assert bottleneck.loss_specialization([[2.0, 0.5], [0.3, 0.3]]) == pytest.approx([-0.6, 0.0])
    assert bottleneck.loss_specialization(np.zeros((2, 2))) == [0.0, 0.0]
    rows = bottleneck.readout_rows(bottleneck.Readouts(np.array([[0.9, 0.2], [0.3, 0.8]]), loss), trial=2)
    by_metric = {metric: [row for row in rows if row["metric"] == metric] for metric in ("bottleneck", "bottleneck_loss")}
    assert [row["value"] for row in by_metric["bottleneck_loss"] if row["quantity"] == "loss"] == [0.5, 2.0, 1.5, 0.25]
    assert [row["value"] for row in by_metric["bottleneck_loss"] if row["quantity"] == "specialization"] == pytest.approx(
        bottleneck.loss_specialization(loss))
    assert [row["value"] for row in by_metric["bottleneck"] if row["quantity"] == "specialization"] == pytest.approx(
        [0.7 / 1.1, 0.5 / 1.1])
    assert {row["trial"] for row in rows} == {2} and len(rows) == 12


def readout_problem(n_train=100, n_test=60, size=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    digits = lambda n: torch.randint(0, 10, (n, 2), generator=generator)  # noqa: E731
    return torch.randn(n_train, 2, size, generator=generator), digits(n_train), torch.randn(n_test, 2, size, generator=generator), digits(n_test)


def test_readouts_report_the_mean_test_cross_entropy_of_each_readout():
    """With lr = 0 the readouts keep their initial draws, so accuracy and loss follow by hand."""
    train_states, train_digits, test_states, test_digits = readout_problem()
    settings = bottleneck_settings(epochs=1, lr=0.0, batch_size=50, init_bound=0.1)
    (readouts,) = bottleneck.retrain_readouts_together(
        [(train_states, test_states, torch.Generator().manual_seed(4))], train_digits, test_digits, settings)
    generator = torch.Generator().manual_seed(4)
    weight = torch.empty(2, 2, 10, 3).uniform_(-0.1, 0.1, generator=generator)
    bias = torch.empty(2, 2, 10).uniform_(-0.1, 0.1, generator=generator)
    for n in range(2):
        for k in range(2):
            logits = test_states[:, n] @ weight[n, k].T + bias[n, k]
            expected = torch.nn.functional.cross_entropy(logits, test_digits[:, k]).item()
            assert readouts.loss[n, k] == pytest.approx(expected, rel=1e-5)
            assert readouts.accuracy[n, k] == pytest.approx((logits.argmax(1) == test_digits[:, k]).float().mean().item())
    zero = bottleneck.retrain_readouts_together(  # zero readouts: every class equally likely, loss ln 10
        [(train_states, test_states, torch.Generator())], train_digits, test_digits,
        bottleneck_settings(epochs=1, lr=0.0, init_bound=0.0))[0]
    np.testing.assert_allclose(zero.loss, np.full((2, 2), np.log(10)), rtol=1e-6)


def test_readout_lr_decays_by_gamma_each_epoch_and_none_keeps_todays_constant_lr(monkeypatch):
    problem = readout_problem()
    seen = []
    step = optimizers.Adadelta.step

    def recording_step(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(optimizers.Adadelta, "step", recording_step)

    def retrain(lr_decay):
        seen.clear()
        settings = bottleneck_settings(epochs=4, lr=0.5, batch_size=50, lr_decay=lr_decay)
        train_states, train_digits, test_states, test_digits = problem
        (readouts,) = bottleneck.retrain_readouts_together(
            [(train_states, test_states, torch.Generator().manual_seed(1))], train_digits, test_digits, settings)
        return readouts, list(seen)

    decayed, lrs = retrain(0.5)
    assert lrs == [0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.0625, 0.0625]  # 2 batches per epoch, epoch k: lr * 0.5**k
    assert [bottleneck_settings(lr=0.5, lr_decay=0.9).epoch_lr(k) for k in (0, 3)] == [0.5, 0.5 * 0.9**3]
    constant, lrs = retrain(None)
    assert lrs == [0.5] * 8
    unit, _ = retrain(1.0)
    assert np.array_equal(constant.accuracy, unit.accuracy) and np.array_equal(constant.loss, unit.loss)
    assert not np.array_equal(constant.loss, decayed.loss)


def test_the_bottleneck_job_writes_both_metrics_from_the_same_readouts(tmp_path):
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    import pandas as pd

    from extreme_sparsity import dataset
    from extreme_sparsity.plumbing.checkpoint import save_model

    rng = np.random.default_rng(0)
    splits = {}
    for split, size in (("train", 300), ("validation", 20), ("test", 120)):
        digits = rng.integers(0, 10, (size, 2))
        splits[split] = {"images": rng.integers(0, 255, (size, 2, 28, 28)).astype(np.uint8), "digits": digits,
                         "source_indices": rng.integers(0, 100, (size, 2)), "target": task.global_target(digits[:, 0], digits[:, 1])}
    dataset.write(tmp_path / "data.h5", splits, {}, task=task.PARITY)
    model = build_model(model_config(0.05, n_hidden=12, bottleneck=5), 3)
    save_model(tmp_path / "model.pt", model, {})
    section = {"epochs": 2, "lr": 0.5, "rho": 0.9, "batch_size": 64, "init_bound": 0.1, "trials": 2, "lr_decay": 0.9}
    fake = SimpleNamespace(
        input=SimpleNamespace(model=str(tmp_path / "model.pt"), dataset=str(tmp_path / "data.h5")),
        output=[str(tmp_path / "out.csv")], log=[str(tmp_path / "job.log")], threads=1,
        wildcards=SimpleNamespace(p="0.05", seed="3"),
        params=SimpleNamespace(settings=section, data={"mean": 0.1307, "std": 0.3081}),
    )
    script = Path(__file__).resolve().parents[1] / "workflow" / "scripts" / "bottleneck_metric.py"
    runpy.run_path(str(script), init_globals={"snakemake": fake})
    table = pd.read_csv(tmp_path / "out.csv")
    assert set(table["metric"]) == {"bottleneck", "bottleneck_loss"}
    assert set(table.loc[table["metric"] == "bottleneck_loss", "quantity"]) == {"loss", "specialization"}
    train, test = dataset.load_splits(tmp_path / "data.h5", 0.1307, 0.3081)
    expected = bottleneck.bottleneck_readouts(model, train, test, bottleneck.BottleneckSettings(**section), seed=3)
    for trial, readouts in enumerate(expected):
        rows = table[(table["trial"] == trial) & table["quantity"].isin(["M", "loss"])]
        for metric, values in (("bottleneck", readouts.accuracy), ("bottleneck_loss", readouts.loss)):
            np.testing.assert_array_equal(rows[rows["metric"] == metric]["value"].to_numpy().reshape(2, 2),
                                          values.astype(float))
