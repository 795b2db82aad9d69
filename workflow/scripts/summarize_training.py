"""Rule summarize_training: every model's per-epoch history and its kept epoch, in two tables."""

import pandas as pd

from extreme_sparsity import aggregate
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.atomic import atomic_path

with jobs.job(snakemake.log[0]) as log:
    histories = pd.concat([pd.read_csv(path) for path in snakemake.input.histories], ignore_index=True)
    kept = aggregate.training_summary(histories, snakemake.params.min_accuracy)
    log(kept.groupby(["architecture", "p"])[["validation_accuracy", "test_accuracy", "epochs_trained"]].agg(["mean", "min"]).to_string())
    log(f"{(~kept['performs_well']).sum()} of {len(kept)} models do not perform well")
    for frame, path in ((histories, snakemake.output.history), (kept, snakemake.output.kept)):
        with atomic_path(path) as temporary:
            frame.to_csv(temporary, index=False)
