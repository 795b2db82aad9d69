"""Rule structural_modularity: Q of every trained model's adjacency (equation 9) vs equation (5)."""

import numpy as np
import pandas as pd

from extreme_sparsity.aggregate import modularity_row
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.atomic import atomic_path
from extreme_sparsity.plumbing.checkpoint import load_model

with jobs.job(snakemake.log[0], snakemake.threads) as log:
    rows = []
    for path in snakemake.input.models:
        model, saved = load_model(path)
        groups = np.repeat([0, 1], model.config.n_hidden)
        seed = saved["training_config"]["seed"]
        architecture = "bottleneck" if model.config.bottleneck else "plain"
        rows.append(modularity_row(architecture, model.config.sparsity, seed, model.adjacency().numpy(), groups))
    table = pd.DataFrame(rows)
    table["difference"] = table["Q_measured"] - table["Q_analytic"]
    log(f"largest |Q_measured - Q_analytic| = {table['difference'].abs().max():.2e}")
    with atomic_path(snakemake.output[0]) as temporary:
        table.to_csv(temporary, index=False)
