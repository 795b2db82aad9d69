"""Rule calibrate_mask_q: the largest q whose M(n, n) reaches min_own_share at the sparsest p."""

import pandas as pd

from extreme_sparsity import calibration
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.atomic import atomic_path

with jobs.job(snakemake.log[0]) as log:
    params = snakemake.params
    sweep = pd.concat([pd.read_csv(path) for path in snakemake.input.sweeps], ignore_index=True)
    table = calibration.calibration_table(sweep, params.sparse_owner, params.min_own_share)
    log(table.to_string())
    chosen = table[table["chosen"]].iloc[0]
    if not chosen["meets_criterion"]:
        log(
            f"WARNING: no q of the grid gives M(n, n) >= {params.min_own_share} for both sub-networks at "
            f"p={sweep['p'].min()}; using the q that comes closest, q={chosen['q']}"
        )
    log(f"chosen q = {chosen['q']}: M(0, 0) = {chosen['M_00']:.3f}, M(1, 1) = {chosen['M_11']:.3f}")
    with atomic_path(snakemake.output[0]) as temporary:
        table.to_csv(temporary, index=False)
