"""Rule plot_time_course: M_spec(n) against the step t, one line per p, per metric and sub-network."""

import matplotlib
import numpy as np
import pandas as pd

from extreme_sparsity import plotting
from extreme_sparsity.plumbing import jobs

METRICS = ["bottleneck", "bottleneck_loss", "correlation", "cka"]

with jobs.job(snakemake.log[0]):
    table = pd.read_csv(snakemake.input.table)
    style, exclude = snakemake.params.style, snakemake.params.exclude_poor_models
    shown = [metric for metric in METRICS if metric in set(table["metric"])]
    sparsities = sorted(table["p"].unique())
    colour_map = matplotlib.colormaps["viridis"]
    positions = np.linspace(0, 0.9, len(sparsities))
    colours = {p: matplotlib.colors.to_hex(colour_map(position)) for p, position in zip(sparsities, positions)}
    with plotting.figure(style, rows=len(shown), columns=2, sharex=True, sharey="row") as (fig, axes):
        for row, metric in enumerate(shown):
            for n in (0, 1):
                ax = axes[row, n]
                rows = table[(table["metric"] == metric) & (table["sub_network"] == n)]
                for p in sparsities:
                    plotting.mean_band(
                        ax, rows[rows["p"] == p], "t", "specialization", colours[p], f"p = {p:g}",
                        exclude_poor_models=exclude,
                    )
                ax.axhline(0, color="grey", lw=0.5)
                ax.set_ylim(-1.05, 1.05)
                ax.set_title(f"{plotting.METRIC_TITLES[metric]}, sub-network {n}")
                ax.set_ylabel("specialization M_spec(n)" if n == 0 else "")
        for ax in axes[-1]:
            ax.set_xlabel("time step t (states h_t)")
            ax.set_xticks(sorted(table["t"].unique()))
        axes[0, 1].legend(frameon=False, fontsize="x-small", ncol=2)
        plotting.notes_title(fig, [plotting.poor_model_note(table, exclude)])
        plotting.save(fig, snakemake.output.png, snakemake.output.pdf, style["dpi"])
