"""Rule bottleneck_budgets: the bottleneck metric of one model after each retraining budget."""

from extreme_sparsity import dataset
from extreme_sparsity.metrics import bottleneck, write_metric_table
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.checkpoint import load_model

with jobs.job(snakemake.log[0], snakemake.threads) as log:
    w, params = snakemake.wildcards, snakemake.params
    model, _ = load_model(snakemake.input.model)
    train, test = dataset.load_splits(snakemake.input.dataset, params.data["mean"], params.data["std"])
    settings = bottleneck.BottleneckSettings(**params.settings)
    rows = bottleneck.budget_rows(model, train, test, settings, params.budgets, int(w.seed))
    log(f"bottleneck metric at p={w.p}, seed={w.seed} for budgets {params.budgets}: {len(rows)} rows")
    write_metric_table(snakemake.output[0], rows, architecture="bottleneck", p=float(w.p), seed=int(w.seed))
