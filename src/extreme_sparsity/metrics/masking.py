"""What a weight mask is (section 3.2, equation 6): the maskable entries of a model and the
sub-network owning each, the scores and their initialisation, the top-q mask with a straight-through
gradient, the masked parameters, and the share of a kept set in each sub-network. The weight-mask
metric (weight_mask.py) and the batched engine (mask_engine.py) are built on these.

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
from torch.func import functional_call

from ..model import GlobalModel

NEVER_MASKED = ("w_ih", "b_ih")


SPARSE = "sparse.phi"


SCORE_INITS = ("kaiming_uniform", "uniform")


SPARSE_OWNERS = ("target", "source", "unmasked")


@dataclass(frozen=True)
class WeightMaskSettings:
    q: float
    q_train: float | None  # None: train at q too (the paper); the authors' code trained at 0.1
    epochs: int
    lr: float
    momentum: float
    weight_decay: float
    batch_size: int
    score_init: str
    sparse_owner: str

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


def share_per_subnetwork(layout: MaskLayout, scores: torch.Tensor, q: float, attribution: str | None = None) -> np.ndarray:
    """[|S ∩ θ_0| / |S|, |S ∩ θ_1| / |S|] for the kept set S of the top-q scores."""
    kept = torch.topk(scores, max(1, round(q * len(scores)))).indices
    counts = torch.bincount(layout.owners(attribution)[kept], minlength=2).double()
    return (counts / len(kept)).numpy()
