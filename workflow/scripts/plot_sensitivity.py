"""Rule plot_sensitivity: weight-mask M_spec for every q and score initialisation, with W_sparse
counted in the target or the source sub-network, and the bottleneck metric per retraining budget."""

import matplotlib
import numpy as np
import pandas as pd

from extreme_sparsity import plotting
from extreme_sparsity.plumbing import jobs

with jobs.job(snakemake.log[0]):
    curves = pd.read_csv(snakemake.input.curves)
    params = snakemake.params.style
    masks = curves[curves["metric"] == "weight_mask"]
    budgets = curves[curves["metric"] == "bottleneck"]
    inits = sorted(masks["score_init"].unique())
    attributions = [a for a in ("target", "source", "unmasked") if a in set(masks["attribution"])]
    qs = sorted(masks["q"].unique())
    colours = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(qs)))
    with plotting.figure(params, rows=len(attributions), columns=len(inits) + 1) as (fig, axes):
        for row, attribution in enumerate(attributions):
            for column, init in enumerate(inits):
                ax = axes[row, column]
                for q, colour in zip(qs, colours):
                    line = masks[(masks["score_init"] == init) & (masks["attribution"] == attribution) & (masks["q"] == q)]
                    ax.plot(line["p"], line["specialization_mean"], color=colour, marker="o", markersize=2, label=f"q = {q:g}")
                ax.set_title(f"weight mask, scores {init}, W_sparse(m->n) in {attribution}", fontsize="small")
        budget_ax = axes[0, -1]
        for epochs, colour in zip(sorted(budgets["epochs"].unique()), ("#fdae61", "#d7191c", "#7b3294", "#2c7bb6")):
            line = budgets[budgets["epochs"] == epochs]
            budget_ax.plot(line["p"], line["specialization_mean"], color=colour, marker="o", markersize=2, label=f"{epochs:g} epoch{'' if epochs == 1 else 's'}")
            budget_ax.fill_between(
                line["p"], line["specialization_mean"] - line["specialization_std"],
                line["specialization_mean"] + line["specialization_std"], color=colour, alpha=0.15, lw=0,
            )
        budget_ax.set_title("bottleneck metric, retraining budget", fontsize="small")
        budget_ax.legend(frameon=False, fontsize="small")
        if len(attributions) > 1:  # below the budgets: the masks' accuracy at each q (first score init)
            accuracy_ax = axes[1, -1]
            for q, colour in zip(qs, colours):
                line = masks[(masks["score_init"] == inits[0]) & (masks["attribution"] == attributions[0]) & (masks["q"] == q)]
                accuracy_ax.plot(line["p"], line["accuracy_on_own_digit_mean"], color=colour, marker="o", markersize=2)
            accuracy_ax.set_title(f"masked accuracy on digit n, scores {inits[0]}", fontsize="small")
            accuracy_ax.set_ylabel("test accuracy")
        for row in range(2, len(attributions)):
            axes[row, -1].axis("off")
        for ax in axes.flatten():
            if ax.axison:
                ax.set_xscale("log")
                ax.axhline(0, color="grey", lw=0.5)
                ax.set_xlabel(plotting.P_LABEL_SHORT)
                ax.set_ylim(-0.05 if ax is not axes[-1, -1] else 0.0, 1.05)
        for row in range(len(attributions)):
            axes[row, 0].set_ylabel("M_spec, mean over seeds")
        axes[0, -1].set_ylabel("M_spec, mean over seeds")
        axes[0, 0].legend(frameon=False, fontsize="small")
        n_seeds = int(curves["n_seeds"].max())
        seeds = f"{n_seeds} seed{'' if n_seeds == 1 else 's'}"
        plotting.notes_title(fig, [f"Sensitivity of the trainable metrics to their own choices (means over {seeds})"])
        plotting.save(fig, snakemake.output.png, snakemake.output.pdf, params["dpi"])
