"""Rule weight_mask_metric: masks trained on each digit, on the trained and on the untrained network."""

from extreme_sparsity import dataset, jobs
from extreme_sparsity.checkpoint import load_model
from extreme_sparsity.model import build_model
from extreme_sparsity.metrics import accuracy_rows, metric_rows, weight_mask, write_metric_table

with jobs.job(snakemake.log[0], snakemake.threads) as log:
    w, params = snakemake.wildcards, snakemake.params
    model, _ = load_model(snakemake.input.model)
    train, test = dataset.load_splits(snakemake.input.dataset, params.data["mean"], params.data["std"])
    mask_settings = weight_mask.WeightMaskSettings(
        **{key: value for key, value in params.settings.items() if key != "supermask_control"}
    )
    networks = {"weight_mask": model}
    if params.settings["supermask_control"]:
        # the supermask control: the same network before training (its initial weights and connections)
        networks["weight_mask_control"] = build_model(model.config, int(w.seed))
    rows = []
    for name, network in networks.items():
        values, accuracy = weight_mask.weight_mask_metric(network, train, test, mask_settings, int(w.seed))
        log(f"{name} at p={w.p}, seed={w.seed}: M[n, k] =\n{values}\nmasked accuracy on digit 0, 1: {accuracy}")
        rows += metric_rows(name, values) + accuracy_rows(name, accuracy)
    write_metric_table(snakemake.output[0], rows, architecture="plain", p=float(w.p), seed=int(w.seed))
