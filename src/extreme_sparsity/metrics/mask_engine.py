"""The batched engine of the weight-mask metric: many masks (trials, digits, networks, values of
q) trained as one problem, each row with its own scores and batch order drawn exactly as one mask
after the other would draw them (weight_mask.train_scores), so that the results agree with
one-at-a-time training up to rounding."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap

from ..dataset import PairedDigits
from ..model import GlobalModel, decide
from ..optimizers import SGD
from .masking import MaskLayout, WeightMaskSettings, initial_scores, mask_layout, share_per_subnetwork


@dataclass(frozen=True)
class MaskResult:
    """One trial of the metric: M[n, k] under each way of counting W_sparse, and the masked
    network's test accuracy on each digit k."""

    shares: dict[str, np.ndarray]
    accuracy: np.ndarray
    scores: torch.Tensor | None = None  # (2, n_maskable): the trained scores of digit 0 and digit 1


@dataclass(frozen=True)
class MaskRequest:
    """One call of :func:`train_masks`: masks on both digits of ``model``, drawn from ``seed``."""

    model: GlobalModel
    settings: WeightMaskSettings
    seed: int


@dataclass
class _Row:
    """One mask of a batched problem: a request's model and digit, its first scores and batch orders."""

    model: GlobalModel
    layout: MaskLayout
    digit: int
    q: float
    q_train: float
    scores: torch.Tensor
    orders: list[torch.Tensor]


def _rows_of(request: MaskRequest, n_train: int) -> list[_Row]:
    """The two masks of a request, with every random draw in the order :func:`train_scores` makes it
    for digit 0 then digit 1 from one generator: the same scores and batches as one after the other."""
    generator = torch.Generator().manual_seed(request.seed)
    settings, layout = request.settings, mask_layout(request.model, request.settings.sparse_owner)
    rows = []
    for digit in range(2):
        scores = initial_scores(request.model, layout, settings.score_init, generator)
        orders = [torch.randperm(n_train, generator=generator) for _ in range(settings.epochs)]
        rows.append(_Row(request.model, layout, digit, settings.q, settings.q_train or settings.q, scores, orders))
    return rows


def _shared_settings(requests: list[MaskRequest]) -> WeightMaskSettings:
    """The training settings every request must share to be trained as one problem (q may differ)."""
    first = requests[0].settings
    for request in requests[1:]:
        if dataclasses.replace(request.settings, q=first.q, q_train=first.q_train) != first:
            raise ValueError(f"masks trained together must share their settings but q: {request.settings} != {first}")
    return first


class _MaskedBatch:
    """The frozen parameters of every row's model, masked row by row, as tensors with a leading axis R.

    Input weights are never masked, so each model's input drive W_ih x + b_ih is computed once
    for all its samples and gathered per batch (it was a quarter of a mask step's products).
    """

    def __init__(self, rows: list[_Row], datasets: dict[str, PairedDigits]):
        self.rows, self.names = rows, list(rows[0].layout.eligible)
        models = {id(row.model): row.model for row in rows}
        with torch.no_grad():
            self.drives = {
                split: {key: _drive(model, data) for key, model in models.items()} for split, data in datasets.items()
            }
        values = [dict(row.model.named_parameters()) for row in rows]
        self.base = {name: torch.stack([v[name].detach() for v in values]) for name in self.names}
        # each row's own buffers too (W_sparse's signs differ between networks)
        buffers = [dict(row.model.named_buffers()) for row in rows]
        self.buffers = {name: torch.stack([b[name] for b in buffers]) for name in buffers[0]}
        self.positions = {  # (R, count): flat positions of each row's maskable entries
            name: torch.stack([row.layout.eligible[name].flatten().nonzero().squeeze(1) for row in rows])
            for name in self.names
        }
        counts = {name: positions.shape[1] for name, positions in self.positions.items()}
        self.offsets = dict(zip(self.names, np.cumsum([0] + [counts[name] for name in self.names])[:-1].tolist()))
        self.counts = counts
        self.model = rows[0].model

    def parameters(self, masks: torch.Tensor) -> dict[str, torch.Tensor]:
        """The masked parameters (and the buffers) of every row, masks (R, n_maskable) in each row's
        layout order."""
        masked = dict(self.buffers)
        for name in self.names:
            base = self.base[name]
            offset, count = self.offsets[name], self.counts[name]
            full = torch.ones(base.shape[0], base[0].numel()).scatter(1, self.positions[name], masks[:, offset : offset + count])
            masked[name] = base * full.view_as(base)
        return masked

    def readouts(self, masks: torch.Tensor, split: str, samples: torch.Tensor | slice) -> torch.Tensor:
        """Readouts (R, batch, 2, C) of every row's masked network on its own samples of ``split``
        (``samples``: (R, batch) indices, or one slice for all rows)."""
        drives = torch.stack([
            self.drives[split][id(row.model)][samples if isinstance(samples, slice) else samples[r]]
            for r, row in enumerate(self.rows)
        ])

        def one(parameters, drive):
            return functional_call(self.model, parameters, (None,), {"drive": drive})

        return vmap(one)(self.parameters(masks), drives)


