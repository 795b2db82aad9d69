"""Rule aggregate_time_course: every model's M_spec(n) at every step t, and the mean ± sd over seeds."""

import pandas as pd

from extreme_sparsity import aggregate
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.atomic import atomic_path

with jobs.job(snakemake.log[0]) as log:
    raw = pd.concat([pd.read_csv(path) for path in snakemake.input.tables], ignore_index=True)
    training, params = pd.read_csv(snakemake.input.training), snakemake.params
    table = aggregate.time_course_table(raw, training)
    table["selected"] = aggregate.best_k_selection(table, training, params.best_k, params.best_k_metrics)
    summary = aggregate.time_course_summary(table, snakemake.params.exclude_poor_models)
    log(summary[["metric", "p", "t", "sub_network", "specialization_mean", "specialization_std"]].to_string())
    for frame, path in ((table, snakemake.output.table), (summary, snakemake.output.summary)):
        with atomic_path(path) as temporary:
            frame.to_csv(temporary, index=False)
