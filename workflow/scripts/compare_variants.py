"""Rule compare_variants: the variants' metrics, training and claims tables stacked, and a mean ± sd
summary over seeds per variant."""

import pandas as pd

from extreme_sparsity import comparison
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.atomic import atomic_path

with jobs.job(snakemake.log[0]) as log:
    inputs, variants = snakemake.input, snakemake.params.variants
    tables = {
        name: comparison.stacked([pd.read_csv(path) for path in inputs[name]], variants)
        for name in ("metrics", "training", "claims")
    }
    exclude = dict(zip(variants, snakemake.params.exclude_poor_models))
    tables["summary"] = comparison.comparison_summary(tables["metrics"], exclude)
    both = tables["summary"][tables["summary"]["sub_network"] == "both"]
    log(both[["variant", "metric", "p", "specialization_mean", "specialization_std"]].to_string())
    for name, frame in tables.items():
        with atomic_path(snakemake.output[name]) as temporary:
            frame.to_csv(temporary, index=False)
