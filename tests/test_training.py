"""Training: it learns, it is deterministic, and a killed run resumes to the same weights."""

from dataclasses import replace

import pytest
import torch

from extreme_sparsity import training
from extreme_sparsity.checkpoint import load_model, save_model
from extreme_sparsity.errors import TrainingDiverged
from extreme_sparsity.model import ModelConfig

MODEL = ModelConfig(sparsity=0.05, n_hidden=32)
CONFIG = training.TrainingConfig(seed=3, epochs=3, batch_size=128, deep_r_lr=0.05, noise_std=1e-3)


class Killed(Exception):
    pass


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_training_learns_the_global_task(small_splits):
    train, test = small_splits
    result = training.train(MODEL, replace(CONFIG, epochs=4), train, test, log=lambda _: None)
    accuracies = [record.test_accuracy for record in result.history]
    assert accuracies[-1] > 0.3 and accuracies[-1] > accuracies[0]
    assert result.history[-1].test_share_subnetwork_0 + result.history[-1].test_share_subnetwork_1 == pytest.approx(1.0)


def test_same_seed_gives_identical_weights_and_other_seed_differs(small_splits):
    train, test = small_splits
    runs = [training.train(MODEL, replace(CONFIG, seed=s), train, test, log=lambda _: None).model for s in (3, 3, 4)]
    assert states_equal(runs[0].state_dict(), runs[1].state_dict())
    assert not torch.equal(runs[0].w_hh, runs[2].w_hh)
    assert not torch.equal(runs[0].sparse.active(), runs[2].sparse.active())


def test_killed_run_resumes_to_the_same_weights(small_splits, tmp_path):
    train, test = small_splits
    uninterrupted = training.train(MODEL, CONFIG, train, test, log=lambda _: None)
    resume = tmp_path / "resume.pt"

    def die_during_epoch_2(message):
        if message.startswith("epoch 2/"):
            raise Killed

    with pytest.raises(Killed):
        training.train(MODEL, CONFIG, train, test, resume_path=resume, log=die_during_epoch_2)
    assert resume.exists()
    messages = []
    resumed = training.train(MODEL, CONFIG, train, test, resume_path=resume, log=messages.append)
    assert messages[0].startswith("resuming after epoch 1")
    assert states_equal(uninterrupted.model.state_dict(), resumed.model.state_dict())
    assert [r.test_accuracy for r in resumed.history] == [r.test_accuracy for r in uninterrupted.history]


def test_resume_state_of_another_configuration_is_ignored(small_splits, tmp_path):
    train, test = small_splits
    resume = tmp_path / "resume.pt"
    with pytest.raises(Killed):
        training.train(MODEL, CONFIG, train, test, resume_path=resume, log=lambda m: (_ for _ in ()).throw(Killed) if m.startswith("epoch 2/") else None)
    messages = []
    other = replace(CONFIG, lr=0.3)
    training.train(MODEL, other, train, test, resume_path=resume, log=messages.append)
    assert "another configuration" in messages[0]


def test_best_test_loss_selection_keeps_the_best_epoch(small_splits):
    train, test = small_splits
    result = training.train(MODEL, replace(CONFIG, checkpoint_selection="best_test_loss"), train, test, log=lambda _: None)
    best = min(result.history, key=lambda r: r.test_loss)
    assert result.selected_epoch == best.epoch
    assert training.evaluate(result.model, test)["loss"] == pytest.approx(best.test_loss, rel=1e-5)


def test_divergence_stops_with_p_seed_epoch_and_value(small_splits):
    train, test = small_splits
    with pytest.raises(TrainingDiverged, match=r"p=0.05, seed=3, epoch=1: .* = (nan|inf)"):
        training.train(MODEL, replace(CONFIG, optimizer="sgd", lr=1e38), train, test, log=lambda _: None)


def test_checkpoint_round_trip_keeps_weights_and_active_connections(small_splits, tmp_path):
    train, test = small_splits
    model = training.train(MODEL, replace(CONFIG, epochs=1), train, test, log=lambda _: None).model
    save_model(tmp_path / "model.pt", model, {"test_accuracy": 0.5})
    loaded, saved = load_model(tmp_path / "model.pt")
    assert states_equal(model.state_dict(), loaded.state_dict())
    active = model.sparse.active()
    assert len(saved["active_connections"]["into_subnetwork_0"]) == active[0].sum() == MODEL.n_active
    assert training.evaluate(loaded, test) == training.evaluate(model, test)
