"""Weight-mask metric (section 3.2, equation 6).

The trained weights are frozen; every maskable weight gets a score and the forward pass keeps
only the weights whose scores are in the global top q (edge-popup, Ramanujan et al. 2020, with a
straight-through gradient to the scores). The scores are trained to name digit k; then
M(n, k) = |S_k ∩ θ_n| / |S_k|, the share of the kept weights that belong to sub-network n
(what a mask is: masking.py). A job trains all its masks as one batched problem (mask_engine.py);
``train_scores`` here trains one mask as the paper describes it, the reference the engine is
tested against.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from ..dataset import PairedDigits
from ..model import GlobalModel, build_model, decide
from ..optimizers import SGD
from ..seeding import trial_seed
from . import accuracy_rows, metric_rows
from .mask_engine import MaskRequest, MaskResult, train_masks_together
# mask_layout and share_per_subnetwork: the metric's vocabulary, re-exported for its callers
from .masking import MaskLayout, WeightMaskSettings, initial_scores, mask_layout, masked_readouts, share_per_subnetwork, top_mask  # noqa: F401


def weight_mask_rows(
    model: GlobalModel, train: PairedDigits, test: PairedDigits, section: dict, q: float, seed: int, log=print
) -> list[dict]:
    """The rows of one weight-mask job (config section ``weight_mask_metric`` at mask size ``q``):
    ``trials`` trials on the trained ``model`` and, with ``supermask_control``, one on the same
    network before training (its initial weights and connections: a reference for the masks'
    accuracy rather than a measurement), all trained as one batched problem."""
    settings = WeightMaskSettings.from_config(section, q)
    requests = [
        ("weight_mask", trial, MaskRequest(model, settings, trial_seed(seed, trial))) for trial in range(section["trials"])
    ]
    if section["supermask_control"]:
        control = build_model(model.config, seed)
        requests.append(("weight_mask_control", 0, MaskRequest(control, settings, trial_seed(seed, 0))))
    results = train_masks_together([request for _, _, request in requests], train, test)
    rows = []
    for (name, trial, _), result in zip(requests, results):
        values, accuracy = result.shares[settings.sparse_owner], result.accuracy
        log(f"{name}, q={q}, trial {trial}: M[n, k] =\n{values}\nmasked accuracy: {accuracy}")
        rows += metric_rows(name, values, trial=trial) + accuracy_rows(name, accuracy, trial=trial)
    return rows


def train_scores(
    model: GlobalModel, layout: MaskLayout, data: PairedDigits, digit: int, settings: WeightMaskSettings,
    generator: torch.Generator,
) -> torch.Tensor:
    """Train the scores of a mask so that the masked network names ``digit`` k of each pair."""
    scores = initial_scores(model, layout, settings.score_init, generator).requires_grad_(True)
    optimizer = SGD([scores], lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
    q_train = settings.q_train or settings.q
    labels = data.digits[:, digit]
    for _ in range(settings.epochs):
        order = torch.randperm(len(data), generator=generator)
        for start in range(0, len(data), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            output, _ = decide(masked_readouts(model, layout, top_mask(scores, q_train), data.inputs[batch]), model.config.decision)
            loss = F.cross_entropy(output, labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return scores.detach()


@torch.no_grad()
def masked_accuracy(model: GlobalModel, layout: MaskLayout, scores: torch.Tensor, q: float, data: PairedDigits, digit: int) -> float:
    """Accuracy of the masked network at naming ``digit`` k."""
    flat_mask = top_mask(scores, q)
    correct = 0
    for start in range(0, len(data), 4096):
        output, _ = decide(masked_readouts(model, layout, flat_mask, data.inputs[start : start + 4096]), model.config.decision)
        correct += (output.argmax(1) == data.digits[start : start + 4096, digit]).sum().item()
    return correct / len(data)


def train_masks(model: GlobalModel, train: PairedDigits, test: PairedDigits, settings: WeightMaskSettings, seed: int) -> MaskResult:
    """Masks trained on digit 0 then digit 1 from one seeded generator, counted every way."""
    return train_masks_together([MaskRequest(model, settings, seed)], train, test)[0]


def weight_mask_metric(
    model: GlobalModel, train: PairedDigits, test: PairedDigits, settings: WeightMaskSettings, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """M[n, k] (equation 6, W_sparse counted as ``settings.sparse_owner``) and the masked network's
    test accuracy on each digit k."""
    result = train_masks(model, train, test, settings, seed)
    return result.shares[settings.sparse_owner], result.accuracy


def mask_sweep(
    model: GlobalModel, train: PairedDigits, test: PairedDigits, settings: WeightMaskSettings, q_grid: list[float],
    seed: int,
) -> list[tuple[float, MaskResult]]:
    """The metric at every q of ``q_grid`` (trial 0 of each: the same masks a metric job trains at that q)."""
    requests = [MaskRequest(model, dataclasses.replace(settings, q=float(q)), trial_seed(seed, 0)) for q in q_grid]
    return list(zip(q_grid, train_masks_together(requests, train, test)))


def sweep_rows(sweep: list[tuple[float, MaskResult]]) -> list[dict]:
    """Tidy rows of :func:`mask_sweep`: M[n, k] per q and way of counting W_sparse,
    and the masked accuracy per q."""
    rows = []
    for q, result in sweep:
        for attribution, values in result.shares.items():
            rows += [{**row, "q": q, "attribution": attribution} for row in metric_rows("weight_mask", values)]
            rows += [{**row, "q": q, "attribution": attribution} for row in accuracy_rows("weight_mask", result.accuracy)]
    return rows
