"""Rule plot_accuracy (figure 4): test accuracy of the global models, the decision share of
sub-network 0 and how long each model trained, against p."""

import pandas as pd

from extreme_sparsity import plotting
from extreme_sparsity.plumbing import jobs

COLOURS = {"plain": "#2ca02c", "bottleneck": "#9467bd"}

with jobs.job(snakemake.log[0]):
    kept = pd.read_csv(snakemake.input.kept)
    params, exclude = snakemake.params.style, snakemake.params.exclude_poor_models
    with plotting.figure(params, rows=1, columns=3) as (fig, axes):
        accuracy, share, epochs = axes[0]
        for architecture, rows in kept.groupby("architecture"):
            colour, label = COLOURS[architecture], f"{architecture} architecture"
            plotting.mean_band(accuracy, rows, "p", "test_accuracy", colour, label, exclude_poor_models=exclude)
            plotting.mean_band(share, rows, "p", "test_share_subnetwork_0", colour, label, exclude_poor_models=exclude)
            plotting.mean_band(epochs, rows, "p", "epochs_trained", colour, label, exclude_poor_models=exclude)
        accuracy.axhline(0.5, color="grey", lw=0.5, linestyle=":")
        accuracy.axhline(snakemake.params.min_accuracy, color="grey", lw=0.8, linestyle="--", label="performs-well threshold")
        accuracy.set_ylim(0, 1)
        accuracy.set_ylabel("test accuracy on the parity task")
        accuracy.set_title("Global model performance")
        share.axhline(0.5, color="grey", lw=0.5)
        share.set_ylim(-0.02, 1.02)
        share.set_ylabel("share of test decisions by sub-network 0")
        share.set_title("Who decides (max decision)")
        epochs.set_ylim(bottom=0)
        epochs.set_ylabel("epochs trained")
        epochs.set_title("Training length (stopping rule)")
        for ax in (accuracy, share, epochs):
            ax.set_xscale("log")
            ax.set_xlabel(plotting.P_LABEL_SHORT)
        accuracy.legend(frameon=False, fontsize="small")
        plotting.notes_title(fig, [plotting.poor_model_note(kept, exclude)])
        plotting.save(fig, snakemake.output.png, snakemake.output.pdf, params["dpi"])
