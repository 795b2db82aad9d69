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

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from ..dataset import PairedDigits
from ..model import GlobalModel, decide

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


@dataclass(frozen=True)
class MaskLayout:
    """The maskable entries θ of a model, in a fixed flat order, and the sub-network of each."""

    eligible: dict[str, torch.Tensor]  # parameter name -> boolean mask of its maskable entries
    owner: torch.Tensor  # (n_maskable,) sub-network index of each maskable entry

    @property
    def size(self) -> int:
        return len(self.owner)


def mask_layout(model: GlobalModel, sparse_owner: str = "target") -> MaskLayout:
    """Which entries of ``model`` are maskable and which sub-network owns each."""
    eligible, owners = {}, []
    for name, value in model.named_parameters():
        if name in NEVER_MASKED or (name == SPARSE and sparse_owner == "unmasked"):
            continue
        chosen = model.sparse.active() if name == SPARSE else torch.ones_like(value, dtype=torch.bool)
        index = torch.arange(2).view(2, *[1] * (value.dim() - 1)).expand_as(value)  # leading axis = n
        if name == SPARSE and sparse_owner == "source":
            index = 1 - index
        eligible[name] = chosen
        owners.append(index[chosen])
    return MaskLayout(eligible, torch.cat(owners))


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


def share_per_subnetwork(layout: MaskLayout, scores: torch.Tensor, q: float) -> np.ndarray:
    """[|S ∩ θ_0| / |S|, |S ∩ θ_1| / |S|] for the kept set S of the top-q scores."""
    kept = torch.topk(scores, max(1, round(q * len(scores)))).indices
    counts = torch.bincount(layout.owner[kept], minlength=2).double()
    return (counts / len(kept)).numpy()


def weight_mask_metric(
    model: GlobalModel, train: PairedDigits, test: PairedDigits, settings: WeightMaskSettings, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """M[n, k] (equation 6) and the masked network's test accuracy on each digit k."""
    generator = torch.Generator().manual_seed(seed)
    layout = mask_layout(model, settings.sparse_owner)
    metric, accuracy = np.zeros((2, 2)), np.zeros(2)
    for digit in range(2):
        scores = train_scores(model, layout, train, digit, settings, generator)
        metric[:, digit] = share_per_subnetwork(layout, scores, settings.q)
        accuracy[digit] = masked_accuracy(model, layout, scores, settings.q, test, digit)
    return metric, accuracy
