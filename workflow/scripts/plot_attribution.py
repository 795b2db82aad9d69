"""Rule plot_attribution: S (mean M_spec of both sub-networks) against p, one panel per metric,
one line per cell; the defaults and the paper as printed drawn bold."""

import matplotlib
import pandas as pd

from extreme_sparsity import attribution, plotting
from extreme_sparsity.plumbing import jobs

with jobs.job(snakemake.log[0]):
    params = snakemake.params
    curves = {
        cell: attribution.cell_curves(attribution.per_seed(pd.read_csv(path), exclude))
        for cell, path, exclude in zip(params.cells, snakemake.input.metrics, params.exclude_poor_models)
    }
    shown = [m for m in attribution.METRIC_ORDER if any(m in set(c["metric"]) for c in curves.values())]
    shown = [m for m in shown if m != "weight_mask_control"]
    bold = {params.reference: "defaults", params.paper: "paper as printed"}
    palette = matplotlib.colormaps["tab20"].colors
    colours = {cell: palette[index % len(palette)] for index, cell in enumerate(params.cells)}
    columns = 2
    rows = -(-(len(shown) + 1) // columns)  # one free panel for the legend
    style = params.style
    with plotting.figure(style, rows=rows, columns=columns, sharex=True) as (fig, axes):
        for index, metric in enumerate(shown):
            ax = axes.flat[index]
            for cell, curve in curves.items():
                curve = curve[curve["metric"] == metric].sort_values("p")
                label = f"{cell} ({bold[cell]})" if cell in bold else cell
                ax.plot(
                    curve["p"], curve["S"], marker="o", markersize=3, color=colours[cell], label=label,
                    lw=2.6 if cell in bold else 1.0, zorder=3 if cell in bold else 2,
                    linestyle="-" if cell in bold else "--",
                )
            ax.axhline(0, color="grey", lw=0.5)
            ax.set_xscale("log")
            ax.set_title(plotting.METRIC_TITLES.get(metric, metric))
            ax.set_ylabel("S = mean M_spec of both sub-networks")
            ax.set_xlabel(plotting.P_LABEL_SHORT)
        for ax in list(axes.flat)[len(shown):]:
            ax.axis("off")
        handles, labels = axes.flat[0].get_legend_handles_labels()
        axes.flat[len(shown)].legend(handles, labels, loc="center", frameon=False, fontsize="small")
        plotting.save(fig, snakemake.output.figure, snakemake.output.figure_pdf, style["dpi"])
