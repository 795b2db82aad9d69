"""Training: it learns, it is deterministic, a killed run resumes to the same weights, and the
stopping rule and the kept epoch never depend on the test set."""

from dataclasses import replace

import pytest
import torch
import yaml
from conftest import REPO
from defaults import model_config, training_config

from extreme_sparsity import training
from extreme_sparsity.dataset import PairedDigits
from extreme_sparsity.errors import TrainingDiverged
from extreme_sparsity.plumbing import settings
from extreme_sparsity.plumbing.checkpoint import load_model, save_model

MODEL = model_config(0.05, n_hidden=32)
# exactly 3 epochs, the last kept
CONFIG = training_config(
    0.05, seed=3, epochs=3, batch_size=128, deep_r_lr=0.05, noise_std=1e-3, stopping="fixed", checkpoint_selection="last",
)
# stops on validation: at least 2 epochs, target out of reach, so patience or max_epochs decides
UNTIL_PLATEAU = replace(
    CONFIG, epochs=2, stopping="validation_target", target_accuracy=0.99, max_epochs=6, patience=2,
    checkpoint_selection="best_validation",
)
# the authors' protocol: decaying lrs, no patience, the epoch of lowest validation loss kept
DECAYING = replace(
    CONFIG, epochs=2, stopping="validation_target", target_accuracy=0.99, max_epochs=4, patience=None,
    checkpoint_selection="lowest_validation_loss", lr_decay=0.7, deep_r_lr_decay=0.8,
)


class Killed(Exception):
    pass


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def quiet(_):
    pass


def test_training_learns_the_global_task(small_splits):
    result = training.train(MODEL, replace(CONFIG, epochs=4), *small_splits, log=quiet)
    accuracies = [record.test_accuracy for record in result.history]
    assert accuracies[-1] > 0.3 and accuracies[-1] > accuracies[0]
    assert result.history[-1].validation_accuracy > 0.3


def test_same_seed_gives_identical_weights_and_other_seed_differs(small_splits):
    runs = [training.train(MODEL, replace(CONFIG, seed=s), *small_splits, log=quiet).model for s in (3, 3, 4)]
    assert states_equal(runs[0].state_dict(), runs[1].state_dict())
    assert not torch.equal(runs[0].w_hh, runs[2].w_hh)
    assert not torch.equal(runs[0].sparse.active(), runs[2].sparse.active())


def misleading(data: PairedDigits) -> PairedDigits:
    """The same pairs with every target shifted: the better the model learns, the higher their loss."""
    return PairedDigits(data.inputs, data.digits, (data.target + 1) % 10)


@pytest.mark.parametrize(
    "config, mislead",
    [(CONFIG, False), (UNTIL_PLATEAU, False), (DECAYING, False), (DECAYING, True)],
    ids=["fixed", "validation_target", "lr_decay", "lowest_loss_before_the_kill"],
)
def test_killed_run_resumes_to_the_same_weights(small_splits, tmp_path, config, mislead):
    if mislead:  # the lowest validation loss comes before the kill: the resume file must carry its weights
        small_splits = (small_splits[0], misleading(small_splits[1]), small_splits[2])
    uninterrupted = training.train(MODEL, config, *small_splits, log=quiet)
    assert not mislead or uninterrupted.selected_epoch < 3
    resume = tmp_path / "resume.pt"

    def die_during_epoch_3(message):
        if message.startswith("epoch 3:"):
            raise Killed

    with pytest.raises(Killed):
        training.train(MODEL, config, *small_splits, resume_path=resume, log=die_during_epoch_3)
    assert resume.exists()
    messages = []
    resumed = training.train(MODEL, config, *small_splits, resume_path=resume, log=messages.append)
    assert messages[0].startswith("resuming after epoch 2")
    assert states_equal(uninterrupted.model.state_dict(), resumed.model.state_dict())
    assert [r.validation_accuracy for r in resumed.history] == [r.validation_accuracy for r in uninterrupted.history]
    assert (resumed.selected_epoch, resumed.stop_reason) == (uninterrupted.selected_epoch, uninterrupted.stop_reason)


