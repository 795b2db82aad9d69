"""Rule aggregate_metrics: all metric jobs into one tidy table and a mean ± sd summary over seeds."""

import pandas as pd

from extreme_sparsity import aggregate, jobs
from extreme_sparsity.atomic import atomic_path

with jobs.job(snakemake.log[0]) as log:
    raw = pd.concat([pd.read_csv(path) for path in snakemake.input.tables], ignore_index=True)
    table = aggregate.metrics_table(raw, pd.read_csv(snakemake.input.training))
    summary = aggregate.summary_table(table)
    log(summary[summary["sub_network"] == "both"][["metric", "p", "specialization_mean", "specialization_std"]].to_string())
    for frame, path in ((table, snakemake.output.table), (summary, snakemake.output.summary)):
        with atomic_path(path) as temporary:
            frame.to_csv(temporary, index=False)
