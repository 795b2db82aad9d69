"""Rule bottleneck_metric: M(n, k) = test accuracy of sub-network n's retrained readout on digit k
(metric ``bottleneck``) and L(n, k) = its mean test cross-entropy (metric ``bottleneck_loss``), once
per trial, both from the same retrained readouts."""

from extreme_sparsity import dataset
from extreme_sparsity.metrics import bottleneck, write_metric_table
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.checkpoint import load_model

with jobs.job(snakemake.log[0], snakemake.threads) as log:
    w, params = snakemake.wildcards, snakemake.params
    model, _ = load_model(snakemake.input.model)
    train, test = dataset.load_splits(snakemake.input.dataset, params.data["mean"], params.data["std"])
    trials = bottleneck.bottleneck_readouts(model, train, test, bottleneck.BottleneckSettings(**params.settings), int(w.seed))
    rows = []
    for trial, readouts in enumerate(trials):
        log(f"bottleneck metric at p={w.p}, seed={w.seed}, trial {trial}: accuracy M[n, k]\n{readouts.accuracy}\n"
            f"test loss L[n, k]\n{readouts.loss}")
        rows += bottleneck.readout_rows(readouts, trial=trial)
    write_metric_table(snakemake.output[0], rows, architecture="bottleneck", p=float(w.p), seed=int(w.seed))