@pytest.mark.parametrize(
    "other, differing",
    [
        (dict(config=replace(CONFIG, lr=0.3)), "training"),
        (dict(data={"seed": 1}), "data"),  # the workflow adds the data settings and the dataset file's attributes
        (dict(code="edited training code"), "code"),  # ... and a digest of the package modules that train
    ],
    ids=["training settings", "data", "code"],
)
def test_resume_state_of_another_run_is_refused_naming_what_differs(small_splits, tmp_path, other, differing):
    """Issue 15: a resume file is continued only by the run that wrote it: the same model and
    training settings, data and code; any other run starts from epoch 1 and says why."""
    resume = tmp_path / "resume.pt"
    identity = training.run_identity(MODEL, CONFIG, data={"seed": 0}, code="training code")

    def die_during_epoch_2(message):
        if message.startswith("epoch 2:"):
            raise Killed

    with pytest.raises(Killed):
        training.train(MODEL, CONFIG, *small_splits, resume_path=resume, identity=identity, log=die_during_epoch_2)
    config = other.get("config", CONFIG)
    parts = {"data": other.get("data", {"seed": 0}), "code": other.get("code", "training code")}
    messages = []
    refused = training.train(MODEL, config, *small_splits, resume_path=resume, identity=training.run_identity(MODEL, config, **parts), log=messages.append)
    assert messages[0] == (
        f"not resuming from {resume}: it was written by another run (other {differing}); "
        "training starts from epoch 1 and will overwrite it"
    )
    assert messages[1].startswith("epoch 1:")
    fresh = training.train(MODEL, config, *small_splits, log=quiet)
    assert states_equal(refused.model.state_dict(), fresh.model.state_dict())  # nothing of the old run was kept
    messages = []
    with pytest.raises(Killed):
        training.train(MODEL, CONFIG, *small_splits, resume_path=resume, identity=identity, log=die_during_epoch_2)
    training.train(MODEL, CONFIG, *small_splits, resume_path=resume, identity=identity, log=messages.append)
    assert messages[0].startswith(f"resuming after epoch 1 from {resume}")  # the same run is continued


def poisoned(data: PairedDigits) -> PairedDigits:
    """The same number of pairs with NaN images and targets that are all wrong."""
    return PairedDigits(torch.full_like(data.inputs, float("nan")), data.digits, (data.target + 1) % 10)


def test_test_split_never_changes_stopping_selection_or_weights(small_splits):
    """README Fidelity notes: "the test set never decides when to stop or which epoch is kept"."""
    train, validation, test = small_splits
    clean = training.train(MODEL, UNTIL_PLATEAU, train, validation, test, log=quiet)
    dirty = training.train(MODEL, UNTIL_PLATEAU, train, validation, poisoned(test), log=quiet)
    assert states_equal(clean.model.state_dict(), dirty.model.state_dict())
    assert (clean.selected_epoch, clean.stop_reason) == (dirty.selected_epoch, dirty.stop_reason)
    assert [r.validation_accuracy for r in clean.history] == [r.validation_accuracy for r in dirty.history]
    assert dirty.history[-1].test_accuracy != clean.history[-1].test_accuracy  # the poison reached the test measurement
    # ... while poisoning the validation pairs does change the run: the rule really reads them
    blind = training.train(MODEL, UNTIL_PLATEAU, train, poisoned(validation), test, log=quiet)
    assert (blind.selected_epoch, len(blind.history)) != (clean.selected_epoch, len(clean.history))


def test_best_validation_keeps_the_epoch_with_the_highest_validation_accuracy(small_splits):
    result = training.train(MODEL, replace(UNTIL_PLATEAU, max_epochs=4, patience=10), *small_splits, log=quiet)
    accuracies = [r.validation_accuracy for r in result.history]
    assert len(accuracies) == 4
    assert result.selected_epoch == accuracies.index(max(accuracies)) + 1
    validation = small_splits[1]
    assert training.evaluate(result.model, validation)["accuracy"] == pytest.approx(max(accuracies))


def config_for(rule, **changes):
    return replace(training_config(0.05, seed=0, epochs=3, stopping=rule, target_accuracy=0.9, max_epochs=8, patience=3), **changes)


@pytest.mark.parametrize(
    "accuracies, rule, expected",
    [
        ([0.95, 0.95], "validation_target", None),  # below the minimum of 3 epochs
        ([0.5, 0.6, 0.7], "fixed", "fixed 3 epochs"),
        ([0.5, 0.6, 0.7], "validation_target", None),
        ([0.5, 0.95, 0.7], "validation_target", None),  # the target counts only at the last epoch
        ([0.5, 0.6, 0.9], "validation_target", "reached the target 0.9"),
        ([0.5, 0.8, 0.7, 0.7, 0.79], "validation_target", "no better validation accuracy for 3 epochs (best at epoch 2)"),
        ([0.5, 0.8, 0.7, 0.7, 0.81], "validation_target", None),
        ([0.5, 0.6, 0.61, 0.62, 0.63, 0.64, 0.65, 0.66], "validation_target", "max_epochs = 8"),
    ],
)
def test_stop_reason_by_hand(accuracies, rule, expected):
    reason = training.stop_reason(accuracies, config_for(rule))
    assert reason is None if expected is None else expected in reason


