"""Rule bottleneck_metric: M(n, k) = test accuracy of sub-network n's retrained readout on digit k,
once per trial."""

from extreme_sparsity import dataset, jobs
from extreme_sparsity.checkpoint import load_model
from extreme_sparsity.metrics import bottleneck, metric_rows, write_metric_table

with jobs.job(snakemake.log[0], snakemake.threads) as log:
    w, params = snakemake.wildcards, snakemake.params
    model, _ = load_model(snakemake.input.model)
    train, test = dataset.load_splits(snakemake.input.dataset, params.data["mean"], params.data["std"])
    trials = bottleneck.bottleneck_metric(model, train, test, bottleneck.BottleneckSettings(**params.settings), int(w.seed))
    rows = []
    for trial, values in enumerate(trials):
        log(f"bottleneck metric M[n, k] at p={w.p}, seed={w.seed}, trial {trial}:\n{values}")
        rows += metric_rows("bottleneck", values, trial=trial)
    write_metric_table(snakemake.output[0], rows, architecture="bottleneck", p=float(w.p), seed=int(w.seed))
