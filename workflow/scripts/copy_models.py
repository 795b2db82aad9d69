"""Rule <variant>_train_model of a variant that reuses another variant's models
(variants.shared_models): copy the checkpoint and its history, each atomically."""

import shutil

from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.atomic import atomic_path

with jobs.job(snakemake.log[0]) as log:
    for name in ("model", "history"):
        with atomic_path(snakemake.output[name]) as temporary:
            shutil.copyfile(snakemake.input[name], temporary)
        log(f"{name}: {snakemake.input[name]} -> {snakemake.output[name]}")
