"""Rule mask_sweep: the weight-mask metric at every q of the grid on one model, one score init."""

from extreme_sparsity import dataset
from extreme_sparsity.metrics import weight_mask, write_metric_table
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.checkpoint import load_model

with jobs.job(snakemake.log[0], snakemake.threads) as log:
    w, params = snakemake.wildcards, snakemake.params
    model, _ = load_model(snakemake.input.model)
    train, test = dataset.load_splits(snakemake.input.dataset, params.data["mean"], params.data["std"])
    grid = params.settings["q_grid"]
    mask_settings = weight_mask.WeightMaskSettings.from_config({**params.settings, "score_init": w.score_init}, grid[0])
    sweep = weight_mask.mask_sweep(model, train, test, mask_settings, grid, int(w.seed))
    for q, result in sweep:
        log(f"q={q}: M[n, k] ({mask_settings.sparse_owner}) =\n{result.shares[mask_settings.sparse_owner]}\naccuracy {result.accuracy}")
    write_metric_table(
        snakemake.output[0], weight_mask.sweep_rows(sweep),
        architecture="plain", p=float(w.p), seed=int(w.seed), score_init=w.score_init,
    )
