"""Rule aggregate_metrics: all metric jobs into tidy tables (every trial, and their mean per model,
with the best-k ``selected`` flag), a mean ± sd summary over seeds, and the trial noise against the
seed noise."""

import pandas as pd

from extreme_sparsity import aggregate
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.atomic import atomic_path

with jobs.job(snakemake.log[0]) as log:
    raw = pd.concat([pd.read_csv(path) for path in snakemake.input.tables], ignore_index=True)
    training, params = pd.read_csv(snakemake.input.training), snakemake.params
    trials = aggregate.metric_trials_table(raw, training)
    trials["selected"] = aggregate.best_k_selection(trials, training, params.best_k, params.best_k_metrics)
    table = aggregate.metrics_table(trials)
    summary = aggregate.summary_table(table, params.exclude_poor_models)
    noise = aggregate.trial_noise(trials)
    log(summary[summary["sub_network"] == "both"][["metric", "p", "specialization_mean", "specialization_std"]].to_string())
    log(noise.to_string())
    outputs = snakemake.output
    for frame, path in ((trials, outputs.trials), (table, outputs.table), (summary, outputs.summary), (noise, outputs.trial_noise)):
        with atomic_path(path) as temporary:
            frame.to_csv(temporary, index=False)
