"""Rule plot_accuracy (figure 4): global-task test accuracy and the decision share against p."""

import pandas as pd

from extreme_sparsity import jobs, plotting

COLOURS = {"plain": "#2ca02c", "bottleneck": "#9467bd"}

with jobs.job(snakemake.log[0]):
    kept = pd.read_csv(snakemake.input.kept)
    params = snakemake.params.style
    with plotting.figure(params, rows=1, columns=2) as (fig, axes):
        accuracy, share = axes[0]
        for architecture, rows in kept.groupby("architecture"):
            plotting.mean_band(accuracy, rows, "p", "test_accuracy", COLOURS[architecture], f"{architecture} architecture")
            plotting.mean_band(share, rows, "p", "test_share_subnetwork_0", COLOURS[architecture], f"{architecture} architecture")
        accuracy.axhline(0.5, color="grey", lw=0.5, linestyle=":")
        accuracy.set_ylim(0, 1)
        accuracy.set_ylabel("test accuracy on the parity task")
        accuracy.set_title("Global model performance")
        share.axhline(0.5, color="grey", lw=0.5)
        share.set_ylim(-0.02, 1.02)
        share.set_ylabel("share of test decisions taken by sub-network 0")
        share.set_title("Who decides (max decision)")
        for ax in (accuracy, share):
            ax.set_xscale("log")
            ax.set_xlabel(plotting.P_LABEL)
        accuracy.legend(frameon=False)
        plotting.save(fig, snakemake.output.png, snakemake.output.pdf, params["dpi"])
