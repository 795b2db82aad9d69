"""Rule time_course_metric: one metric of one model on the states of every step t = 1..T."""

from extreme_sparsity import dataset
from extreme_sparsity.metrics import bottleneck, correlation, metric_rows, write_metric_table
from extreme_sparsity.plumbing import jobs
from extreme_sparsity.plumbing.checkpoint import load_model


def correlation_rows(model, params, seed):
    test = dataset.load(snakemake.input.dataset, "test", params.data["mean"], params.data["std"])
    steps = correlation.correlation_time_course(model, test, correlation.CorrelationSettings(**params.settings), seed)
    return [
        {**row, "t": t}
        for t, (values, cka_distance) in enumerate(steps, start=1)
        for row in metric_rows("correlation", values)
        + metric_rows("cka", cka_distance, quantity="distance", similarity=1 - cka_distance)
    ]


def bottleneck_rows(model, params, seed):
    train, test = dataset.load_splits(snakemake.input.dataset, params.data["mean"], params.data["std"])
    settings = bottleneck.BottleneckSettings(**params.settings)
    steps = bottleneck.bottleneck_time_course_readouts(model, train, test, settings, seed)
    return [  # bottleneck (accuracy) and bottleneck_loss (test loss) of the same readouts
        {**row, "t": t}
        for t, trials in enumerate(steps, start=1)
        for trial, readouts in enumerate(trials)
        for row in bottleneck.readout_rows(readouts, trial=trial)
    ]


ROWS = {"correlation": correlation_rows, "bottleneck": bottleneck_rows}

with jobs.job(snakemake.log[0], snakemake.threads) as log:
    w = snakemake.wildcards
    model, saved = load_model(snakemake.input.model)
    architecture = "bottleneck" if model.config.bottleneck else "plain"
    rows = ROWS[w.metric](model, snakemake.params, int(w.seed))
    for row in rows:
        if row["quantity"] == "specialization":
            log(f"{row['metric']} t={row['t']} trial {row['trial']}: M_spec({row['sub_network']}) = {row['value']:.3f}")
    write_metric_table(snakemake.output[0], rows, architecture=architecture, p=float(w.p), seed=int(w.seed))
