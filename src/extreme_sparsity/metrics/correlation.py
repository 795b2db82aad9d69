"""Correlation metric (section 3.3, equation 7) and its CKA-distance variant (appendix A.3).

For sub-network n and digit k, M(n, k) is the mean Pearson correlation, across the N units,
between the final hidden states h_T(n) of two test samples that share digit k, over all such
pairs (each unordered pair once, no sample with itself). A state with no variance across units
has correlation 0 with everything.

The CKA variant pairs every sample with one random other sample that shares digit k and gives the
linear CKA distance (1 - CKA; Kornblith et al. 2019) between the two sets of states: 0 when the
representations are identical up to rotation and scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..dataset import PairedDigits
from ..model import GlobalModel


@dataclass(frozen=True)
class CorrelationSettings:
    max_samples: int | None  # None: the whole test set; else a random subset of this size


@torch.no_grad()
def final_hidden_states(model: GlobalModel, data: PairedDigits, batch_size: int = 4096) -> torch.Tensor:
    """h_T of both sub-networks for every sample, shape (S, 2, N), in float64."""
    parts = [model.hidden_states(data.inputs[start : start + batch_size]) for start in range(0, len(data), batch_size)]
    return torch.cat(parts).double()


def mean_pair_correlation(states: torch.Tensor, groups: torch.Tensor) -> float:
    """Mean Pearson correlation over all pairs of rows of ``states`` (S, N) in the same group."""
    centred = states - states.mean(dim=1, keepdim=True)
    norms = centred.norm(dim=1, keepdim=True)
    unit = torch.where(norms > 0, centred / norms.clamp_min(1e-300), torch.zeros_like(centred))
    total, pairs = 0.0, 0
    for group in torch.unique(groups):
        members = unit[groups == group]
        count = len(members)
        if count < 2:
            continue
        summed = members.sum(dim=0)
        # sum over i != j of <u_i, u_j> = |sum u|^2 - sum |u_i|^2
        off_diagonal = summed.dot(summed) - (members * members).sum()
        total += off_diagonal.item() / 2
        pairs += count * (count - 1) // 2
    if pairs == 0:
        raise ValueError("no two samples share a group: cannot form pairs")
    return total / pairs


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA between two representations of the same samples (rows): ||Y'X||² / (||X'X|| ||Y'Y||)."""
    x = x - x.mean(dim=0)
    y = y - y.mean(dim=0)
    cross = (y.T @ x).square().sum()
    denominator = (x.T @ x).square().sum().sqrt() * (y.T @ y).square().sum().sqrt()
    return float(cross / denominator) if denominator > 0 else 0.0


def partners_in_group(groups: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """For each sample, a random other sample of the same group (a cyclic shift of a shuffled group)."""
    partner = torch.arange(len(groups))
    for group in torch.unique(groups):
        members = (groups == group).nonzero().squeeze(1)
        if len(members) < 2:
            continue
        shuffled = members[torch.randperm(len(members), generator=generator)]
        partner[shuffled] = torch.roll(shuffled, 1)
    return partner


def correlation_metric(
    model: GlobalModel, test: PairedDigits, settings: CorrelationSettings, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """M[n, k] of equation (7), and the CKA distance [n, k] of the variant; ``seed`` draws the
    subset and the CKA partners."""
    test, generator = _sampled(test, settings, seed)
    return correlation_of_states(final_hidden_states(model, test), test.digits, generator)


def correlation_time_course(
    model: GlobalModel, test: PairedDigits, settings: CorrelationSettings, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(M[n, k], CKA distance [n, k]) on the states h_t of every step t = 1..T; at t = T the
    values of :func:`correlation_metric` (the same subset and partners at every step)."""
    sampled, _ = _sampled(test, settings, seed)
    with torch.no_grad():
        parts = [
            model.hidden_states(sampled.inputs[start : start + 4096], every_step=True)
            for start in range(0, len(sampled), 4096)
        ]
    states = torch.cat(parts, dim=1).double()  # (T, S, 2, N)
    return [correlation_of_states(step, sampled.digits, _sampled(test, settings, seed)[1]) for step in states]


def _sampled(test: PairedDigits, settings: CorrelationSettings, seed: int) -> tuple[PairedDigits, torch.Generator]:
    """The samples the metric uses, and the generator, after drawing them, that draws the partners."""
    generator = torch.Generator().manual_seed(seed)
    if settings.max_samples is not None and settings.max_samples < len(test):
        test = test.subset(torch.randperm(len(test), generator=generator)[: settings.max_samples])
    return test, generator


def correlation_of_states(
    states: torch.Tensor, digits: torch.Tensor, generator: torch.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """M[n, k] and the CKA distance [n, k] of states (S, 2, N) of samples with ``digits`` (S, 2)."""
    correlation, cka_distance = np.zeros((2, 2)), np.zeros((2, 2))
    for digit in range(2):
        groups = digits[:, digit]
        partner = partners_in_group(groups, generator)
        for n in range(2):
            correlation[n, digit] = mean_pair_correlation(states[:, n], groups)
            cka_distance[n, digit] = 1.0 - linear_cka(states[:, n], states[partner, n])
    return correlation, cka_distance
