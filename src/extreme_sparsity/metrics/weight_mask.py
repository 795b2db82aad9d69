"""Weight-mask metric (section 3.2, equation 6).

The trained weights are frozen; every maskable weight gets a score and the forward pass keeps
only the weights whose scores are in the global top q (edge-popup, Ramanujan et al. 2020, with a
straight-through gradient to the scores). The scores are trained to name digit k; then
M(n, k) = |S_k ∩ θ_n| / |S_k|, the share of the kept weights that belong to sub-network n.
Input weights W_ih and biases b_ih are never masked. The sparse connections W_sparse(m->n) count
in sub-network n (``sparse_owner="target"``: they appear in n's equation 3), in m (``"source"``),
or are left unmasked and uncounted (``"unmasked"``, the authors' code); only active connections
are parameters, dormant ones are structurally absent.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap

from ..dataset import PairedDigits
from ..model import GlobalModel, decide
from ..seeding import trial_seed
from . import accuracy_rows, metric_rows

NEVER_MASKED = ("w_ih", "b_ih")
SPARSE = "sparse.phi"
SCORE_INITS = ("kaiming_uniform", "uniform")
SPARSE_OWNERS = ("target", "source", "unmasked")


@dataclass(frozen=True)
class WeightMaskSettings:
    q: float = 0.05
    q_train: float | None = None  # None: train at q too (the paper); the authors' code trained at 0.1
    epochs: int = 1
    lr: float = 0.1
    momentum: float = 0.0
    weight_decay: float = 0.0
    batch_size: int = 256
    score_init: str = "kaiming_uniform"
    sparse_owner: str = "target"

    def __post_init__(self):
        if self.score_init not in SCORE_INITS:
            raise ValueError(f"score_init must be one of {SCORE_INITS}, got {self.score_init!r}")
        if self.sparse_owner not in SPARSE_OWNERS:
            raise ValueError(f"sparse_owner must be one of {SPARSE_OWNERS}, got {self.sparse_owner!r}")

    @classmethod
    def from_config(cls, section: dict, q: float) -> "WeightMaskSettings":
        """The settings of config section ``weight_mask_metric`` at the mask size ``q`` (the
        section's own ``q`` may be ``auto``); keys that are not mask-training settings are ignored."""
        names = {field.name for field in dataclasses.fields(cls)} - {"q"}
        return cls(q=float(q), **{key: value for key, value in section.items() if key in names})


@dataclass(frozen=True)
class MaskLayout:
    """The maskable entries θ of a model, in a fixed flat order, and the sub-network of each."""

    eligible: dict[str, torch.Tensor]  # parameter name -> boolean mask of its maskable entries
    target_owner: torch.Tensor  # (n_maskable,) sub-network index of each entry, W_sparse(m->n) in n
    is_sparse: torch.Tensor  # (n_maskable,) True for the entries of W_sparse
    sparse_owner: str = "target"

    @property
    def size(self) -> int:
        return len(self.target_owner)

    @property
    def attributions(self) -> tuple[str, ...]:
        """The ways W_sparse can be counted for this layout: both when it is masked."""
        return ("unmasked",) if self.sparse_owner == "unmasked" else ("target", "source")

    def owners(self, attribution: str | None = None) -> torch.Tensor:
        """Sub-network of each entry when W_sparse(m->n) counts in n (``target``) or m (``source``)."""
        if (attribution or self.sparse_owner) == "source":
            return torch.where(self.is_sparse, 1 - self.target_owner, self.target_owner)
        return self.target_owner

    @property
    def owner(self) -> torch.Tensor:
        return self.owners()


def mask_layout(model: GlobalModel, sparse_owner: str = "target") -> MaskLayout:
    """Which entries of ``model`` are maskable and which sub-network owns each."""
    eligible, owners, sparse = {}, [], []
    for name, value in model.named_parameters():
        if name in NEVER_MASKED or (name == SPARSE and sparse_owner == "unmasked"):
            continue
        chosen = model.sparse.active() if name == SPARSE else torch.ones_like(value, dtype=torch.bool)
        index = torch.arange(2).view(2, *[1] * (value.dim() - 1)).expand_as(value)  # leading axis = n
        eligible[name] = chosen
        owners.append(index[chosen])
        sparse.append(torch.full((int(chosen.sum()),), name == SPARSE))
    return MaskLayout(eligible, torch.cat(owners), torch.cat(sparse), sparse_owner)


def initial_scores(model: GlobalModel, layout: MaskLayout, how: str, generator: torch.Generator) -> torch.Tensor:
    """Scores of the maskable entries: edge-popup's Kaiming-uniform (weights) and N(0, 0.01²) (biases),
    or U(0, 1) for every entry."""
    parameters = dict(model.named_parameters())
    parts = []
    for name, chosen in layout.eligible.items():
        value = parameters[name]
        if how == "uniform":
            score = torch.rand(value.shape, generator=generator)
        elif value.dim() == 3:  # weight matrices (2, out, in): bound 1 / sqrt(fan_in)
            bound = 1.0 / math.sqrt(value.shape[-1])
            score = torch.empty(value.shape).uniform_(-bound, bound, generator=generator)
        else:  # biases (2, out)
            score = torch.empty(value.shape).normal_(0.0, 0.01, generator=generator)
        parts.append(score[chosen])
    return torch.cat(parts)


def top_mask(scores: torch.Tensor, q: float) -> torch.Tensor:
    """1 for the top ``round(q * n)`` scores (at least one), else 0; gradient passes straight through."""
    k = max(1, round(q * len(scores)))
    hard = torch.zeros_like(scores)
    hard[torch.topk(scores.detach(), k).indices] = 1.0
    return hard + scores - scores.detach()


def masked_parameters(model: GlobalModel, layout: MaskLayout, flat_mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """The model's parameters with the mask applied to the maskable entries."""
    parameters, masked, offset = dict(model.named_parameters()), {}, 0
    for name, chosen in layout.eligible.items():
        count = int(chosen.sum())
        full = torch.ones_like(parameters[name]).masked_scatter(chosen, flat_mask[offset : offset + count])
        masked[name] = parameters[name].detach() * full
        offset += count
    return masked


def masked_readouts(model: GlobalModel, layout: MaskLayout, flat_mask: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    return functional_call(model, masked_parameters(model, layout, flat_mask), (inputs,))


def train_scores(
    model: GlobalModel, layout: MaskLayout, data: PairedDigits, digit: int, settings: WeightMaskSettings,
    generator: torch.Generator,
) -> torch.Tensor:
    """Train the scores of a mask so that the masked network names ``digit`` k of each pair."""
    scores = initial_scores(model, layout, settings.score_init, generator).requires_grad_(True)
    optimizer = torch.optim.SGD([scores], lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
    q_train = settings.q_train or settings.q
    labels = data.digits[:, digit]
    for _ in range(settings.epochs):
        order = torch.randperm(len(data), generator=generator)
        for start in range(0, len(data), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            output, _ = decide(masked_readouts(model, layout, top_mask(scores, q_train), data.inputs[batch]), model.config.decision)
            loss = F.cross_entropy(output, labels[batch])
            optimizer.zero_grad(set_to_none=True)
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


def share_per_subnetwork(layout: MaskLayout, scores: torch.Tensor, q: float, attribution: str | None = None) -> np.ndarray:
    """[|S ∩ θ_0| / |S|, |S ∩ θ_1| / |S|] for the kept set S of the top-q scores."""
    kept = torch.topk(scores, max(1, round(q * len(scores)))).indices
    counts = torch.bincount(layout.owners(attribution)[kept], minlength=2).double()
    return (counts / len(kept)).numpy()


@dataclass(frozen=True)
class MaskResult:
    """One trial of the metric: M[n, k] under each way of counting W_sparse, and the masked
    network's test accuracy on each digit k."""

    shares: dict[str, np.ndarray]
    accuracy: np.ndarray
    scores: torch.Tensor | None = None  # (2, n_maskable): the trained scores of digit 0 and digit 1


def train_masks(model: GlobalModel, train: PairedDigits, test: PairedDigits, settings: WeightMaskSettings, seed: int) -> MaskResult:
    """Masks trained on digit 0 then digit 1 from one seeded generator, counted every way."""
    return train_masks_together([MaskRequest(model, settings, seed)], train, test)[0]


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
    optimizer = torch.optim.SGD([scores], lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
    kept_train, decision = _kept(rows, scores.shape[1], "q_train"), rows[0].model.config.decision
    labels = torch.stack([train.digits[:, row.digit] for row in rows])  # (R, S)
    for epoch in range(settings.epochs):
        orders = torch.stack([row.orders[epoch] for row in rows])
        for start in range(0, len(train), settings.batch_size):
            chosen = orders[:, start : start + settings.batch_size]
            readouts = batch.readouts(_hard_masks(scores, kept_train), "train", chosen)
            output, _ = decide(readouts.flatten(0, 1), decision)
            loss = F.cross_entropy(output, labels.gather(1, chosen).flatten(), reduction="none")
            optimizer.zero_grad(set_to_none=True)
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
