"""Rule plot_modularity: Q of the trained adjacency matrices (equation 9) against equation (5)."""

import numpy as np
import pandas as pd

from extreme_sparsity import plotting
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.sparsity import modularity_analytic

with jobs.job(snakemake.log[0]):
    table = pd.read_csv(snakemake.input.table)
    params = snakemake.params.style
    with plotting.figure(params) as (fig, axes):
        ax = axes[0, 0]
        grid = np.logspace(np.log10(table["p"].min()), 0, 200)
        ax.plot(grid, [modularity_analytic(p) for p in grid], color="black", lw=1, label="equation (5)")
        ax.scatter(table["p"], table["Q_measured"], s=12, alpha=0.6, color="#ff7f0e", label="trained networks, equation (9)")
        ax.set_xscale("log")
        ax.set_xlabel(plotting.P_LABEL)
        ax.set_ylabel("modularity Q")
        ax.set_title(f"largest |difference| = {table['difference'].abs().max():.1e}")
        ax.legend(frameon=False)
        plotting.save(fig, snakemake.output.png, snakemake.output.pdf, params["dpi"])
