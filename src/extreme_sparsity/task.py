"""The nested parity task of section 2.1: two digits in, one digit out.

Sub-network j sees digit D_j. The parity difference is P = (D0 + D1) mod 2; the global target is
D0 when the parities are the same (P = 0) and D1 when they differ (P = 1). Sub-task k is to name
D_k (equation 2). Pairs with (D1 - D0) mod 10 in {0, 1} are excluded: D0 = D1 is ambiguous, and
dropping the difference 1 as well balances the two parities.
"""

from __future__ import annotations

import numpy as np

EXCLUDED_DIFFERENCES = (0, 1)


def parity_difference(d0: np.ndarray, d1: np.ndarray) -> np.ndarray:
    """P = (D0 + D1) mod 2: 0 for the same parity, 1 for different parities."""
    return (np.asarray(d0) + np.asarray(d1)) % 2


def is_excluded(d0: np.ndarray, d1: np.ndarray) -> np.ndarray:
    """True for the pairs the task leaves out: (D1 - D0) mod 10 in {0, 1}."""
    return np.isin((np.asarray(d1) - np.asarray(d0)) % 10, EXCLUDED_DIFFERENCES)


def global_target(d0: np.ndarray, d1: np.ndarray) -> np.ndarray:
    """Same parity -> D0, different parity -> D1 (section 2.1's text; see README, Fidelity notes)."""
    return np.where(parity_difference(d0, d1) == 0, d0, d1)


def draw_pairs(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pair every sample with a partner from a seeded permutation; drop the excluded pairs.

    Returns the source indices (first, partner) of the kept pairs. Each sample is D0 of one
    candidate pair and D1 of one candidate pair, so every image is used about equally.
    """
    labels = np.asarray(labels)
    first = np.arange(len(labels))
    partner = np.random.default_rng(seed).permutation(len(labels))
    kept = ~is_excluded(labels[first], labels[partner])
    return first[kept], partner[kept]
