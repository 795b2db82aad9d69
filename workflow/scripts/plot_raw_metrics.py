"""Rule plot_raw_metrics (figure 3): raw M(n, own digit) and M(n, other digit) of every metric."""

import pandas as pd

from extreme_sparsity import jobs, plotting

PANELS = {
    "bottleneck": "test accuracy of the retrained readout",
    "weight_mask": "share of kept weights in sub-network n",
    "correlation": "mean Pearson correlation",
    "cka": "linear CKA distance (0 = identical)",
}

with jobs.job(snakemake.log[0]):
    table = pd.read_csv(snakemake.input.table)
    params = snakemake.params.style
    with plotting.figure(params, rows=2, columns=3) as (fig, axes):
        panels = axes.flatten()
        for ax, (metric, ylabel) in zip(panels, PANELS.items()):
            rows = table[table["metric"] == metric]
            if rows.empty:  # metric not in config["metrics"]
                ax.axis("off")
                continue
            for n in (0, 1):
                colour = plotting.SUB_NETWORK_COLOURS[n]
                mine = rows[rows["sub_network"] == n]
                plotting.mean_band(ax, mine, "p", "M_own", colour, f"sub-network {n}, own digit")
                plotting.mean_band(ax, mine, "p", "M_other", colour, f"sub-network {n}, other digit", linestyle="--")
            ax.set_xscale("log")
            ax.set_title(plotting.METRIC_TITLES[metric])
            ax.set_xlabel(plotting.P_LABEL)
            ax.set_ylabel(ylabel)
        control = panels[4]  # masks on the trained network vs the same network before training
        for metric, label, style in (("weight_mask", "trained network", "-"), ("weight_mask_control", "untrained (supermask control)", ":")):
            rows = table[table["metric"] == metric]
            plotting.mean_band(control, rows, "p", "accuracy_on_own_digit", "#444444", label, linestyle=style)
        control.set_xscale("log")
        control.set_title("Masked network accuracy on digit n")
        control.set_xlabel(plotting.P_LABEL)
        control.set_ylabel("test accuracy")
        control.legend(frameon=False)
        panels[0].legend(frameon=False, fontsize="small")
        panels[5].axis("off")
        plotting.save(fig, snakemake.output.png, snakemake.output.pdf, params["dpi"])
