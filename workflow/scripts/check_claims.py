"""Rule check_claims: the paper's claims (section 4, A.4) checked on this run's tables."""

import pandas as pd

from extreme_sparsity import claims
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.atomic import atomic_path

with jobs.job(snakemake.log[0]) as log:
    inputs, params = snakemake.input, snakemake.params
    table = claims.check_claims(
        pd.read_csv(inputs.metrics), pd.read_csv(inputs.training), pd.read_csv(inputs.modularity),
        params.settings, exclude_poor_models=params.exclude_poor_models,
    )
    log(table[["claim", "metric", "statistic", "value", "ci_low", "ci_high", "result"]].to_string())
    with atomic_path(snakemake.output[0]) as temporary:
        table.to_csv(temporary, index=False)
