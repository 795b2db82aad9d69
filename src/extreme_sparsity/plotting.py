"""Shared look of the figures: style, mean ± sd bands with faint seeds, atomic saving."""

from __future__ import annotations

import contextlib
import textwrap
from pathlib import Path
from typing import Iterator

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .aggregate import counted  # noqa: E402
from .plumbing.atomic import atomic_path  # noqa: E402

SUB_NETWORK_COLOURS = {0: "#1f77b4", 1: "#d62728", "both": "#444444"}
METRIC_TITLES = {
    "bottleneck": "Bottleneck metric (3.1)",
    "bottleneck_loss": "Bottleneck metric, test loss (3.1)",
    "weight_mask": "Weight-mask metric (3.2)",
    "correlation": "Correlation metric (3.3)",
    "cka": "CKA distance (A.3)",
}
P_LABEL = "sparsity p (fraction of possible connections, log scale)"
P_LABEL_SHORT = "sparsity p (log scale)"
Q_LABEL = "structural modularity Q (equation 5)"


@contextlib.contextmanager
def figure(params: dict, rows: int = 1, columns: int = 1, **kwargs) -> Iterator[tuple[plt.Figure, object]]:
    """A figure of ``params`` width x height inches at ``params`` font size; closed afterwards."""
    with plt.rc_context({"font.size": params["font_size"], "axes.spines.top": False, "axes.spines.right": False}):
        fig, axes = plt.subplots(rows, columns, figsize=(params["width"], params["height"]), squeeze=False, **kwargs)
        try:
            yield fig, axes
        finally:
            plt.close(fig)


def mean_band(
    ax, frame: pd.DataFrame, x: str, y: str, colour: str, label: str, seeds: bool = True,
    exclude_poor_models: bool = False, **line,
) -> None:
    """Mean of ``y`` over seeds against ``x`` as a line, ± one standard deviation shaded, and each
    seed as a faint point; a model that does not perform well (column ``performs_well``) is drawn
    hollow, and left out of the mean when ``exclude_poor_models``; a row outside the best-k
    selection (column ``selected`` False) never counts in the mean and is drawn as a faint cross."""
    well = frame["performs_well"].astype(bool) if "performs_well" in frame else pd.Series(True, index=frame.index)
    stats = frame[counted(frame, exclude_poor_models)].groupby(x)[y].agg(["mean", "std"]).reset_index()
    stats = stats.fillna({"std": 0.0})
    ax.plot(stats[x], stats["mean"], color=colour, label=label, marker="o", markersize=3, **line)
    ax.fill_between(stats[x], stats["mean"] - stats["std"], stats["mean"] + stats["std"], color=colour, alpha=0.2, lw=0)
    if seeds:
        selected = counted(frame)
        ax.scatter(frame.loc[well & selected, x], frame.loc[well & selected, y], color=colour, s=6, alpha=0.3, lw=0)
        poor = frame[~well & selected]
        ax.scatter(poor[x], poor[y], facecolors="none", edgecolors=colour, s=14, alpha=0.9, lw=0.8)
        left_out = frame[~selected]
        ax.scatter(left_out[x], left_out[y], color=colour, marker="x", s=8, alpha=0.3, lw=0.6)


def variant_colours(variants: list[str]) -> dict[str, str]:
    """A distinct colour per variant, in order (matplotlib's tab10 cycle)."""
    palette = plt.get_cmap("tab10").colors
    return {variant: matplotlib.colors.to_hex(palette[index % len(palette)]) for index, variant in enumerate(variants)}


def poor_model_note(frame: pd.DataFrame, exclude_poor_models: bool) -> str:
    """A line for a figure: how many models do not perform well, and whether the means count them."""
    if "performs_well" not in frame:
        return ""
    models = frame.drop_duplicates([key for key in ("variant", "architecture", "p", "seed") if key in frame])
    poor = int((~models["performs_well"].astype(bool)).sum())
    if not poor:
        return f"all {len(models)} models perform well"
    counted_text = "left out of" if exclude_poor_models else "included in"
    return f"hollow: {poor} of {len(models)} models below the accuracy threshold ({counted_text} the means)"


def selection_note(frame: pd.DataFrame) -> str:
    """A line for a figure: which metrics count only their best-k models ("" when every row counts)."""
    if "selected" not in frame or frame["selected"].astype(bool).all():
        return ""
    keys = [key for key in ("variant", "architecture", "metric", "p", "seed") if key in frame]
    models = frame.drop_duplicates(keys)
    selected = models["selected"].astype(bool)
    metrics = sorted(set(models.loc[~selected, "metric"]))
    k = models[selected & models["metric"].isin(metrics)].groupby(["metric", "p"])["seed"].nunique().max()
    return f"x: not among the best {k} models of each p by validation accuracy, left out of the means ({', '.join(metrics)})"


def notes_title(fig: plt.Figure, notes: list[str]) -> None:
    """The figure's notes (empty ones left out) as its small title, each wrapped to the figure's width."""
    lines = [note for note in notes if note]
    title = fig.suptitle("\n".join(lines), fontsize="small")
    width = title.get_window_extent(fig.canvas.get_renderer()).width
    available = 0.95 * fig.bbox.width
    if lines and width > available:
        characters = int(max(len(line) for line in lines) * available / width)
        title.set_text("\n".join(textwrap.fill(line, characters) for line in lines))


def save(fig: plt.Figure, png: str | Path, pdf: str | Path, dpi: int) -> None:
    """Write the figure as PNG and PDF, each atomically."""
    fig.tight_layout()
    for path, kind in ((png, "png"), (pdf, "pdf")):
        with atomic_path(path) as temporary:
            fig.savefig(temporary, format=kind, dpi=dpi)
