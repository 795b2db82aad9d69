"""Structural side of the study: the sparsity grid p, connection counts and schedules over p.

Paper section 2.3: p is the fraction of the N^2 possible connections in each direction between
the two sub-networks, from 1/N^2 (one connection) to 1 (all-to-all).
"""

from __future__ import annotations

import math

import numpy as np


def format_sparsity(p: float) -> str:
    """Canonical text of a sparsity for paths: the shortest decimal that reads back as ``p``."""
    return np.format_float_positional(float(p), trim="-")


def sparsity_grid(n_hidden: int, n_values: int, significant_digits: int = 4) -> list[float]:
    """``n_values`` sparsities log-spaced from 1/N^2 to 1 inclusive, rounded for stable paths."""
    if n_values < 2:
        raise ValueError(f"a sparsity grid needs at least 2 values, got {n_values}")
    raw = np.logspace(-2 * math.log10(n_hidden), 0.0, n_values)
    return [float(f"{value:.{significant_digits}g}") for value in raw]


def n_connections(p: float, n_hidden: int) -> int:
    """K = max(1, round(p N^2)): the number of active connections in each direction."""
    if not 0.0 < p <= 1.0:
        raise ValueError(f"sparsity p must lie in (0, 1], got {p}")
    return max(1, min(n_hidden * n_hidden, round(p * n_hidden * n_hidden)))


def log_position(p: float, n_hidden: int) -> float:
    """Where p lies between 1/N^2 (0.0) and 1 (1.0) on a log axis, clipped to [0, 1]."""
    p_min = 1.0 / (n_hidden * n_hidden)
    position = (math.log(p) - math.log(p_min)) / (0.0 - math.log(p_min))
    return min(1.0, max(0.0, position))


def geometric_schedule(p: float, n_hidden: int, at_sparsest: float, at_densest: float) -> float:
    """Table 1's ranges: geometric interpolation from the value at p=1/N^2 to the value at p=1."""
    t = log_position(p, n_hidden)
    return at_sparsest * (at_densest / at_sparsest) ** t


NOISE_ANNEALING = ("linear", "log")


def annealed_noise(p: float, n_hidden: int, initial: float, shape: str) -> float:
    """Random-walk step size of Deep-R, annealed from ``initial`` to 0 as p goes to 1.

    ``shape="log"`` anneals linearly along the same log-p axis as the learning-rate range
    (full size at p=1/N^2); ``shape="linear"`` uses ``initial * (1 - p)``.
    """
    if shape == "log":
        return initial * (1.0 - log_position(p, n_hidden))
    if shape == "linear":
        return initial * (1.0 - p)
    raise ValueError(f"noise annealing must be one of {NOISE_ANNEALING}, got {shape!r}")


def modularity_analytic(p: float) -> float:
    """Q = (1 - p) / (2 (1 + p)), equation (5)."""
    return (1.0 - p) / (2.0 * (1.0 + p))


def sparsity_of_modularity(q: float) -> float:
    """The p of a modularity Q: equation (5) inverted, p = (1 - 2Q) / (1 + 2Q)."""
    return (1.0 - 2.0 * q) / (1.0 + 2.0 * q)


def modularity_from_adjacency(adjacency: np.ndarray, groups: np.ndarray) -> float:
    """Directed Newman modularity, equation (9): Q = 1/M sum_ij (A_ij - k_i^out k_j^in / M) d(g_i, g_j).

    ``adjacency[i, j] = 1`` when there is an edge from node i to node j.
    """
    a = np.asarray(adjacency, dtype=np.float64)
    m = a.sum()
    if m == 0:
        raise ValueError("the graph has no edges")
    same_group = groups[:, None] == groups[None, :]
    expected = np.outer(a.sum(axis=1), a.sum(axis=0)) / m
    return float(((a - expected) * same_group).sum() / m)
