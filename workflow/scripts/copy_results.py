"""The copy rules of a variant that reuses another variant's results (variants.smk): each source
file to the output at the same place, atomically."""

import shutil

from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.atomic import atomic_path

with jobs.job(snakemake.log[0]) as log:
    for source, output in zip(snakemake.input.sources, snakemake.output, strict=True):
        with atomic_path(output) as temporary:
            shutil.copyfile(source, temporary)
        log(f"copied {source} -> {output}")
