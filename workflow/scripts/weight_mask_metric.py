"""Rule weight_mask_metric: masks trained on each digit, on the trained and on the untrained network,
once per trial, at the calibrated q (or the configured one); all of them as one batched problem."""

from extreme_sparsity import calibration, dataset
from extreme_sparsity.metrics import weight_mask, write_metric_table
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.checkpoint import load_model

with jobs.job(snakemake.log[0], snakemake.threads) as log:
    w, params = snakemake.wildcards, snakemake.params
    model, _ = load_model(snakemake.input.model)
    train, test = dataset.load_splits(snakemake.input.dataset, params.data["mean"], params.data["std"])
    q = calibration.read_chosen_q(snakemake.input.q) if params.settings["q"] == "auto" else params.settings["q"]
    log(f"weight masks at p={w.p}, seed={w.seed}")
    rows = weight_mask.weight_mask_rows(model, train, test, params.settings, q, int(w.seed), log)
    write_metric_table(snakemake.output[0], rows, architecture="plain", p=float(w.p), seed=int(w.seed), q=q)
