"""Rule plot_variant_comparison: M_spec(n) of each metric against p, one line per variant, and the
global models' test accuracy and training length against p, one line per variant."""

import pandas as pd

from extreme_sparsity import plotting
from extreme_sparsity.plumbing import jobs

METRICS = ["bottleneck", "bottleneck_loss", "weight_mask", "correlation", "cka"]

with jobs.job(snakemake.log[0]):
    metrics, training = pd.read_csv(snakemake.input.metrics), pd.read_csv(snakemake.input.training)
    variants, params = snakemake.params.variants, snakemake.params
    colours = plotting.variant_colours(variants)
    shown = [metric for metric in METRICS if metric in set(metrics["metric"])]
    style = params.specialization_style
    with plotting.figure(style, rows=len(shown), columns=2, sharex=True, sharey="row") as (fig, axes):
        for row, metric in enumerate(shown):
            for n in (0, 1):
                ax = axes[row, n]
                rows = metrics[(metrics["metric"] == metric) & (metrics["sub_network"] == n)]
                for variant in variants:
                    plotting.mean_band(
                        ax, rows[rows["variant"] == variant], "p", "specialization", colours[variant], variant
                    )
                ax.axhline(0, color="grey", lw=0.5)
                ax.set_xscale("log")
                ax.set_ylim(-1.05, 1.05)
                ax.set_title(f"{plotting.METRIC_TITLES[metric]}, sub-network {n}")
                ax.set_ylabel("specialization M_spec(n)" if n == 0 else "")
        for ax in axes[-1]:
            ax.set_xlabel(plotting.P_LABEL_SHORT)
        axes[0, 0].legend(frameon=False, fontsize="small")
        plotting.notes_title(fig, [plotting.poor_model_note(training, False)])
        plotting.save(fig, snakemake.output.specialization, snakemake.output.specialization_pdf, style["dpi"])

    style = params.accuracy_style
    architectures = [name for name in ("plain", "bottleneck") if name in set(training["architecture"])]
    with plotting.figure(style, rows=2, columns=len(architectures), sharex=True) as (fig, axes):
        for column, architecture in enumerate(architectures):
            rows = training[training["architecture"] == architecture]
            accuracy, epochs = axes[0, column], axes[1, column]
            for variant in variants:
                of_variant = rows[rows["variant"] == variant]
                plotting.mean_band(accuracy, of_variant, "p", "test_accuracy", colours[variant], variant)
                plotting.mean_band(epochs, of_variant, "p", "epochs_trained", colours[variant], variant)
            accuracy.axhline(params.min_accuracy, color="grey", lw=0.8, linestyle="--")
            accuracy.axhline(0.5, color="grey", lw=0.5, linestyle=":")
            accuracy.set_ylim(0, 1)
            accuracy.set_title(f"{architecture} architecture")
            accuracy.set_ylabel("test accuracy (global task)" if column == 0 else "")
            epochs.set_ylim(bottom=0)
            epochs.set_ylabel("epochs trained" if column == 0 else "")
            epochs.set_xscale("log")
            epochs.set_xlabel(plotting.P_LABEL_SHORT)
        axes[0, 0].legend(frameon=False, fontsize="small")
        plotting.save(fig, snakemake.output.accuracy, snakemake.output.accuracy_pdf, style["dpi"])
