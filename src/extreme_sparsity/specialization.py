"""The specialization measure of section 3.4, equation (8)."""

from __future__ import annotations

import numpy as np


def specialization(own: float, other: float) -> float:
    """M_spec = (own - other) / (own + other), from -1 (other digit) to 1 (own digit).

    Equation (8) assumes M >= 0 (accuracies, shares); a correlation can be negative, and then
    own + other can be 0 or negative and the ratio leaves [-1, 1] or flips its sign. The
    denominator is therefore |own| + |other|: equation (8) itself wherever both are >= 0, and
    otherwise still in [-1, 1], positive exactly when own > other (docs/fidelity.md).
    When both values are 0 the measure is undefined; it is reported as 0 (no preference).
    """
    total = abs(own) + abs(other)
    if total == 0:
        return 0.0
    return float((own - other) / total)


def specialization_of_subnetworks(metric: np.ndarray) -> list[float]:
    """[M_spec(0), M_spec(1)] from a 2 x 2 table metric[n, k] (sub-network n on digit k)."""
    metric = np.asarray(metric, dtype=float)
    if metric.shape != (2, 2):
        raise ValueError(f"expected a 2 x 2 table M[n, k], got shape {metric.shape}")
    return [specialization(metric[n, n], metric[n, 1 - n]) for n in range(2)]