def test_selected_epoch_is_the_first_best_or_the_last():
    assert training.selected_epoch([0.5, 0.8, 0.7, 0.8], "best_validation") == 2
    assert training.selected_epoch([0.5, 0.8, 0.7, 0.8], "last") == 4


def test_max_epochs_below_epochs_is_refused():
    with pytest.raises(ValueError, match="max_epochs"):
        config_for("validation_target", max_epochs=2)


def test_divergence_stops_with_p_seed_epoch_and_value(small_splits):
    with pytest.raises(TrainingDiverged, match=r"p=0.05, seed=3, epoch=1: .* = (nan|inf)"):
        training.train(MODEL, replace(CONFIG, optimizer="sgd", lr=1e38), *small_splits, log=quiet)


def test_checkpoint_round_trip_keeps_weights_and_active_connections(small_splits, tmp_path):
    model = training.train(MODEL, replace(CONFIG, epochs=1), *small_splits, log=quiet).model
    save_model(tmp_path / "model.pt", model, {"test_accuracy": 0.5})
    loaded, saved = load_model(tmp_path / "model.pt")
    assert states_equal(model.state_dict(), loaded.state_dict())
    active = model.sparse.active()
    assert len(saved["active_connections"]["into_subnetwork_0"]) == active[0].sum() == MODEL.n_active
    test = small_splits[2]
    assert training.evaluate(loaded, test) == training.evaluate(model, test)


# -- the authors' protocol: lr decay, stopping without patience, the lowest validation loss kept --


def recorded_learning_rates(monkeypatch):
    """The lrs each epoch really runs with, read from the optimizers as _run_epoch starts."""
    used = []
    run_epoch = training._run_epoch

    def recording(model, optimizer, deep_r, *args):
        used.append(([group["lr"] for group in optimizer.param_groups], deep_r.lr))
        return run_epoch(model, optimizer, deep_r, *args)

    monkeypatch.setattr(training, "_run_epoch", recording)
    return used


@pytest.mark.parametrize("optimizer, lr", [("adadelta", 0.5), ("adam", 1e-3), ("sgd", 0.1)])
def test_lr_decay_runs_epoch_k_with_lr_times_gamma_to_the_k(small_splits, monkeypatch, optimizer, lr):
    used = recorded_learning_rates(monkeypatch)
    config = replace(CONFIG, epochs=4, optimizer=optimizer, lr=lr, lr_decay=0.5, deep_r_lr_decay=0.8)
    decayed = training.train(MODEL, config, *small_splits, log=quiet)
    assert [rates for rates, _ in used] == [[pytest.approx(lr * 0.5**k, rel=1e-12)] for k in range(4)]
    assert [deep_r_lr for _, deep_r_lr in used] == [pytest.approx(0.05 * 0.8**k, rel=1e-12) for k in range(4)]
    constant = training.train(MODEL, replace(config, lr_decay=None, deep_r_lr_decay=None), *small_splits, log=quiet)
    assert [rates for rates, _ in used[4:]] == [[lr]] * 4 and [d for _, d in used[4:]] == [0.05] * 4
    assert not torch.equal(decayed.model.w_hh, constant.model.w_hh)
    only_deep_r = training.train(MODEL, replace(config, lr_decay=None), *small_splits, log=quiet)
    assert not torch.equal(only_deep_r.model.sparse.phi, constant.model.sparse.phi)


def test_no_decay_is_gamma_one_bit_for_bit(small_splits):
    """gamma = 1 sets every lr to the value it has without decay: the same weights to the bit (the
    weights without decay were checked equal to those of the code before the option)."""
    constant = training.train(MODEL, UNTIL_PLATEAU, *small_splits, log=quiet)
    unit = training.train(MODEL, replace(UNTIL_PLATEAU, lr_decay=1.0, deep_r_lr_decay=1.0), *small_splits, log=quiet)
    assert states_equal(constant.model.state_dict(), unit.model.state_dict())
    assert (constant.selected_epoch, constant.stop_reason) == (unit.selected_epoch, unit.stop_reason)


@pytest.mark.parametrize("gamma", [0.0, -0.5, 1.5])
def test_lr_decay_outside_zero_one_is_refused(gamma):
    with pytest.raises(ValueError, match="lr_decay must be None or lie in"):
        replace(CONFIG, lr_decay=gamma)
    with pytest.raises(ValueError, match="deep_r_lr_decay must be None or lie in"):
        replace(CONFIG, deep_r_lr_decay=gamma)


