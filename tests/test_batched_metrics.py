"""The trainable metrics trained as one batched problem give what one-after-the-other training gives.

The weight-mask jobs train every trial's masks, the supermask control's and (in the calibration
sweeps) every q's together; the bottleneck jobs retrain every trial's (and every time step's)
readouts together. The references here are the plain one-at-a-time loops.
"""

import dataclasses

import numpy as np
import pytest
import torch
from defaults import bottleneck_settings, mask_settings, model_config
from test_metrics import N_HIDDEN, N_INPUTS, coded_digits

from extreme_sparsity.metrics import bottleneck, mask_engine, weight_mask
from extreme_sparsity.model import build_model
from extreme_sparsity.seeding import trial_seed

SETTINGS = mask_settings(0.05, epochs=2, batch_size=64)


def partly_trained(cell: str = "rnn", sparse_input: str = "through_recurrent", seed: int = 0):
    """A random model whose masks do not all agree (no exact ties among scores)."""
    config = model_config(0.05, n_hidden=N_HIDDEN, n_inputs=N_INPUTS, cell=cell, sparse_input=sparse_input, init_bound=0.3)
    return build_model(config, seed)


def one_at_a_time(model, train, test, settings, seed):
    """Equation (6)'s masks the plain way: train_scores for digit 0 then 1 from one generator."""
    generator = torch.Generator().manual_seed(seed)
    layout = weight_mask.mask_layout(model, settings.sparse_owner)
    shares, accuracy, scores = np.zeros((2, 2)), np.zeros(2), []
    for digit in range(2):
        scores.append(weight_mask.train_scores(model, layout, train, digit, settings, generator))
        shares[:, digit] = weight_mask.share_per_subnetwork(layout, scores[-1], settings.q)
        accuracy[digit] = weight_mask.masked_accuracy(model, layout, scores[-1], settings.q, test, digit)
    return shares, accuracy, torch.stack(scores)


