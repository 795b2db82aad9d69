"""Rule correlation_metric: Pearson correlation of hidden states over pairs sharing a digit, and CKA."""

from extreme_sparsity import dataset
from extreme_sparsity.metrics import correlation, metric_rows, write_metric_table
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.checkpoint import load_model

with jobs.job(snakemake.log[0], snakemake.threads) as log:
    w, params = snakemake.wildcards, snakemake.params
    model, _ = load_model(snakemake.input.model)
    test = dataset.load(snakemake.input.dataset, "test", params.data["mean"], params.data["std"])
    values, cka_distance = correlation.correlation_metric(
        model, test, correlation.CorrelationSettings(**params.settings), int(w.seed)
    )
    log(f"correlation at p={w.p}, seed={w.seed}: M[n, k] =\n{values}\nCKA distance[n, k] =\n{cka_distance}")
    rows = metric_rows("correlation", values)
    rows += metric_rows("cka", cka_distance, quantity="distance", similarity=1 - cka_distance)
    write_metric_table(snakemake.output[0], rows, architecture="plain", p=float(w.p), seed=int(w.seed))
