"""Several variants of the study side by side: their tables stacked with a ``variant`` column."""

from __future__ import annotations

import pandas as pd

from .aggregate import summary_table


def stacked(frames: list[pd.DataFrame], variants: list[str]) -> pd.DataFrame:
    """One table of the variants' tables (same columns), ``variant`` first, in the given order."""
    if len(frames) != len(variants):
        raise ValueError(f"{len(frames)} tables for {len(variants)} variants")
    return pd.concat(
        [frame.assign(variant=name)[["variant", *frame.columns]] for frame, name in zip(frames, variants)],
        ignore_index=True,
    )


def comparison_summary(metrics: pd.DataFrame, exclude_poor_models: dict[str, bool]) -> pd.DataFrame:
    """Mean ± sd over seeds per variant, architecture, metric, p and sub-network (and "both"), each
    variant counting its poorly performing models as its own config says and only its best-k
    ``selected`` rows (a table written before that column existed counts every row)."""
    if "selected" in metrics:
        metrics = metrics.assign(selected=~metrics["selected"].eq(False))
    parts = [
        summary_table(frame.drop(columns="variant"), exclude_poor_models[name]).assign(variant=name)
        for name, frame in metrics.groupby("variant", sort=False)
    ]
    summary = pd.concat(parts, ignore_index=True)
    return summary[["variant", *[column for column in summary.columns if column != "variant"]]]