def _drive(model: GlobalModel, data: PairedDigits, batch_size: int = 4096) -> torch.Tensor:
    return torch.cat([model.input_drive(data.inputs[start : start + batch_size]) for start in range(0, len(data), batch_size)])


def _hard_masks(scores: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
    """Row r keeps its top ``kept[r]`` scores (1) and drops the rest (0); gradient straight through."""
    indices = torch.topk(scores.detach(), int(kept.max()), dim=1).indices
    keep = (torch.arange(indices.shape[1]) < kept[:, None]).to(scores.dtype)
    return torch.zeros_like(scores).scatter(1, indices, keep) + scores - scores.detach()


def _kept(rows: list[_Row], n_maskable: int, attribute: str) -> torch.Tensor:
    return torch.tensor([max(1, round(getattr(row, attribute) * n_maskable)) for row in rows])


def train_masks_together(requests: list[MaskRequest], train: PairedDigits, test: PairedDigits) -> list[MaskResult]:
    """Several calls of :func:`train_masks` (trials, models, q) as one batched problem.

    Each request's masks see the same initial scores and batches as when trained one after the
    other (:func:`train_scores`), so the results agree up to rounding; only the order of the
    floating-point work differs. The requests must share every setting but q.
    """
    settings = _shared_settings(requests)
    rows = [row for request in requests for row in _rows_of(request, len(train))]
    if len({row.model.config for row in rows}) > 1:  # one module runs every row's parameters
        raise ValueError(f"masks trained together need models of one configuration, got {[r.model.config for r in rows]}")
    batch = _MaskedBatch(rows, {"train": train, "test": test})
    scores = torch.stack([row.scores for row in rows]).requires_grad_(True)
    optimizer = SGD([scores], lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
    kept_train, decision = _kept(rows, scores.shape[1], "q_train"), rows[0].model.config.decision
    labels = torch.stack([train.digits[:, row.digit] for row in rows])  # (R, S)
    for epoch in range(settings.epochs):
        orders = torch.stack([row.orders[epoch] for row in rows])
        for start in range(0, len(train), settings.batch_size):
            chosen = orders[:, start : start + settings.batch_size]
            readouts = batch.readouts(_hard_masks(scores, kept_train), "train", chosen)
            output, _ = decide(readouts.flatten(0, 1), decision)
            loss = F.cross_entropy(output, labels.gather(1, chosen).flatten(), reduction="none")
            optimizer.zero_grad()
            loss.view(len(rows), -1).mean(1).sum().backward()
            optimizer.step()
    scores = scores.detach()
    accuracy = _masked_accuracies(batch, rows, scores, test)

    results = []
    for first in range(0, len(rows), 2):
        layout = rows[first].layout
        shares = {attribution: np.zeros((2, 2)) for attribution in layout.attributions}
        for row_index in (first, first + 1):
            row = rows[row_index]
            for attribution, table in shares.items():
                table[:, row.digit] = share_per_subnetwork(layout, scores[row_index], row.q, attribution)
        results.append(MaskResult(shares, accuracy[first : first + 2].numpy(), scores[first : first + 2]))
    return results


@torch.no_grad()
def _masked_accuracies(batch: _MaskedBatch, rows: list[_Row], scores: torch.Tensor, test: PairedDigits) -> torch.Tensor:
    """Test accuracy of every row's mask (kept share q) at naming its digit."""
    masks = _hard_masks(scores, _kept(rows, scores.shape[1], "q"))
    decision, correct = rows[0].model.config.decision, torch.zeros(len(rows), dtype=torch.float64)
    digits = torch.tensor([row.digit for row in rows])
    for start in range(0, len(test), 2048):
        part = slice(start, start + 2048)
        readouts = batch.readouts(masks, "test", part)
        output, _ = decide(readouts.flatten(0, 1), decision)
        predicted = output.argmax(1).view(len(rows), -1)
        correct += (predicted == test.digits[part][:, digits].t()).sum(1)
    return correct / len(test)
