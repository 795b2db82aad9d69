"""Rule plot_specialization (figure 2): M_spec(n) of each metric against p (log) and against Q, the
bottleneck metric also by its test loss (bottleneck_loss); means over the best-k selection."""

import pandas as pd

from extreme_sparsity import plotting
from extreme_sparsity.plumbing import jobs

METRICS = ["bottleneck", "bottleneck_loss", "weight_mask", "correlation"]

with jobs.job(snakemake.log[0]):
    table = pd.read_csv(snakemake.input.table)
    exclude = snakemake.params.exclude_poor_models
    metrics = [metric for metric in METRICS if metric in set(table["metric"])]
    params = snakemake.params.style
    with plotting.figure(params, rows=len(metrics), columns=2, sharey="row") as (fig, axes):
        for row, metric in enumerate(metrics):
            rows = table[table["metric"] == metric]
            for column, x in enumerate(["p", "Q"]):
                ax = axes[row, column]
                for n in (0, 1):
                    plotting.mean_band(
                        ax, rows[rows["sub_network"] == n], x, "specialization", plotting.SUB_NETWORK_COLOURS[n],
                        f"sub-network {n}", exclude_poor_models=exclude,
                    )
                ax.axhline(0, color="grey", lw=0.5)
                ax.set_ylim(-1.05, 1.05)
                ax.set_title(plotting.METRIC_TITLES[metric])
                ax.set_ylabel("specialization M_spec(n)" if column == 0 else "")
                if x == "p":
                    ax.set_xscale("log")
                ax.set_xlabel(plotting.P_LABEL if x == "p" else plotting.Q_LABEL)
        axes[0, 0].legend(frameon=False)
        notes = [plotting.poor_model_note(table, exclude), plotting.selection_note(table)]
        plotting.notes_title(fig, notes)
        plotting.save(fig, snakemake.output.png, snakemake.output.pdf, params["dpi"])
