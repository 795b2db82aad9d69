"""Rule plot_calibration: M(n, n) and the masks' accuracy against q at the sparsest p, the
criterion of section 3.2 and the chosen q."""

import pandas as pd

from extreme_sparsity import plotting
from extreme_sparsity.plumbing import jobs

with jobs.job(snakemake.log[0]):
    table = pd.read_csv(snakemake.input.table)
    params = snakemake.params.style
    chosen = table.loc[table["chosen"].astype(bool)].iloc[0]
    with plotting.figure(params, rows=1, columns=2) as (fig, axes):
        own, accuracy = axes[0]
        for n in (0, 1):
            own.plot(table["q"], table[f"M_{n}{n}"], marker="o", markersize=3, color=plotting.SUB_NETWORK_COLOURS[n], label=f"M({n}, {n})")
            accuracy.plot(
                table["q"], table[f"masked_accuracy_digit_{n}"], marker="o", markersize=3,
                color=plotting.SUB_NETWORK_COLOURS[n], label=f"digit {n}",
            )
        own.axhline(chosen["min_own_share"], color="grey", lw=0.8, linestyle=":", label=f"criterion {chosen['min_own_share']:g}")
        met = "criterion met" if chosen["meets_criterion"] else "criterion not met: the closest q"
        for ax in (own, accuracy):
            ax.axvline(chosen["q"], color="black", lw=0.8, label=f"chosen q = {chosen['q']:g} ({met})")
            ax.set_xscale("log")
            ax.set_xticks(table["q"], [f"{q:g}" for q in table["q"]], rotation=45)
            ax.minorticks_off()
            ax.set_xlabel("q, share of maskable weights kept (log scale)")
        own.set_ylabel("M(n, n), share of the mask in sub-network n")
        own.set_title(f"Sparsest p, mean of {int(chosen['n_seeds'])} seeds")
        accuracy.set_ylabel("masked network's test accuracy")
        accuracy.set_title("Accuracy of the masks on their digit")
        own.legend(frameon=False, fontsize="small")
        accuracy.legend(frameon=False, fontsize="small")
        plotting.save(fig, snakemake.output.png, snakemake.output.pdf, params["dpi"])
