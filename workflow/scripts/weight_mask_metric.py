"""Rule weight_mask_metric: masks trained on each digit, on the trained and on the untrained network,
once per trial, at the calibrated q (or the configured one); all of them as one batched problem."""

from extreme_sparsity import calibration, dataset, jobs
from extreme_sparsity.checkpoint import load_model
from extreme_sparsity.metrics import accuracy_rows, metric_rows, weight_mask, write_metric_table
from extreme_sparsity.model import build_model
from extreme_sparsity.seeding import trial_seed

with jobs.job(snakemake.log[0], snakemake.threads) as log:
    w, params = snakemake.wildcards, snakemake.params
    model, _ = load_model(snakemake.input.model)
    train, test = dataset.load_splits(snakemake.input.dataset, params.data["mean"], params.data["std"])
    q = calibration.read_chosen_q(snakemake.input.q) if params.settings["q"] == "auto" else params.settings["q"]
    mask_settings = weight_mask.WeightMaskSettings.from_config(params.settings, q)
    # The supermask control: the same network before training (its initial weights and
    # connections); one trial, a reference for the masks' accuracy rather than a measurement.
    requests = [
        ("weight_mask", trial, weight_mask.MaskRequest(model, mask_settings, trial_seed(int(w.seed), trial)))
        for trial in range(params.settings["trials"])
    ]
    if params.settings["supermask_control"]:
        control = build_model(model.config, int(w.seed))
        requests.append(("weight_mask_control", 0, weight_mask.MaskRequest(control, mask_settings, trial_seed(int(w.seed), 0))))
    results = weight_mask.train_masks_together([request for _, _, request in requests], train, test)
    rows = []
    for (name, trial, _), result in zip(requests, results):
        values, accuracy = result.shares[mask_settings.sparse_owner], result.accuracy
        log(f"{name} at p={w.p}, seed={w.seed}, q={q}, trial {trial}: M[n, k] =\n{values}\nmasked accuracy: {accuracy}")
        rows += metric_rows(name, values, trial=trial) + accuracy_rows(name, accuracy, trial=trial)
    write_metric_table(snakemake.output[0], rows, architecture="plain", p=float(w.p), seed=int(w.seed), q=q)
