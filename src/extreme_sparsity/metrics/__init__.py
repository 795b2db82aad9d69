"""The three metrics of section 3, each giving M(n, k) for sub-network n on digit k.

Some jobs also write derived metrics beside their own: ``bottleneck_loss`` (the bottleneck job's
test loss L(n, k)), ``weight_mask_control`` (the supermask control) and ``cka`` (the correlation
job's CKA distance)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..plumbing.atomic import write_csv_rows
from ..plumbing.versions import software_versions
from ..specialization import specialization_of_subnetworks

METRICS = ("bottleneck", "weight_mask", "correlation")

# The architecture each metric (and each derived one) is measured on: the bottleneck metrics need
# the bottleneck (figure 1b), the others the plain readout.
ARCHITECTURE_OF = {
    "bottleneck": "bottleneck",
    "bottleneck_loss": "bottleneck",
    "weight_mask": "plain",
    "weight_mask_control": "plain",
    "correlation": "plain",
    "cka": "plain",
}


def architecture_of(metric: str) -> str:
    """The architecture ``metric`` is measured on."""
    return ARCHITECTURE_OF[metric]


def metric_rows(
    metric: str, values: np.ndarray, quantity: str = "M", similarity: np.ndarray | None = None, trial: int = 0
) -> list[dict]:
    """Tidy rows for a 2 x 2 table values[n, k] and the specialization (eq. 8) of each sub-network.

    The specialization is computed on ``similarity`` when given (for a distance, 1 - distance).
    ``trial`` numbers the repetitions of a trainable metric on the same model.
    """
    rows = [
        {"metric": metric, "trial": trial, "quantity": quantity, "sub_network": n, "digit": k, "value": float(values[n, k])}
        for n in range(2)
        for k in range(2)
    ]
    specialization = specialization_of_subnetworks(values if similarity is None else similarity)
    rows += [
        {"metric": metric, "trial": trial, "quantity": "specialization", "sub_network": n, "digit": n, "value": spec}
        for n, spec in enumerate(specialization)
    ]
    return rows


def accuracy_rows(metric: str, accuracy: np.ndarray, trial: int = 0) -> list[dict]:
    """Tidy rows for a metric's own accuracy on each digit k (not tied to a sub-network)."""
    return [
        {"metric": metric, "trial": trial, "quantity": "accuracy", "sub_network": None, "digit": k, "value": float(value)}
        for k, value in enumerate(accuracy)
    ]


def write_metric_table(path: str | Path, rows: list[dict], **identity) -> None:
    """Atomically write tidy rows as CSV, with identity columns (architecture, p, seed) in front
    and the software versions in the last column."""
    software = " ".join(f"{name}={version}" for name, version in software_versions().items())
    write_csv_rows(path, [{**identity, **row, "software": software} for row in rows])