@pytest.fixture(scope="module")
def data():
    return coded_digits(600, seed=1), coded_digits(300, seed=2)


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_masks_of_trials_control_and_several_q_trained_together_equal_one_at_a_time(data, cell):
    """Every request gets its own scores, batches, digit, q and network: the trained scores agree
    with one-at-a-time training to rounding. Two steps per mask: over many steps, one near-tie at
    the edge of the kept set decided differently by rounding changes that mask's later path, which
    makes exact comparisons of tiny networks chaotic (next test)."""
    train, test = data
    settings = dataclasses.replace(SETTINGS, epochs=1, batch_size=len(train) // 2)
    trained, control = partly_trained(cell, seed=0), partly_trained(cell, seed=1)
    requests = [
        weight_mask.MaskRequest(trained, settings, trial_seed(3, 0)),
        weight_mask.MaskRequest(trained, settings, trial_seed(3, 1)),
        weight_mask.MaskRequest(control, settings, trial_seed(3, 0)),
        weight_mask.MaskRequest(trained, dataclasses.replace(settings, q=0.2), trial_seed(3, 0)),
    ]
    together = weight_mask.train_masks_together(requests, train, test)
    for request, result in zip(requests, together):
        shares, accuracy, scores = one_at_a_time(request.model, train, test, request.settings, request.seed)
        initial = torch.stack([row.scores for row in mask_engine._rows_of(request, len(train))])
        assert (scores - initial).abs().max() > 1e-4  # the scores did train
        torch.testing.assert_close(result.scores, scores, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(result.shares["target"], shares)
        np.testing.assert_array_equal(result.accuracy, accuracy)
    # the trials differ from each other: they are not one mask copied
    assert not torch.equal(together[0].scores, together[1].scores)


def test_masks_at_the_default_step_agree_with_one_at_a_time_in_what_they_measure():
    """At the real step size, the batched masks measure what one-at-a-time masks measure: M within a
    few kept weights and the same accuracy within a few test pairs (on a network large enough that
    one weight decided differently by rounding is one weight among hundreds)."""
    train, test = coded_digits(1000, seed=1), coded_digits(400, seed=2)
    model = partly_trained(seed=4)
    settings = dataclasses.replace(SETTINGS, q=0.2, epochs=1)
    requests = [weight_mask.MaskRequest(model, settings, trial_seed(5, trial)) for trial in range(3)]
    kept = round(settings.q * weight_mask.mask_layout(model).size)
    for request, result in zip(requests, weight_mask.train_masks_together(requests, train, test)):
        shares, accuracy, _ = one_at_a_time(model, train, test, settings, request.seed)
        np.testing.assert_allclose(result.shares["target"], shares, atol=5 / kept)
        np.testing.assert_allclose(result.accuracy, accuracy, atol=0.03)


def test_mask_requests_must_share_their_training_settings(data):
    model = partly_trained()
    requests = [
        weight_mask.MaskRequest(model, SETTINGS, 0),
        weight_mask.MaskRequest(model, dataclasses.replace(SETTINGS, lr=0.5), 1),
    ]
    with pytest.raises(ValueError, match="share their settings"):
        weight_mask.train_masks_together(requests, *data)


def test_batched_readouts_of_unmasked_networks_are_the_models_readouts(data):
    """With every mask entry 1 the batched forward (input drive computed once) is the model itself."""
    train, _ = data
    models = [partly_trained(cell, sparse_input, seed) for seed, (cell, sparse_input) in enumerate(
        [("rnn", "direct"), ("rnn", "through_recurrent"), ("lstm", "direct"), ("gru", "through_recurrent"), ("leaky", "direct")]
    )]
    for model in models:
        request = weight_mask.MaskRequest(model, SETTINGS, 0)
        rows = mask_engine._rows_of(request, len(train))
        batch = mask_engine._MaskedBatch(rows, {"train": train})
        samples = torch.arange(50).expand(len(rows), -1)
        readouts = batch.readouts(torch.ones(len(rows), rows[0].layout.size), "train", samples)
        for row_readouts in readouts:
            torch.testing.assert_close(row_readouts, model(train.inputs[:50]), rtol=1e-5, atol=1e-5)


def test_bottleneck_trials_and_steps_trained_together_equal_one_at_a_time():
    train, test = coded_digits(500, seed=3), coded_digits(200, seed=4)
    config = model_config(0.05, n_hidden=N_HIDDEN, n_inputs=N_INPUTS, bottleneck=5, init_bound=0.3)
    model = build_model(config, 2)
    settings = bottleneck_settings(epochs=2, batch_size=64, trials=3)
    together = bottleneck.bottleneck_metric(model, train, test, settings, seed=7)
    train_states, test_states = bottleneck.bottleneck_states(model, train), bottleneck.bottleneck_states(model, test)
    for trial, values in enumerate(together):
        alone = bottleneck.retrain_readouts(
            train_states, train.digits, test_states, test.digits, settings,
            torch.Generator().manual_seed(trial_seed(7, trial)),
        )
        np.testing.assert_allclose(values, alone, atol=1.01 / len(test))
    assert not all(np.array_equal(together[0], other) for other in together[1:])

    course = bottleneck.bottleneck_time_course(model, train, test, dataclasses.replace(settings, trials=2), seed=7)
    assert len(course) == config.n_steps and all(len(trials) == 2 for trials in course)
    for trial in range(2):  # t = T is the metric itself
        np.testing.assert_allclose(course[-1][trial], together[trial], atol=1.01 / len(test))


def test_the_loss_of_the_last_step_is_the_bottleneck_loss_and_accuracy_is_unchanged():
    train, test = coded_digits(400, seed=5), coded_digits(150, seed=6)
    model = build_model(model_config(0.05, n_hidden=N_HIDDEN, n_inputs=N_INPUTS, bottleneck=5, init_bound=0.3), 4)
    settings = bottleneck_settings(epochs=2, batch_size=64, trials=2, lr_decay=0.9)
    readouts = bottleneck.bottleneck_readouts(model, train, test, settings, seed=3)
    accuracy = bottleneck.bottleneck_metric(model, train, test, settings, seed=3)
    assert all(np.array_equal(r.accuracy, a) for r, a in zip(readouts, accuracy))
    assert all((r.loss > 0).all() and r.loss.shape == (2, 2) for r in readouts)
    course = bottleneck.bottleneck_time_course_readouts(model, train, test, settings, seed=3)
    for last, final in zip(course[-1], readouts):
        np.testing.assert_allclose(last.loss, final.loss, rtol=1e-5)
        np.testing.assert_allclose(last.accuracy, final.accuracy, atol=1.01 / len(test))