def authors_rule(**changes):
    """Stop once validation accuracy >= 0.9, not before epoch 3, no patience; keep the lowest loss."""
    return replace(
        training_config(
            0.05, seed=0, epochs=3, stopping="validation_target", target_accuracy=0.9, max_epochs=8, patience=None,
            checkpoint_selection="lowest_validation_loss",
        ),
        **changes,
    )


def scripted_run(curve, config):
    """(stopping epoch, reason, kept epoch) of training along a scripted validation curve of
    (accuracy, loss) per epoch."""
    for epoch in range(1, len(curve) + 1):
        accuracies, losses = [a for a, _ in curve[:epoch]], [loss for _, loss in curve[:epoch]]
        reason = training.stop_reason(accuracies, config)
        if reason is not None:
            return epoch, reason, training.selected_epoch(accuracies, config.checkpoint_selection, losses)
    raise AssertionError("the scripted curve ended before training stopped")


@pytest.mark.parametrize(
    "curve, stop, reason, kept",
    [
        # the target reached at epochs 1-2 does not stop before the minimum of 3 epochs
        ([(0.95, 0.3), (0.92, 0.2), (0.91, 0.25)], 3, "reached the target 0.9", 2),
        ([(0.5, 1.0), (0.6, 0.7), (0.7, 0.7), (0.89, 0.8), (0.9, 0.75)], 5, "reached the target 0.9", 2),  # tie: earliest
        # a long plateau: no patience rule, so only max_epochs ends it
        ([(0.5, 1.0), (0.8, 0.4)] + [(0.7, 0.6)] * 6, 8, "max_epochs = 8", 2),
        ([(0.5, 1.0), (0.8, 0.6), (0.7, 0.7), (0.8, 0.5), (0.7, 0.45), (0.6, 0.9), (0.7, 0.9), (0.85, 0.9)], 8, "max_epochs", 5),
    ],
)
def test_authors_rule_on_scripted_validation_curves(curve, stop, reason, kept):
    stopped, why, selected = scripted_run(curve, authors_rule())
    assert (stopped, selected) == (stop, kept)
    assert reason in why


def test_patience_none_never_stops_on_a_plateau_but_a_patience_does():
    plateau = [(0.5, 1.0), (0.8, 0.4)] + [(0.7, 0.6)] * 6
    assert scripted_run(plateau, authors_rule())[0] == 8
    stopped, why, _ = scripted_run(plateau, authors_rule(patience=3))
    assert (stopped, why) == (5, "no better validation accuracy for 3 epochs (best at epoch 2)")


def test_selected_epoch_by_lowest_validation_loss_is_the_first_lowest():
    accuracies, losses = [0.5, 0.9, 0.7, 0.6], [0.8, 0.5, 0.3, 0.3]
    assert training.selected_epoch(accuracies, "lowest_validation_loss", losses) == 3
    assert training.selected_epoch(accuracies, "best_validation", losses) == 2


def test_lowest_validation_loss_keeps_that_epochs_weights(small_splits):
    result = training.train(MODEL, replace(DECAYING, target_accuracy=1.0), *small_splits, log=quiet)
    losses = [r.validation_loss for r in result.history]
    assert len(losses) == 4 and result.selected_epoch == losses.index(min(losses)) + 1
    assert training.evaluate(result.model, small_splits[1])["loss"] == pytest.approx(min(losses), rel=1e-6)


def test_settings_map_the_lr_decays_and_the_sparse_init():
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["training"]["lr_decay"], config["deep_r"]["lr_decay"] = 0.9, 0.95
    config["deep_r"]["init_magnitude"], config["deep_r"]["init_std"] = "half_normal", 0.05
    config["training"]["stopping"]["patience"] = None
    config["training"]["checkpoint_selection"] = "lowest_validation_loss"
    trained = settings.training_config(config, "plain", 0.01, 2)
    assert (trained.lr_decay, trained.deep_r_lr_decay, trained.patience) == (0.9, 0.95, None)
    assert trained.checkpoint_selection == "lowest_validation_loss"
    model = settings.model_config(config, "plain", 0.01)
    assert (model.sparse_init, model.sparse_init_std) == ("half_normal", 0.05)
    config["training"]["lr_decay"] = config["deep_r"]["lr_decay"] = None
    config["deep_r"]["init_magnitude"] = "uniform"
    constant = settings.training_config(config, "plain", 0.01, 2)
    assert (constant.lr_decay, constant.deep_r_lr_decay) == (None, None)
    assert settings.model_config(config, "plain", 0.01).sparse_init == "uniform"
