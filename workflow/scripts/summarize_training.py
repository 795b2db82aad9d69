"""Rule summarize_training: every model's per-epoch history and its kept epoch, in two tables."""

import pandas as pd

from extreme_sparsity import aggregate, jobs
from extreme_sparsity.atomic import atomic_path

with jobs.job(snakemake.log[0]) as log:
    histories = pd.concat([pd.read_csv(path) for path in snakemake.input.histories], ignore_index=True)
    kept = aggregate.training_summary(histories)
    log(kept.groupby(["architecture", "p"])["test_accuracy"].agg(["mean", "std", "min"]).to_string())
    for frame, path in ((histories, snakemake.output.history), (kept, snakemake.output.kept)):
        with atomic_path(path) as temporary:
            frame.to_csv(temporary, index=False)
