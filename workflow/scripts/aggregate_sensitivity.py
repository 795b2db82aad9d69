"""Rule aggregate_sensitivity: every model's specialization under every setting, and the curves."""

import pandas as pd

from extreme_sparsity import sensitivity
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.atomic import atomic_path

with jobs.job(snakemake.log[0]) as log:
    inputs = snakemake.input
    training = pd.read_csv(inputs.training)
    masks = sensitivity.specialization_table(
        pd.concat(map(pd.read_csv, inputs.sweeps), ignore_index=True), sensitivity.MASK_KEYS, training
    )
    budgets = sensitivity.specialization_table(
        pd.concat(map(pd.read_csv, inputs.budgets), ignore_index=True), ["epochs"], training
    )
    exclude = snakemake.params.exclude_poor_models
    curves = pd.concat(
        [
            sensitivity.curves(masks, sensitivity.MASK_KEYS, exclude).assign(metric="weight_mask"),
            sensitivity.curves(budgets, ["epochs"], exclude).assign(metric="bottleneck"),
        ],
        ignore_index=True,
    )
    log(curves.to_string())
    for frame, path in ((masks, snakemake.output.weight_mask), (budgets, snakemake.output.bottleneck), (curves, snakemake.output.curves)):
        with atomic_path(path) as temporary:
            frame.to_csv(temporary, index=False)
