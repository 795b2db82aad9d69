"""The copy rules of a variant that reuses another variant's results (variants.smk): each source
file to the output at the same place, atomically; with ``link``, as a relative symbolic link to
it instead (not a hard link: snakemake touches a job's outputs, which would touch the source)."""

import os
import shutil

from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.atomic import atomic_path


def place(source: str, temporary, link: bool) -> str:
    """Put ``source``'s content at ``temporary``; say how."""
    if link:
        os.unlink(temporary)  # atomic_path made an empty file there
        os.symlink(os.path.relpath(source, os.path.dirname(temporary)), temporary)
        return "linked"
    shutil.copyfile(source, temporary)
    return "copied"


with jobs.job(snakemake.log[0]) as log:
    for source, output in zip(snakemake.input.sources, snakemake.output, strict=True):
        with atomic_path(output) as temporary:
            how = place(source, temporary, snakemake.params.link)
        log(f"{how} {source} -> {output}")
