"""Rule plot_raw_metrics (figure 3): raw M(n, own digit) and M(n, other digit) of every metric, and
the weight mask on the trained network against the supermask control (accuracy and specialization)."""

import pandas as pd

from extreme_sparsity import plotting
from extreme_sparsity.plumbing import jobs

PANELS = {
    "bottleneck": "test accuracy of the retrained readout",
    "weight_mask": "share of kept weights in sub-network n",
    "correlation": "mean Pearson correlation",
    "cka": "linear CKA distance (0 = identical)",
}
CONTROL = (("weight_mask", "trained network", "-"), ("weight_mask_control", "untrained (supermask control)", ":"))

with jobs.job(snakemake.log[0]):
    table = pd.read_csv(snakemake.input.table)
    exclude = snakemake.params.exclude_poor_models
    params = snakemake.params.style
    with plotting.figure(params, rows=2, columns=3) as (fig, axes):
        panels = axes.flatten()
        for ax, (metric, ylabel) in zip(panels, PANELS.items()):
            rows = table[table["metric"] == metric]
            ax.set_title(plotting.METRIC_TITLES[metric])
            ax.set_ylabel(ylabel)
            if rows.empty:  # metric not in config["metrics"]
                ax.text(0.5, 0.5, "not measured in this run", ha="center", va="center", transform=ax.transAxes)
                continue
            for n in (0, 1):
                colour = plotting.SUB_NETWORK_COLOURS[n]
                mine = rows[rows["sub_network"] == n]
                plotting.mean_band(ax, mine, "p", "M_own", colour, f"sub-network {n}, own digit", exclude_poor_models=exclude)
                plotting.mean_band(
                    ax, mine, "p", "M_other", colour, f"sub-network {n}, other digit", exclude_poor_models=exclude,
                    linestyle="--",
                )
        accuracy, specialization = panels[4], panels[5]
        for metric, label, style in CONTROL:
            rows = table[table["metric"] == metric]
            if rows.empty:
                continue
            plotting.mean_band(accuracy, rows, "p", "accuracy_on_own_digit", "#444444", label, exclude_poor_models=exclude, linestyle=style)
            flags = {flag: (flag, "all") for flag in ("performs_well", "selected") if flag in rows}
            both = rows.groupby(["architecture", "p", "seed"], as_index=False).agg(
                specialization=("specialization", "mean"), **flags
            )
            plotting.mean_band(specialization, both, "p", "specialization", "#444444", label, exclude_poor_models=exclude, linestyle=style)
        accuracy.set_title("Masked network: accuracy, digit n")
        accuracy.set_ylabel("test accuracy")
        specialization.set_title("Masked network: M_spec (mean of n)")
        specialization.set_ylabel("weight-mask specialization")
        specialization.axhline(0, color="grey", lw=0.5)
        for ax in panels:
            ax.set_xscale("log")
            ax.set_xlabel(plotting.P_LABEL_SHORT)
        accuracy.legend(frameon=False, fontsize="small")
        panels[0].legend(frameon=False, fontsize="small")
        notes = [plotting.poor_model_note(table, exclude), plotting.selection_note(table)]
        plotting.notes_title(fig, notes)
        plotting.save(fig, snakemake.output.png, snakemake.output.pdf, params["dpi"])
