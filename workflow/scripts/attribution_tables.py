"""Rule attribution_tables: per cell and metric S(1/N^2), S(1) and the rise; each factor's paired
effect with a bootstrap interval over seeds."""

import pandas as pd

from extreme_sparsity import attribution
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.atomic import atomic_path

with jobs.job(snakemake.log[0]) as log:
    params = snakemake.params
    cells = {
        cell: (pd.read_csv(metrics), pd.read_csv(training), exclude)
        for cell, metrics, training, exclude in zip(
            params.cells, snakemake.input.metrics, snakemake.input.training, params.exclude_poor_models
        )
    }
    claims = params.claims
    tables = {
        "table": attribution.attribution_table(cells),
        "effects": attribution.paired_effects(
            cells, params.factors, claims["bootstrap_samples"], claims["confidence"], claims["seed"]
        ),
    }
    log(tables["table"].to_string())
    log(tables["effects"].to_string())
    for name, frame in tables.items():
        with atomic_path(snakemake.output[name]) as temporary:
            frame.to_csv(temporary, index=False)
