"""Job priorities: the rules' `priority:` and the schedule simulator both read them from here.

The longest chain of a study runs through the sparsest plain models (they train the most epochs),
the mask sweeps on them, the choice of q and only then the weight-mask jobs, a third of the work.
So that chain goes first; then the trainings, sparsest (longest) first, so that no long job starts
last; the short metric jobs fill the gaps; aggregation and figures wait for everything anyway.
"""

from __future__ import annotations

CALIBRATION = 60  # mask_sweep, calibrate_mask_q
SPARSEST_PLAIN = 50
WEIGHT_MASK = 40
TRAINING = 20  # + the rank of p, 0 at the densest
METRIC = 10

BY_RULE = {
    "mask_sweep": CALIBRATION,
    "calibrate_mask_q": CALIBRATION,
    "weight_mask_metric": WEIGHT_MASK,
    "bottleneck_metric": METRIC,
    "correlation_metric": METRIC,
    "time_course_metric": METRIC,
}


def training(architecture: str, p: str, grid: list[str]) -> int:
    """A training job's priority: the plain models at the sparsest p first, then sparser before
    denser. ``grid``: the study's p values as the p wildcard spells them."""
    if architecture == "plain" and p == grid[0]:
        return SPARSEST_PLAIN
    return TRAINING + len(grid) - 1 - grid.index(p)


def of_job(rule: str, wildcards: dict[str, str], grid: list[str]) -> int:
    """The priority of any job of the study (0 for rules not named here)."""
    if rule == "train_model":
        return training(wildcards["architecture"], wildcards["p"], grid)
    return BY_RULE.get(rule, 0)
