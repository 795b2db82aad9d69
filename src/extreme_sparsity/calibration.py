"""Choosing the weight mask's q as section 3.2 did.

"We chose q to be as high as possible while ensuring M(n, n) = 1 in the most extreme case of
sparsity": the masks are trained at every q of a grid on the sparsest models, and the chosen q
is the largest whose M(n, n), averaged over seeds, reaches ``min_own_share`` (0.99: "= 1" up to a
few weights) for both sub-networks. When no q of the grid does, the q that comes closest is used
(the largest smaller-of-the-two M(n, n); the larger q on a tie) and the table says that the
criterion was not met.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas only where a table is built: the metric jobs that read q skip its import
    import pandas as pd


def calibration_table(sweep: pd.DataFrame, attribution: str, min_own_share: float) -> pd.DataFrame:
    """One row per q: mean over seeds of M(0, 0), M(1, 1) and of the masked accuracy on each digit,
    whether both M(n, n) reach ``min_own_share``, and which q is chosen."""
    own = sweep[(sweep["quantity"] == "M") & (sweep["attribution"] == attribution)]
    own = own[own["sub_network"].astype(int) == own["digit"].astype(int)]
    table = own.pivot_table(index="q", columns="sub_network", values="value", aggfunc="mean")
    table.columns = [f"M_{int(n)}{int(n)}" for n in table.columns]
    accuracy = sweep[(sweep["quantity"] == "accuracy") & (sweep["attribution"] == attribution)]
    accuracy = accuracy.pivot_table(index="q", columns="digit", values="value", aggfunc="mean")
    for digit in accuracy.columns:
        table[f"masked_accuracy_digit_{int(digit)}"] = accuracy[digit]
    table["n_seeds"] = own.groupby("q")["seed"].nunique()
    table["min_own_share"] = min_own_share
    table["meets_criterion"] = (table[["M_00", "M_11"]] >= min_own_share).all(axis=1)
    table = table.reset_index().sort_values("q").reset_index(drop=True)
    table["chosen"] = table["q"] == choose_q(table)
    return table


def choose_q(table: pd.DataFrame) -> float:
    """The largest q that meets the criterion, else the q whose smaller M(n, n) is the largest."""
    meeting = table.loc[table["meets_criterion"], "q"]
    if len(meeting):
        return float(meeting.max())
    closest = table.assign(worst=table[["M_00", "M_11"]].min(axis=1)).sort_values(["worst", "q"])
    return float(closest["q"].iloc[-1])


def read_chosen_q(path: str | Path) -> float:
    """The q chosen in a calibration table written by rule ``calibrate_mask_q``."""
    with open(path, newline="") as handle:
        chosen = [float(row["q"]) for row in csv.DictReader(handle) if row["chosen"] == "True"]
    if len(chosen) != 1:
        raise ValueError(f"{path} must mark exactly one chosen q, found {len(chosen)}: rerun rule calibrate_mask_q")
    return chosen[0]
