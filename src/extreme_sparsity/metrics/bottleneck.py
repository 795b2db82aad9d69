"""Bottleneck metric (section 3.1).

For sub-network n and digit k: freeze the trained bottleneck model, re-initialise only the
bottleneck-to-readout weights W_br(n), b_br(n), retrain them to name digit k from sub-network n's
5 bottleneck units alone, and report the test accuracy. The frozen bottleneck states are computed
once; the four (n, k) readouts are trained together, which is exactly four independent trainings
because the loss is their sum and the optimiser acts element-wise.

The same retrained readouts also give the loss-based metric ``bottleneck_loss`` (the one the
authors plotted): L[n, k], the mean test cross-entropy of readout (n, k), and the specialization
(L(n, 1 - n) - L(n, n)) / (L(n, 1 - n) + L(n, n)), positive when the own digit's loss is lower.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from ..dataset import PairedDigits
from ..model import GlobalModel
from ..optimizers import Adadelta
from ..seeding import trial_seed
from ..specialization import specialization_of_subnetworks
from . import metric_rows

LOSS_METRIC = "bottleneck_loss"


@dataclass(frozen=True)
class BottleneckSettings:
    """Config section ``bottleneck_metric`` and the readouts' initial bound, ``model.init_bound``
    (plumbing/settings.py's ``bottleneck_settings``)."""

    epochs: int
    lr: float
    rho: float
    batch_size: int
    init_bound: float
    trials: int  # repetitions with fresh readouts and batch orders (seeds from seeding.trial_seed)
    lr_decay: float | None  # gamma: epoch k retrains at lr * gamma**k (StepLR, step 1); None: constant lr

    def epoch_lr(self, epoch: int) -> float:
        """The readouts' learning rate in epoch ``epoch`` (0-based)."""
        return self.lr if self.lr_decay is None else self.lr * self.lr_decay**epoch


class Readouts(NamedTuple):
    """What one retraining of the four (n, k) readouts gives: test accuracy[n, k] and mean test
    cross-entropy loss[n, k]."""

    accuracy: np.ndarray
    loss: np.ndarray


@torch.no_grad()
def bottleneck_states(model: GlobalModel, data: PairedDigits, batch_size: int = 4096) -> torch.Tensor:
    """Frozen bottleneck states b(n) of every sample, shape (S, 2, bottleneck)."""
    if not model.config.bottleneck:
        raise ValueError("the bottleneck metric needs a model of the bottleneck architecture")
    parts = [
        model.bottleneck_states(model.hidden_states(data.inputs[start : start + batch_size]))
        for start in range(0, len(data), batch_size)
    ]
    return torch.cat(parts)


def retrain_readouts(
    train_states: torch.Tensor,
    train_digits: torch.Tensor,
    test_states: torch.Tensor,
    test_digits: torch.Tensor,
    settings: BottleneckSettings,
    generator: torch.Generator,
    n_classes: int = 10,
) -> np.ndarray:
    """Test accuracy[n, k] of fresh readouts from sub-network n's bottleneck trained on digit k.

    ``*_states`` are (S, 2, B) bottleneck states, ``*_digits`` the (S, 2) digits.
    """
    (readouts,) = retrain_readouts_together(
        [(train_states, test_states, generator)], train_digits, test_digits, settings, n_classes
    )
    return readouts.accuracy


def retrain_readouts_together(
    problems: list[tuple[torch.Tensor, torch.Tensor, torch.Generator]],
    train_digits: torch.Tensor,
    test_digits: torch.Tensor,
    settings: BottleneckSettings,
    n_classes: int = 10,
) -> list[Readouts]:
    """:func:`retrain_readouts` of several (train states, test states, generator) problems (trials,
    time steps) as one batched problem.

    Each problem draws its readouts, then its batch order of every epoch, from its own generator,
    as it would alone; the loss is the sum of the problems' losses and Adadelta acts element-wise,
    so the results agree with separate trainings up to rounding. Each problem gives its
    :class:`Readouts` (accuracy and mean test cross-entropy of the same readouts).
    """
    size, n_train = problems[0][0].shape[-1], len(train_digits)
    weights, biases, orders = [], [], []
    for _, _, generator in problems:  # one readout per (n, k): weights (n, k, class, unit)
        weights.append(torch.empty(2, 2, n_classes, size).uniform_(-settings.init_bound, settings.init_bound, generator=generator))
        biases.append(torch.empty(2, 2, n_classes).uniform_(-settings.init_bound, settings.init_bound, generator=generator))
        orders.append(torch.stack([torch.randperm(n_train, generator=generator) for _ in range(settings.epochs)]))
    weight, bias = torch.stack(weights).requires_grad_(True), torch.stack(biases).requires_grad_(True)
    orders = torch.stack(orders)  # (R, epochs, S)
    train_states = torch.stack([problem[0] for problem in problems])  # (R, S, 2, B)
    optimizer = Adadelta([weight, bias], lr=settings.lr, rho=settings.rho)

    def logits(states: torch.Tensor) -> torch.Tensor:  # (R, S, n, k, class)
        return torch.einsum("rsnu,rnkcu->rsnkc", states, weight) + bias[:, None]

    def loss_per_readout(output: torch.Tensor, digits: torch.Tensor) -> torch.Tensor:
        targets = digits[:, :, None, :].expand(-1, -1, 2, -1)  # target of readout (n, k) is digit k
        return F.cross_entropy(output.permute(0, 4, 1, 2, 3), targets, reduction="none").mean(1)

    rows = torch.arange(len(problems))[:, None]
    for epoch in range(settings.epochs):
        if settings.lr_decay is not None:  # None leaves the optimiser untouched: today's values bit for bit
            for group in optimizer.param_groups:
                group["lr"] = settings.epoch_lr(epoch)
        for start in range(0, n_train, settings.batch_size):
            batch = orders[:, epoch, start : start + settings.batch_size]  # (R, batch)
            loss = loss_per_readout(logits(train_states[rows, batch]), train_digits[batch]).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        output = logits(torch.stack([problem[1] for problem in problems]))
        correct = output.argmax(-1) == test_digits[None, :, None, :]  # (R, S, n, k)
        accuracy = correct.float().mean(1).numpy()
        loss = loss_per_readout(output, test_digits.expand(len(problems), -1, -1)).numpy()
    return [Readouts(accuracy[index], loss[index]) for index in range(len(problems))]


def loss_specialization(loss: np.ndarray) -> list[float]:
    """[M_spec(0), M_spec(1)] of the loss table L[n, k]: (L(n, 1 - n) - L(n, n)) / (L(n, 1 - n) + L(n, n)),
    equation (8) on -L (a lower own-digit loss is more specialized); 0 when both losses are 0."""
    return specialization_of_subnetworks(-np.asarray(loss, dtype=float))


def readout_rows(readouts: Readouts, trial: int = 0) -> list[dict]:
    """Tidy rows of both bottleneck metrics from one retraining: ``bottleneck`` (quantity M, the
    accuracy) and ``bottleneck_loss`` (quantity loss, specialization by :func:`loss_specialization`)."""
    loss = np.asarray(readouts.loss, dtype=float)
    return metric_rows("bottleneck", readouts.accuracy, trial=trial) + metric_rows(
        LOSS_METRIC, loss, quantity="loss", similarity=-loss, trial=trial
    )


def bottleneck_metric(
    model: GlobalModel, train: PairedDigits, test: PairedDigits, settings: BottleneckSettings, seed: int
) -> list[np.ndarray]:
    """M[n, k] of each trial: test accuracy of sub-network n's retrained bottleneck readout on digit k."""
    return [readouts.accuracy for readouts in bottleneck_readouts(model, train, test, settings, seed)]


def bottleneck_readouts(
    model: GlobalModel, train: PairedDigits, test: PairedDigits, settings: BottleneckSettings, seed: int
) -> list[Readouts]:
    """:class:`Readouts` (test accuracy and mean test loss of readout (n, k)) of each trial.

    The frozen states are computed once; trial t retrains from the seed ``trial_seed(seed, t)``;
    the trials are trained together.
    """
    train_states, test_states = bottleneck_states(model, train), bottleneck_states(model, test)
    problems = [(train_states, test_states, _trial_generator(seed, trial)) for trial in range(settings.trials)]
    return retrain_readouts_together(problems, train.digits, test.digits, settings, model.config.n_classes)


def _trial_generator(seed: int, trial: int) -> torch.Generator:
    return torch.Generator().manual_seed(trial_seed(seed, trial))


def bottleneck_time_course(
    model: GlobalModel, train: PairedDigits, test: PairedDigits, settings: BottleneckSettings, seed: int
) -> list[list[np.ndarray]]:
    """For every step t = 1..T, M[n, k] of each trial with the readouts retrained on the bottleneck
    of h_t, b_t(n) = W_hb(n) h_t(n) + b_hb(n); at t = T the values of :func:`bottleneck_metric`."""
    steps = bottleneck_time_course_readouts(model, train, test, settings, seed)
    return [[readouts.accuracy for readouts in trials] for trials in steps]


def bottleneck_time_course_readouts(
    model: GlobalModel, train: PairedDigits, test: PairedDigits, settings: BottleneckSettings, seed: int
) -> list[list[Readouts]]:
    """:func:`bottleneck_time_course` with each trial's :class:`Readouts` (accuracy and loss).
    All steps and trials are trained together."""
    train_states, test_states = bottleneck_states_every_step(model, train), bottleneck_states_every_step(model, test)
    problems = [
        (train_step, test_step, _trial_generator(seed, trial))
        for train_step, test_step in zip(train_states, test_states)
        for trial in range(settings.trials)
    ]
    flat = retrain_readouts_together(problems, train.digits, test.digits, settings, model.config.n_classes)
    return [flat[step * settings.trials : (step + 1) * settings.trials] for step in range(len(train_states))]


@torch.no_grad()
def bottleneck_states_every_step(model: GlobalModel, data: PairedDigits, batch_size: int = 4096) -> torch.Tensor:
    """Bottleneck states b_t(n) of every sample at every step, shape (T, S, 2, bottleneck)."""
    if not model.config.bottleneck:
        raise ValueError("the bottleneck metric needs a model of the bottleneck architecture")
    parts = []
    for start in range(0, len(data), batch_size):
        states = model.hidden_states(data.inputs[start : start + batch_size], every_step=True)
        parts.append(torch.stack([model.bottleneck_states(step) for step in states]))
    return torch.cat(parts, dim=1)


def budget_rows(
    model: GlobalModel, train: PairedDigits, test: PairedDigits, settings: BottleneckSettings,
    budgets: list[int], seed: int,
) -> list[dict]:
    """Tidy rows of the bottleneck metric (trial 0) after each number of retraining epochs."""
    rows = []
    for epochs in budgets:
        (values,) = bottleneck_metric(model, train, test, dataclasses.replace(settings, epochs=epochs, trials=1), seed)
        rows += [{**row, "epochs": epochs} for row in metric_rows("bottleneck", values)]
    return rows
